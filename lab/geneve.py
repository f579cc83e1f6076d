"""Geneve (RFC 8926) builder for tests and benchmarks; the appliance itself only parses."""

import struct
from collections.abc import Sequence

AWS_CLASS = 0x0108
Option = tuple[int, int, bytes]


def build(
    inner: bytes,
    protocol: int,
    options: Sequence[Option] = (),
    vni: int = 0,
    flags: int = 0,
    version: int = 0,
) -> bytes:
    """Encode a Geneve packet; options are (class, type, data) with data a multiple of 4 bytes."""
    body = b"".join(struct.pack("!HBB", c, t, len(d) // 4 & 0x1F) + d for c, t, d in options)
    b0 = (version & 3) << 6 | (len(body) // 4 & 0x3F)
    return struct.pack("!BBH", b0, flags, protocol) + (vni << 8).to_bytes(4, "big") + body + inner


def aws_options(endpoint: int, attachment: int, cookie: int) -> tuple[Option, ...]:
    """The three options GWLB always sends (endpoint id, attachment id, flow cookie)."""
    return (
        (AWS_CLASS, 1, endpoint.to_bytes(8, "big")),
        (AWS_CLASS, 2, attachment.to_bytes(8, "big")),
        (AWS_CLASS, 3, cookie.to_bytes(4, "big")),
    )

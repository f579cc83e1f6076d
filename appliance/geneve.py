"""Geneve (RFC 8926) parse and build for the GWLB contract; pure, parse never raises."""

import struct
from collections.abc import Sequence
from typing import NamedTuple

AWS_CLASS = 0x0108
OPT_ENDPOINT, OPT_ATTACHMENT, OPT_COOKIE = 1, 2, 3
PROTO_IPV4, PROTO_IPV6 = 0x0800, 0x86DD
_AWS_LEN = {OPT_ENDPOINT: 8, OPT_ATTACHMENT: 8, OPT_COOKIE: 4}

# Status values double as metric labels (malformed reasons).
OK = "ok"
TOO_SHORT = "geneve_too_short"
BAD_VERSION = "geneve_bad_version"
OPTION_OVERRUN = "geneve_option_overrun"
BAD_PROTOCOL = "geneve_bad_protocol"
BAD_AWS_OPTION = "geneve_bad_aws_option"
MISSING_AWS_OPTION = "geneve_missing_aws_option"
REASONS = (TOO_SHORT, BAD_VERSION, OPTION_OVERRUN, BAD_PROTOCOL, BAD_AWS_OPTION, MISSING_AWS_OPTION)

Option = tuple[int, int, bytes]


class Geneve(NamedTuple):
    status: str
    header_len: int = 0
    protocol: int = 0
    vni: int = 0
    endpoint: bytes = b""
    attachment: bytes = b""
    cookie: bytes = b""
    options: tuple[Option, ...] = ()


_u16 = struct.Struct("!H").unpack_from


def parse(buf: bytes) -> Geneve:
    """Validate a Geneve header at the start of buf; status says what is wrong, if anything."""
    n = len(buf)
    if n < 8:
        return Geneve(TOO_SHORT)
    b0 = buf[0]
    if b0 & 0xC0:
        return Geneve(BAD_VERSION)
    hlen = 8 + (b0 & 0x3F) * 4
    if hlen > n:
        return Geneve(OPTION_OVERRUN)
    proto = _u16(buf, 2)[0]
    if proto != PROTO_IPV4 and proto != PROTO_IPV6:
        return Geneve(BAD_PROTOCOL)
    aws = {}
    opts = []
    p = 8
    while p < hlen:
        if p + 4 > hlen:
            return Geneve(OPTION_OVERRUN)
        end = p + 4 + (buf[p + 3] & 0x1F) * 4
        if end > hlen:
            return Geneve(OPTION_OVERRUN)
        cls, typ, data = _u16(buf, p)[0], buf[p + 2], buf[p + 4 : end]
        if cls == AWS_CLASS and typ in _AWS_LEN:
            if len(data) != _AWS_LEN[typ]:
                return Geneve(BAD_AWS_OPTION)
            aws[typ] = data
        opts.append((cls, typ, data))
        p = end
    if len(aws) != 3:
        return Geneve(MISSING_AWS_OPTION)
    vni = int.from_bytes(buf[4:7], "big")
    return Geneve(
        OK, hlen, proto, vni, aws[OPT_ENDPOINT], aws[OPT_ATTACHMENT], aws[OPT_COOKIE], tuple(opts)
    )


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
    """The three options GWLB always sends, from integer values."""
    return (
        (AWS_CLASS, OPT_ENDPOINT, endpoint.to_bytes(8, "big")),
        (AWS_CLASS, OPT_ATTACHMENT, attachment.to_bytes(8, "big")),
        (AWS_CLASS, OPT_COOKIE, cookie.to_bytes(4, "big")),
    )

"""Inner IPv4/IPv6 packet to 5-tuple; pure, never raises."""

import socket
from typing import NamedTuple

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
_PORTS_NEED = {TCP: 20, UDP: 8, ICMP: 4, ICMPV6: 4, 132: 12}
_V6_EXT = (0, 43, 60)  # hop-by-hop, routing, destination options: (len+1)*8 bytes
PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6"}

OK = "ok"
TOO_SHORT = "inner_too_short"
BAD_VERSION = "inner_bad_version"
BAD_HEADER = "inner_bad_header"
TRUNCATED = "inner_truncated"
L4_SHORT = "inner_l4_too_short"
REASONS = (TOO_SHORT, BAD_VERSION, BAD_HEADER, TRUNCATED, L4_SHORT)


class Inner(NamedTuple):
    """For ICMP/ICMPv6 sport/dport carry type/code; 0/0 for non-first fragments."""

    status: str
    version: int = 0
    proto: int = 0
    src: bytes = b""
    dst: bytes = b""
    sport: int = 0
    dport: int = 0


def parse(buf: bytes, off: int, version: int) -> Inner:
    """Parse the IP packet at buf[off:], expected to be IPv4 (4) or IPv6 (6)."""
    n = len(buf) - off
    if n < 1:
        return Inner(TOO_SHORT)
    if buf[off] >> 4 != version:
        return Inner(BAD_VERSION)
    if version == 4:
        if n < 20:
            return Inner(TOO_SHORT)
        ihl = (buf[off] & 15) * 4
        total = buf[off + 2] << 8 | buf[off + 3]
        if ihl < 20 or ihl > total:
            return Inner(BAD_HEADER)
        if total > n:
            return Inner(TRUNCATED)
        proto = buf[off + 9]
        src, dst = buf[off + 12 : off + 16], buf[off + 16 : off + 20]
        first = (buf[off + 6] & 0x1F) | buf[off + 7] == 0
        p, end = off + ihl, off + total
    else:
        if n < 40:
            return Inner(TOO_SHORT)
        end = off + 40 + (buf[off + 4] << 8 | buf[off + 5])
        if end > len(buf):
            return Inner(TRUNCATED)
        proto = buf[off + 6]
        src, dst = buf[off + 8 : off + 24], buf[off + 24 : off + 40]
        p, first = off + 40, True
        for _ in range(8):  # bounded: a chain of extension headers cannot loop us forever
            if proto in _V6_EXT or proto == 44 or proto == 51:
                if p + 8 > end:
                    return Inner(BAD_HEADER)
                nxt = buf[p]
                if proto == 44:
                    first = (buf[p + 2] << 8 | buf[p + 3]) & 0xFFF8 == 0
                    size = 8
                elif proto == 51:
                    size = (buf[p + 1] + 2) * 4
                else:
                    size = (buf[p + 1] + 1) * 8
                proto, p = nxt, p + size
                if p > end:
                    return Inner(BAD_HEADER)
            else:
                break
        else:
            return Inner(BAD_HEADER)
    need = _PORTS_NEED.get(proto)
    if not first or need is None:
        return Inner(OK, version, proto, src, dst)
    if p + need > end:
        return Inner(L4_SHORT)
    if proto in (ICMP, ICMPV6):
        return Inner(OK, version, proto, src, dst, buf[p], buf[p + 1])
    return Inner(
        OK, version, proto, src, dst, buf[p] << 8 | buf[p + 1], buf[p + 2] << 8 | buf[p + 3]
    )


def ip_text(addr: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(addr) == 4 else socket.AF_INET6, addr)


def proto_text(proto: int) -> str:
    return PROTO_NAMES.get(proto, str(proto))

"""Parsing of GWLB's Geneve header (RFC 8926) and of the inner IPv4/IPv6 packet; pure, never raises.

Both parsers take bytes or a memoryview and return either a result or, for a packet that is
malformed, a reason string. The reasons double as metric labels.
"""

import struct
from collections import namedtuple

# Every way a datagram can be malformed, in the order /metrics lists them. "oversized" means
# more than EC2's 9001-byte MTU can carry after the outer IPv4 and UDP headers.
REASONS = (
    "oversized",
    "geneve_too_short",
    "geneve_bad_version",
    "geneve_control",  # O bit: a control message, never data to forward (RFC 8926 3.4)
    "geneve_option_overrun",
    "geneve_critical_option",  # an option we do not know with its critical bit set
    "geneve_bad_protocol",
    "geneve_bad_aws_option",  # an AWS option of the wrong length
    "geneve_missing_aws_option",
    "inner_too_short",
    "inner_bad_version",  # inner IP version differs from the Geneve protocol type
    "inner_bad_header",  # bad IHL or IPv6 extension header chain
    "inner_truncated",  # IP length beyond the data
    "inner_l4_too_short",  # transport header shorter than its ports (ICMP: type, code, id)
    "inner_bad_icmp_error",  # an ICMP error whose quote cannot be read, or too long a one
    "inner_bad_fragment",  # a TCP fragment at offset 1 (RFC 1858: it could rewrite the flags)
)
# Geneve protocol type -> inner IP version.
VERSIONS = {0x0800: 4, 0x86DD: 6}
# GWLB's options, class 0x0108, by type -> data length: 1 endpoint id, 2 attachment id,
# 3 flow cookie. All three must be present; other options are skipped unless critical.
AWS = {1: 8, 2: 8, 3: 4}
# What GWLB sends: no flags, its three options alone and in this order. The first two bytes of
# the header, then each option's class, type and length, at the offsets the loop would read.
GWLB = bytes((8, 0, 1, 8, 1, 2, 1, 8, 2, 2, 1, 8, 3, 1))
# Such a header in one call: those two bytes, the protocol type, then each option's header and
# data (the VNI and reserved bytes skipped, as the loop skips them).
HEADER = struct.Struct("!2sH4x4s8s4s8s4s4s")
# An inner IPv4 header's version and length, total length, flags and offset, protocol, then the
# addresses and the first 4 transport bytes (TCP and UDP ports), in one call.
INNER4 = struct.Struct("!BxH2x2sxB2x12s")
# Transport header bytes needed before the ports (ICMP/ICMPv6: type, code, checksum and the
# query identifier).
NEED = {6: 20, 17: 8, 1: 8, 58: 8, 132: 12}
NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}
ICMP = {4: 1, 6: 58}
# ICMP queries, request type -> reply type (echo, timestamp, information, address mask; ICMPv6
# echo). A request's ports are (identifier, request type) and its reply's the same pair turned
# round, so only the matching reply type from the queried host finds the request's flow.
REQUESTS = {1: {8: 0, 13: 14, 15: 16, 17: 18}, 58: {128: 129}}
REPLIES = {p: {r: q for q, r in t.items()} for p, t in REQUESTS.items()}
# ICMP errors (unreachable, source quench, redirect, time exceeded, parameter problem; ICMPv6
# unreachable, too big, time exceeded, parameter problem) quote the packet they are about.
ERRORS = {1: {3, 4, 5, 11, 12}, 58: {1, 2, 3, 4}}
REDIRECTS = {1: 5, 58: 137}  # never forwarded: they would steer an inside host's routes
# The longest ICMP error allowed: RFC 1812 4.3.2.3 (576 bytes), RFC 4443 2.4 (1280 bytes).
ERROR_MAX = {4: 576, 6: 1280}
IPV6_EXTENSIONS = (0, 43, 44, 51, 60)  # hop-by-hop, routing, fragment, AH, destination options
# Extension headers we cannot walk (mobility, HIP, shim6, experiments): never a transport.
IPV6_UNKNOWN = (135, 139, 140, 253, 254)
# How a packet may start a flow nobody knows: not at all (TCP other than SYN or ACK, an ICMP
# reply or redirect), as its first packet, or picked up mid-stream (TCP ACK, conntrack's loose).
NEVER, FIRST, PICKUP = 0, 1, 2


# The Geneve fields the appliance uses; `length` is where the inner packet starts.
Geneve = namedtuple("Geneve", "length version endpoint attachment cookie")


class Inner:
    """The inner packet as the flow table sees it. Ports are 0 for protocols without them and
    for later fragments; ICMP queries carry their identifier as both ports."""

    __slots__ = (
        "proto", "src", "sport", "dst", "dport", "start", "flags", "fragment", "later", "quoted"
    )  # fmt: skip

    def __init__(self, proto, src, sport, dst, dport, flags=None):
        self.proto, self.src, self.sport, self.dst, self.dport = proto, src, sport, dst, dport
        self.flags = flags or 0  # TCP flags: given for TCP, but not for a quoted packet
        # conntrack's first index: SYN alone opens, ACK without SYN/FIN/RST is picked up,
        # anything else (FIN, RST, SYN-ACK, none) starts nothing
        self.start = (  # NEVER, FIRST or PICKUP
            FIRST if flags is None or flags & 0x17 == 2 else PICKUP if flags & 0x17 == 16 else NEVER
        )
        self.fragment = None  # (IP id, protocol) of a fragmented packet
        self.later = False  # a fragment other than the first: it has no transport header
        self.quoted = None  # ICMP error: the Inner of the packet it quotes


def geneve(b):
    """A Geneve, or a reason."""
    n = len(b)
    if n > 39:
        head, t, o1, e, o2, a, o3, c = HEADER.unpack_from(b)
        v = VERSIONS.get(t)
        if v and head + o1 + o2 + o3 == GWLB:  # as the loop would find
            return Geneve(40, v, e, a, c)
    if n < 8:
        return "geneve_too_short"
    if b[0] >> 6:
        return "geneve_bad_version"
    if b[1] & 0x80:
        return "geneve_control"
    h = 8 + (b[0] & 63) * 4
    if h > n:
        return "geneve_option_overrun"
    aws, p = {}, 8
    # Option lengths count whole 4-byte words, so every option header fits before h.
    while p < h:
        e = p + 4 + (b[p + 3] & 31) * 4
        if e > h:
            return "geneve_option_overrun"
        t = b[p + 2]
        if b[p] == 1 and b[p + 1] == 8 and t in AWS:
            if e - p - 4 != AWS[t]:
                return "geneve_bad_aws_option"
            aws[t] = bytes(b[p + 4 : e])
        elif t & 0x80:
            return "geneve_critical_option"
        p = e
    v = VERSIONS.get(b[2] << 8 | b[3])
    if v is None:
        return "geneve_bad_protocol"
    if len(aws) < 3:
        return "geneve_missing_aws_option"
    return Geneve(h, v, aws[1], aws[2], aws[3])


def inner(b, o, v):
    """The Inner of the IPv`v` packet at b[o:], or a reason.

    IPv6 extension headers (hop-by-hop, routing, fragment, destination options, AH) are
    followed, at most 8 of them. An ICMP error must quote a readable packet.
    """
    i = _parse(b, o, v, False)
    if type(i) is str or i.proto != ICMP[v] or i.later:
        return i
    if i.sport in ERRORS[i.proto]:
        q = _parse(b, i.dport, v, True)
        if type(q) is str or q.proto == i.proto and (q.later or q.sport in ERRORS[q.proto]):
            return "inner_bad_icmp_error"
        if len(b) - o > ERROR_MAX[v]:
            return "inner_bad_icmp_error"
        if q.proto == i.proto:
            _query(b, q)
        i.quoted = q
    if i.sport == REDIRECTS[i.proto]:
        i.start = NEVER
    _query(b, i)
    return i


def _query(b, i):
    """ICMP ports: (identifier, request type) for a request, turned round for its reply; 0 and
    0 for anything else. A reply never starts a flow."""
    t, ident = i.sport, b[i.dport - 4] << 8 | b[i.dport - 3]
    if t in REQUESTS[i.proto]:
        i.sport, i.dport = ident, t
    elif t in REPLIES[i.proto]:
        i.sport, i.dport, i.start = REPLIES[i.proto][t], ident, NEVER
    else:
        i.sport = i.dport = 0


def _parse(b, o, v, quoted):
    """Inner of the packet at b[o:]. A quoted packet (inside an ICMP error) may be cut short
    after its ports. For ICMP, sport is the type and dport the offset of the quoted packet."""
    n = len(b) - o
    if n < 1:
        return "inner_too_short"
    if b[o] >> 4 != v:
        return "inner_bad_version"
    if n < (20 if v == 4 else 40):
        return "inner_too_short"
    fragment, first = None, True
    if v == 4:
        p, end = o + (b[o] & 15) * 4, o + (b[o + 2] << 8 | b[o + 3])
        if p < o + 20 or p > end and not quoted:
            return "inner_bad_header"
        if end > len(b):
            if not quoted:
                return "inner_truncated"
            end = len(b)
        proto = b[o + 9]
        if b[o + 6] & 0x3F | b[o + 7]:  # more fragments, or an offset
            fragment = (bytes(b[o + 4 : o + 6]), proto)
            offset = (b[o + 6] & 31) << 8 | b[o + 7]
            if offset == 1 and proto == 6:
                return "inner_bad_fragment"
            first = not offset
        src, dst = bytes(b[o + 12 : o + 16]), bytes(b[o + 16 : o + 20])
    else:
        end = o + 40 + (b[o + 4] << 8 | b[o + 5])
        if end > len(b):
            if not quoted:
                return "inner_truncated"
            end = len(b)
        proto, p = b[o + 6], o + 40
        src, dst = bytes(b[o + 8 : o + 24]), bytes(b[o + 24 : o + 40])
        for _ in range(8):
            if proto not in IPV6_EXTENSIONS:
                break
            if p + 8 > end:
                return "inner_bad_header"
            if proto == 44:  # fragment header: 8 bytes, the id in its last 4
                offset = (b[p + 2] << 8 | b[p + 3]) >> 3
                fragment, size = (bytes(b[p + 4 : p + 8]), b[p]), 8
                if offset:  # what follows is data, not headers: the first fragment has them
                    if offset == 1 and b[p] == 6:
                        return "inner_bad_fragment"
                    first, proto, p = False, b[p], p + 8
                    break
            else:  # AH counts 4-byte words less 2, the others 8-byte words less 1
                size = (b[p + 1] + 2) * 4 if proto == 51 else (b[p + 1] + 1) * 8
            proto, p = b[p], p + size
            if p > end:
                return "inner_bad_header"
        else:
            return "inner_bad_header"
        if proto in IPV6_UNKNOWN and first:
            return "inner_bad_header"
    need = NEED.get(proto)
    if not first or need is None:
        i = Inner(proto, src, 0, dst, 0)
    elif p + (4 if quoted and proto != ICMP[v] else need) > end:
        return "inner_l4_too_short"
    elif proto == ICMP[v]:
        i = Inner(proto, src, b[p], dst, p + 8)
    else:
        i = Inner(
            proto, src, b[p] << 8 | b[p + 1], dst, b[p + 2] << 8 | b[p + 3],
            b[p + 13] if proto == 6 and not quoted else None,
        )  # fmt: skip
    i.fragment, i.later = fragment, not first
    return i

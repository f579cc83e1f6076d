"""Parsing of GWLB's Geneve header (RFC 8926) and of the inner IPv4/IPv6 packet; pure, never raises.

Both parsers take bytes or a memoryview and return either a result tuple or, for a packet that
is malformed, a reason string. The reasons double as metric labels.
"""

# Every way a datagram can be malformed, in the order /metrics lists them. "oversized" means
# more than EC2's 9001-byte MTU can carry after the outer IPv4 and UDP headers.
REASONS = (
    "oversized",
    "geneve_too_short",
    "geneve_bad_version",
    "geneve_option_overrun",
    "geneve_bad_protocol",
    "geneve_bad_aws_option",  # an AWS option of the wrong length
    "geneve_missing_aws_option",
    "inner_too_short",
    "inner_bad_version",  # inner IP version differs from the Geneve protocol type
    "inner_bad_header",  # bad IHL or IPv6 extension header chain
    "inner_truncated",  # IP length beyond the data
    "inner_l4_too_short",  # transport header shorter than its ports (ICMP: type and code)
)
# Geneve protocol type -> inner IP version.
VERSIONS = {0x0800: 4, 0x86DD: 6}
# GWLB's options, class 0x0108, by type -> data length: 1 endpoint id, 2 attachment id,
# 3 flow cookie. All three must be present; options of other classes or types are skipped.
AWS = {1: 8, 2: 8, 3: 4}
# Transport header bytes that must be present to read the ports (ICMP/ICMPv6: type and code).
NEED = {6: 20, 17: 8, 1: 4, 58: 4, 132: 12}
NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}


def geneve(b):
    """(header length, inner IP version, endpoint id, attachment id, flow cookie) or a reason."""
    n = len(b)
    if n < 8:
        return "geneve_too_short"
    if b[0] >> 6:
        return "geneve_bad_version"
    h = 8 + (b[0] & 63) * 4
    if h > n:
        return "geneve_option_overrun"
    v = VERSIONS.get(b[2] << 8 | b[3])
    if v is None:
        return "geneve_bad_protocol"
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
        p = e
    if len(aws) < 3:
        return "geneve_missing_aws_option"
    return h, v, aws[1], aws[2], aws[3]


def inner(b, o, v):
    """(proto, src, sport, dst, dport) of the IPv`v` packet at b[o:], or a reason.

    Addresses are packed bytes. ICMP and ICMPv6 give type and code as ports; protocols without
    ports and non-first fragments give 0 and 0. IPv6 extension headers (hop-by-hop, routing,
    fragment, destination options, AH) are followed, at most 8 of them.
    """
    n = len(b) - o
    if n < 1:
        return "inner_too_short"
    if b[o] >> 4 != v:
        return "inner_bad_version"
    if n < (20 if v == 4 else 40):
        return "inner_too_short"
    if v == 4:
        p, end = o + (b[o] & 15) * 4, o + (b[o + 2] << 8 | b[o + 3])
        if p < o + 20 or p > end:
            return "inner_bad_header"
        if end > len(b):
            return "inner_truncated"
        proto, first = b[o + 9], not (b[o + 6] & 31 | b[o + 7])
        src, dst = bytes(b[o + 12 : o + 16]), bytes(b[o + 16 : o + 20])
    else:
        end = o + 40 + (b[o + 4] << 8 | b[o + 5])
        if end > len(b):
            return "inner_truncated"
        proto, p, first = b[o + 6], o + 40, True
        src, dst = bytes(b[o + 8 : o + 24]), bytes(b[o + 24 : o + 40])
        for _ in range(8):
            if proto not in (0, 43, 44, 51, 60):
                break
            if p + 8 > end:
                return "inner_bad_header"
            if proto == 44:  # fragment header: 8 bytes; a non-zero offset means no ports
                first, size = not (b[p + 2] << 8 | b[p + 3]) & 0xFFF8, 8
            else:  # AH counts 4-byte words less 2, the others 8-byte words less 1
                size = (b[p + 1] + 2) * 4 if proto == 51 else (b[p + 1] + 1) * 8
            proto, p = b[p], p + size
            if p > end:
                return "inner_bad_header"
        else:
            return "inner_bad_header"
    need = NEED.get(proto)
    if not first or need is None:
        return proto, src, 0, dst, 0
    if p + need > end:
        return "inner_l4_too_short"
    if need == 4:
        return proto, src, b[p], dst, b[p + 1]
    return proto, src, b[p] << 8 | b[p + 1], dst, b[p + 2] << 8 | b[p + 3]

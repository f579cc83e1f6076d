"""Inner IPv4/IPv6 parsing (5-tuple, ICMP identifiers and quotes, fragments, SYN), against
values scapy put into the packets."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import ICMP, IP, TCP, UDP, raw
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6PacketTooBig, IPv6, IPv6ExtHdrFragment

from appliance.packet import FIRST, NEVER, PICKUP, REASONS, inner

EXPECTED = {  # proto, sport, dport as scapy built them (ICMP echo request: identifier, type)
    "v4_tcp": (6, 40000, 443),
    "v4_udp": (17, 5353, 53),
    "v4_icmp": (1, 0, 8),
    "v4_opts_tcp": (6, 40001, 8443),
    "v6_tcp": (6, 40002, 443),
    "v6_udp": (17, 5354, 53),
    "v6_icmp": (58, 7, 128),
    "v6_ext_tcp": (6, 40003, 22),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_five_tuple(pk, kind):
    p = pk.inner_packets()[kind]
    version = 6 if kind.startswith("v6") else 4
    i = inner(b"HDR!" + raw(p), 4, version)
    assert (i.proto, i.sport, i.dport) == EXPECTED[kind]
    assert ipaddress.ip_address(i.src) == ipaddress.ip_address(p.src)
    assert ipaddress.ip_address(i.dst) == ipaddress.ip_address(p.dst)


def test_version_must_match_geneve_protocol(pk):
    assert inner(raw(pk.inner_packets()["v6_tcp"]), 0, 4) == "inner_bad_version"


def test_bad_ihl():
    buf = bytearray(raw(IP(src="10.0.0.1", dst="10.0.0.2") / TCP()))
    buf[0] = 0x44
    assert inner(bytes(buf), 0, 4) == "inner_bad_header"


@pytest.mark.parametrize("kind", ["v4_tcp", "v6_udp"])
def test_truncation_at_every_offset(pk, kind):
    buf = raw(pk.inner_packets()[kind])
    version, fixed = (6, 40) if kind.startswith("v6") else (4, 20)
    for k in range(len(buf)):
        expected = "inner_too_short" if k < fixed else "inner_truncated"
        assert inner(buf[:k], 0, version) == expected, k


def test_l4_header_shorter_than_ports():
    p = IP(src="10.0.0.1", dst="10.0.0.2", proto=6) / b"\x00\x01"
    assert inner(raw(p), 0, 4) == "inner_l4_too_short"


def ports(i):
    return i.proto, i.sport, i.dport


def test_later_fragments_have_no_ports_and_carry_their_id():
    v4 = IP(src="10.0.0.1", dst="10.0.0.2", frag=100, id=0x1234) / UDP(sport=1, dport=2)
    i = inner(raw(v4), 0, 4)
    assert ports(i) == (17, 0, 0) and i.later and i.fragment == (b"\x12\x34", 17)
    v6 = (
        IPv6(src="fd00::1", dst="fd00::2")
        / IPv6ExtHdrFragment(offset=10, nh=17, id=9)
        / (b"\0" * 8)
    )
    i = inner(raw(v6), 0, 6)
    assert ports(i) == (17, 0, 0) and i.later and i.fragment == (b"\0\0\0\x09", 17)
    first = (
        IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment(m=1, id=9) / UDP(sport=1, dport=2)
    )
    i = inner(raw(first), 0, 6)
    assert ports(i) == (17, 1, 2) and not i.later and i.fragment == (b"\0\0\0\x09", 17)
    v4_first = IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", id=7) / UDP(sport=1, dport=2)
    i = inner(raw(v4_first), 0, 4)
    assert ports(i) == (17, 1, 2) and not i.later and i.fragment == (b"\0\x07", 17)
    assert inner(raw(IP(src="10.0.0.1", dst="10.0.0.2") / UDP()), 0, 4).fragment is None


def test_other_protocols_by_number():
    assert ports(inner(raw(IP(src="10.0.0.1", dst="10.0.0.2", proto=47) / b"gre!"), 0, 4)) == (
        47,
        0,
        0,
    )


def test_tcp_flags_decide_how_a_flow_may_start():
    """As conntrack's first index: SYN opens, ACK (with PSH/URG/ECE/CWR) is picked up, any
    other combination (FIN, RST, SYN-ACK, none) starts nothing."""

    def start(flags):
        return inner(raw(IP(src="10.0.0.1", dst="10.0.0.2") / TCP(flags=flags)), 0, 4).start

    assert [start(f) for f in ("S", "SE", "A", "PA", "UAC")] == [FIRST, FIRST] + [PICKUP] * 3
    assert {start(f) for f in ("SA", "F", "FA", "R", "RA", "", "SF", "SR", "P")} == {NEVER}


def test_icmp_request_and_reply_ports_are_turned_round():
    req = inner(raw(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, id=0xBEEF)), 0, 4)
    rep = inner(raw(IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=0, id=0xBEEF)), 0, 4)
    assert ports(req) == (1, 0xBEEF, 8) and ports(rep) == (1, 8, 0xBEEF)
    assert (req.start, rep.start) == (FIRST, NEVER)
    inbound = inner(raw(IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=8, id=0xBEEF)), 0, 4)
    assert ports(inbound) == (1, 0xBEEF, 8)  # the peer's own request: another flow
    stamp = inner(raw(IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=14, id=5)), 0, 4)
    assert ports(stamp) == (1, 13, 5)  # a timestamp reply pairs with a timestamp request
    v6 = IPv6(src="fd00::2", dst="fd00::1") / ICMPv6EchoReply(id=77)
    assert ports(inner(raw(v6), 0, 6)) == (58, 128, 77)
    other = IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=9)  # router advertisement
    assert ports(inner(raw(other), 0, 4)) == (1, 0, 0)


def test_icmp_errors_quote_the_flow_they_are_about():
    sent = IP(src="10.0.0.1", dst="198.18.0.9") / UDP(sport=5000, dport=53) / (b"q" * 30)
    err = IP(src="192.0.2.1", dst="10.0.0.1") / ICMP(type=3, code=3) / raw(sent)[:28]
    i = inner(raw(err), 0, 4)
    assert ports(i) == (1, 0, 0) and i.quoted is not None
    q = i.quoted
    assert ports(q) == (17, 5000, 53) and (q.src, q.dst) == (a("10.0.0.1"), a("198.18.0.9"))
    ping = IP(src="10.0.0.1", dst="198.18.0.9") / ICMP(type=8, id=321)
    exceeded = IP(src="192.0.2.1", dst="10.0.0.1") / ICMP(type=11) / raw(ping)
    assert ports(inner(raw(exceeded), 0, 4).quoted) == (1, 321, 8)
    six = IPv6(src="fd00::1", dst="2001:db8::9") / TCP(sport=4000, dport=443)
    big = IPv6(src="2001:db8::1", dst="fd00::1") / ICMPv6PacketTooBig() / raw(six)[:48]
    assert ports(inner(raw(big), 0, 6).quoted) == (6, 4000, 443)
    assert inner(raw(err)[:40], 0, 4) == "inner_truncated"
    cut = IP(src="192.0.2.1", dst="10.0.0.1") / ICMP(type=3) / raw(sent)[:22]
    assert inner(raw(cut), 0, 4) == "inner_bad_icmp_error"  # ports cut off
    nested = IP(src="192.0.2.1", dst="10.0.0.1") / ICMP(type=3) / raw(err)[:28]
    assert inner(raw(nested), 0, 4) == "inner_bad_icmp_error"


def a(text):
    return ipaddress.ip_address(text).packed


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([4, 6]))
def test_never_raises(data, version):
    result = inner(data, 0, version)
    assert result in REASONS if isinstance(result, str) else result.proto in range(256)

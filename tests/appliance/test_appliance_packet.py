"""Inner IPv4/IPv6 5-tuple parsing, against values scapy put into the packets."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import IP, TCP, UDP, raw
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment

from appliance.packet import REASONS, inner

EXPECTED = {  # proto, sport, dport as scapy built them (ICMP: type, code)
    "v4_tcp": (6, 40000, 443),
    "v4_udp": (17, 5353, 53),
    "v4_icmp": (1, 8, 0),
    "v4_opts_tcp": (6, 40001, 8443),
    "v6_tcp": (6, 40002, 443),
    "v6_udp": (17, 5354, 53),
    "v6_icmp": (58, 128, 0),
    "v6_ext_tcp": (6, 40003, 22),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_five_tuple(pk, kind):
    p = pk.inner_packets()[kind]
    version = 6 if kind.startswith("v6") else 4
    proto, src, sport, dst, dport = inner(b"HDR!" + raw(p), 4, version)
    assert (proto, sport, dport) == EXPECTED[kind]
    assert ipaddress.ip_address(src) == ipaddress.ip_address(p.src)
    assert ipaddress.ip_address(dst) == ipaddress.ip_address(p.dst)


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


def test_later_fragments_have_no_ports():
    v4 = IP(src="10.0.0.1", dst="10.0.0.2", frag=100) / UDP(sport=1, dport=2)
    assert inner(raw(v4), 0, 4)[::2] == (17, 0, 0)
    v6 = IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment(offset=10, nh=17) / (b"\0" * 8)
    assert inner(raw(v6), 0, 6)[::2] == (17, 0, 0)
    first = IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment(m=1) / UDP(sport=1, dport=2)
    assert inner(raw(first), 0, 6)[::2] == (17, 1, 2)


def test_other_protocols_by_number():
    assert inner(raw(IP(src="10.0.0.1", dst="10.0.0.2", proto=47) / b"gre!"), 0, 4)[::2] == (
        47,
        0,
        0,
    )


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([4, 6]))
def test_never_raises(data, version):
    result = inner(data, 0, version)
    assert result in REASONS if isinstance(result, str) else len(result) == 5

"""Inner IPv4/IPv6 5-tuple parsing, against values scapy put into the packets."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import IP, TCP, UDP, raw
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment

from appliance import packet

STATUSES = set(packet.REASONS) | {packet.OK}
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
    r = packet.parse(b"HDR!" + raw(p), 4, version)
    assert r.status == packet.OK
    assert (r.proto, r.sport, r.dport) == EXPECTED[kind]
    assert ipaddress.ip_address(r.src) == ipaddress.ip_address(p.src)
    assert ipaddress.ip_address(r.dst) == ipaddress.ip_address(p.dst)


def test_version_must_match_geneve_protocol(pk):
    assert packet.parse(raw(pk.inner_packets()["v6_tcp"]), 0, 4).status == "inner_bad_version"


def test_bad_ihl():
    buf = bytearray(raw(IP(src="10.0.0.1", dst="10.0.0.2") / TCP()))
    buf[0] = 0x44
    assert packet.parse(bytes(buf), 0, 4).status == "inner_bad_header"


@pytest.mark.parametrize("kind", ["v4_tcp", "v6_udp"])
def test_truncation_at_every_offset(pk, kind):
    buf = raw(pk.inner_packets()[kind])
    version, fixed = (6, 40) if kind.startswith("v6") else (4, 20)
    for k in range(len(buf)):
        status = packet.parse(buf[:k], 0, version).status
        assert status == ("inner_too_short" if k < fixed else "inner_truncated"), k


def test_l4_header_shorter_than_ports():
    p = IP(src="10.0.0.1", dst="10.0.0.2", proto=6) / b"\x00\x01"
    assert packet.parse(raw(p), 0, 4).status == "inner_l4_too_short"


def test_later_fragments_have_no_ports():
    v4 = IP(src="10.0.0.1", dst="10.0.0.2", frag=100) / UDP(sport=1, dport=2)
    r = packet.parse(raw(v4), 0, 4)
    assert (r.status, r.proto, r.sport, r.dport) == ("ok", 17, 0, 0)
    v6 = IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment(offset=10, nh=17) / (b"\0" * 8)
    r = packet.parse(raw(v6), 0, 6)
    assert (r.status, r.proto, r.sport, r.dport) == ("ok", 17, 0, 0)


def test_other_protocols_by_number():
    r = packet.parse(raw(IP(src="10.0.0.1", dst="10.0.0.2", proto=47) / b"gre!"), 0, 4)
    assert (r.status, r.proto, r.sport, r.dport) == ("ok", 47, 0, 0)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([4, 6]))
def test_never_raises(data, version):
    assert packet.parse(data, 0, version).status in STATUSES

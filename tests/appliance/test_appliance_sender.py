"""Outer IPv4+UDP built for replies: fields and checksums, verified by scapy."""

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import IP, UDP

from appliance.sender import build_ipv4_udp


def check(payload, sport=49152, dport=6081):
    src, dst = bytes([10, 250, 0, 2]), bytes([10, 250, 0, 1])
    pkt = build_ipv4_udp(src, dst, sport, dport, payload)
    p = IP(pkt)
    assert (p.src, p.dst, p.ttl, p.proto, p.ihl, p.len) == (
        "10.250.0.2",
        "10.250.0.1",
        64,
        17,
        5,
        len(pkt),
    )
    assert p.flags == "DF"
    assert (p[UDP].sport, p[UDP].dport, p[UDP].len) == (sport, dport, 8 + len(payload))
    assert bytes(p[UDP].payload) == payload
    fresh = IP(pkt)
    del fresh.chksum, fresh[UDP].chksum
    fresh = IP(bytes(fresh))
    assert p.chksum == fresh.chksum
    assert p[UDP].chksum == fresh[UDP].chksum and p[UDP].chksum != 0


def test_even_and_odd_payloads():
    check(b"")
    check(b"x")
    check(bytes(range(256)) * 5)
    check(b"\xff" * 1001, sport=6081, dport=6081)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 65535))
def test_checksums_match_scapy(payload, sport):
    check(payload, sport)

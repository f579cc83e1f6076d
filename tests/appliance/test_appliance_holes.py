"""Issue 14's findings as packet tests against the handler (no sockets): an outside host cannot
open, steer or evict state; ICMP errors and queries pair strictly; fragments and IPv6 headers
are parsed as they are laid out; a reload never stalls. Policy: default drop, allow outbound."""

import time

import pytest
from scapy.all import ICMP, IP, TCP, UDP, raw
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment

from appliance import policy
from appliance.flows import FlowTable
from appliance.handler import COUNTERS, FlowLog, Handler
from lab.geneve import aws_options, build

T0 = 1000.0
OUT = {"default": "drop", "rules": [{"name": "out", "action": "allow", "direction": "outbound"}]}
OUT_443 = {
    "default": "drop",
    "rules": [{"action": "allow", "direction": "outbound", "protocol": "tcp", "dst_ports": 443}],
}
INSIDE, OTHER_INSIDE, ATTACKER, DNS = "10.0.1.10", "10.0.9.9", "203.0.113.66", "198.51.100.53"


def make(doc=OUT, size=65536):
    log = FlowLog(1000, wall_clock=lambda: 1.7e9)
    return Handler(policy.from_dict(doc), FlowTable(size), log), log.lines


def gen(inner):
    proto = 0x86DD if isinstance(inner, IPv6) else 0x0800
    return build(raw(inner), proto, aws_options(0x0123456789ABCDEF, 0x1122334455667788, 7))


def counts(h):
    return dict(zip(COUNTERS, h.counters.values()))  # noqa: B905 (3.9)


@pytest.mark.parametrize("flags", ["A", "F", "R", "SA", "PA", "FA", "RA", ""])
def test_finding1_a_lone_inbound_tcp_packet_opens_nothing(flags):
    """Any flags from outside to an inside port: dropped, and the SYN and data after it too."""
    h, lines = make()
    attack = IP(src=ATTACKER, dst=INSIDE) / TCP(sport=40001, dport=22, flags=flags)
    assert not h.handle(gen(attack), T0)
    assert not h.handle(gen(IP(src=ATTACKER, dst=INSIDE) / TCP(sport=40001, dport=22)), T0)
    data = IP(src=ATTACKER, dst=INSIDE) / TCP(sport=40001, dport=22, flags="PA") / b"x"
    assert not h.handle(gen(data), T0 + 0.1)
    assert not h.handle(gen(data), T0 + 2)
    assert not any("dir=outbound" in x for x in lines)


def test_finding1_an_ack_from_port_443_does_not_open_3389():
    h, _ = make(OUT_443)
    ack = IP(src=ATTACKER, dst=INSIDE) / TCP(sport=443, dport=3389, flags="A")
    assert not h.handle(gen(ack), T0)
    assert not h.handle(gen(ack), T0 + 0.1)
    rdp = IP(src=ATTACKER, dst=INSIDE) / TCP(sport=443, dport=3389, flags="PA") / b"rdp"
    assert not h.handle(gen(rdp), T0 + 0.2)


def test_finding1_flag_combinations_of_an_unknown_flow_are_dropped_and_counted():
    """Outbound, where the policy allows: only SYN opens and a plain ACK is picked up."""
    h, _ = make()
    for n, flags in enumerate(["F", "R", "SA", "", "SF", "FA", "RA", "SR"]):
        out = IP(src=INSIDE, dst=DNS) / TCP(sport=41000 + n, dport=443, flags=flags)
        assert not h.handle(gen(out), T0), flags
    assert counts(h)["invalid"] == 8 and counts(h)["created"] == 0
    assert h.handle(gen(IP(src=INSIDE, dst=DNS) / TCP(sport=42000, dport=443, flags="A")), T0)
    assert h.handle(gen(IP(src=INSIDE, dst=DNS) / TCP(sport=42001, dport=443, flags="PA")), T0)


def test_finding1_rst_and_fin_shorten_a_flow():
    h, _ = make()
    out = IP(src=INSIDE, dst=DNS) / TCP(sport=43000, dport=443, flags="S")
    back = IP(src=DNS, dst=INSIDE) / TCP(sport=443, dport=43000, flags="A")
    assert h.handle(gen(out), T0) and h.handle(gen(back), T0)
    assert h.handle(gen(back), T0 + 300)  # idle 350 s
    rst = IP(src=DNS, dst=INSIDE) / TCP(sport=443, dport=43000, flags="R")
    assert h.handle(gen(rst), T0 + 301)
    assert not h.handle(gen(back), T0 + 330)  # gone 10 s after the RST, not 350


def dns_flow(h):
    query = IP(src=INSIDE, dst=DNS) / UDP(sport=5353, dport=53) / b"query"
    assert h.handle(gen(query), T0)
    return query


def test_finding2_an_icmp_error_to_another_inside_host_is_dropped():
    h, _ = make()
    query = dns_flow(h)
    good = IP(src=DNS, dst=INSIDE) / ICMP(type=3, code=3) / raw(query)[:28]
    assert h.handle(gen(good), T0)
    stray = IP(src=ATTACKER, dst=OTHER_INSIDE) / ICMP(type=3, code=3) / raw(query)[:28]
    assert not h.handle(gen(stray), T0)


def test_finding2_redirects_are_always_dropped():
    h, _ = make()
    query = dns_flow(h)
    redirect = IP(src=ATTACKER, dst=INSIDE) / ICMP(type=5, code=1, gw=ATTACKER) / raw(query)[:28]
    assert not h.handle(gen(redirect), T0)


def test_finding2_an_error_with_1200_extra_bytes_is_dropped():
    h, _ = make()
    query = dns_flow(h)
    big = IP(src=DNS, dst=INSIDE) / ICMP(type=3, code=3) / (raw(query) + b"\0" * 1200)
    assert not h.handle(gen(big), T0)


def test_finding3_a_flood_of_dropped_syns_never_evicts_established_flows():
    """70,000 inbound SYNs the policy drops, against a 65,536-flow table: the established DNS
    and echo flows' replies still pass."""
    h, _ = make()
    dns_flow(h)
    ping = IP(src=INSIDE, dst=DNS) / ICMP(type=8, id=77, seq=1)
    assert h.handle(gen(ping), T0)
    template = bytearray(gen(IP(src=ATTACKER, dst=INSIDE) / TCP(sport=1, dport=22, flags="S")))
    at = len(template) - 20  # the inner TCP source port
    for i in range(70000):
        template[at : at + 2] = (1024 + i % 60000).to_bytes(2, "big")
        template[at - 8] = i // 60000  # the low byte of the attacker's address
        assert not h.handle(bytes(template), T0 + 1 + i / 70000)
    assert h.handle(gen(IP(src=DNS, dst=INSIDE) / UDP(sport=53, dport=5353) / b"a"), T0 + 2)
    assert h.handle(gen(IP(src=DNS, dst=INSIDE) / ICMP(type=0, id=77, seq=1)), T0 + 2)
    assert counts(h)["evicted"] == 0 and len(h.table) == 2


def test_finding4_a_reload_with_a_full_table_and_100_rules_does_not_stall():
    """65,536 flows, 100 rules: SIGHUP's work in the worker stays far under the 100 ms the
    issue allows (measured under 10 ms on 3.9 with the compile; generous for a shared machine)."""
    rules = [
        {"action": "drop", "protocol": "tcp", "src": f"192.0.2.{n}/32", "dst_ports": 1000 + n}
        for n in range(99)
    ] + [{"action": "allow", "direction": "outbound"}]
    h, _ = make({"default": "drop", "rules": rules})
    template = bytearray(gen(IP(src=INSIDE, dst=DNS) / UDP(sport=1, dport=53)))
    at = len(template) - 8
    for i in range(65536):
        template[at : at + 2] = (i % 64000 + 1).to_bytes(2, "big")
        template[at - 5] = 10 + i // 64000  # the low byte of the destination address
        assert h.handle(bytes(template), T0)
    assert len(h.table) == 65536
    began = time.perf_counter()
    h.reload(policy.from_dict({"default": "drop", "rules": rules}))
    assert h.handle(bytes(template), T0 + 0.5)
    assert time.perf_counter() - began < 0.1


def fragments_v6(payload=b"p" * 48):
    """An allowed UDP packet laid out as Fragment, Destination Options, UDP, in three pieces."""
    whole = (
        IPv6(src="fd00::5", dst="2001:db8::9")
        / IPv6ExtHdrFragment(id=99)
        / IPv6ExtHdrDestOpt()
        / UDP(sport=5000, dport=53)
        / payload
    )
    data = raw(whole[IPv6ExtHdrDestOpt])
    pieces = [data[:24], data[24:48], data[48:]]
    out, offset = [], 0
    for n, piece in enumerate(pieces):
        more = n < len(pieces) - 1
        frag = IPv6ExtHdrFragment(id=99, nh=60, offset=offset // 8, m=int(more))
        out.append(gen(IPv6(src="fd00::5", dst="2001:db8::9") / frag / piece))
        offset += len(piece)
    return out


def test_finding6_ipv6_later_fragments_are_not_parsed_as_headers():
    h, _ = make()
    first, second, third = fragments_v6()
    assert h.handle(first, T0) and h.handle(second, T0) and h.handle(third, T0)
    assert counts(h)["inner_bad_header"] == 0


def test_finding7_a_fragment_before_its_first_is_held_then_released():
    h, _ = make()
    first, second, third = fragments_v6()
    assert not h.handle(third, T0, "ctx3")
    assert h.handle(first, T0 + 0.01, "ctx1")
    assert h.released == [(third, "ctx3")]
    assert h.handle(second, T0 + 0.02, "ctx2")


def test_held_fragments_of_a_dropped_first_are_dropped():
    h, _ = make()
    first = IP(src=ATTACKER, dst=INSIDE, id=5, flags="MF") / UDP(sport=1, dport=2) / (b"x" * 32)
    later = IP(src=ATTACKER, dst=INSIDE, id=5, frag=5, proto=17) / (b"y" * 16)
    assert not h.handle(gen(later), T0, "c") and not h.handle(gen(first), T0, "c")
    assert h.released == [] and counts(h)["fragments_lost"] == 1


def test_finding8_inbound_requests_never_use_an_outbound_ping_s_identifier():
    h, _ = make()
    assert h.handle(gen(IP(src=INSIDE, dst=DNS) / ICMP(type=8, id=42)), T0)
    for kind in (8, 13, 17):  # echo, timestamp and address mask requests, from the peer
        assert not h.handle(gen(IP(src=DNS, dst=INSIDE) / ICMP(type=kind, id=42)), T0), kind
    assert not h.handle(gen(IP(src=ATTACKER, dst=INSIDE) / ICMP(type=0, id=42)), T0)
    assert not h.handle(gen(IP(src=DNS, dst=INSIDE) / ICMP(type=14, id=42)), T0)  # wrong reply
    assert h.handle(gen(IP(src=DNS, dst=INSIDE) / ICMP(type=0, id=42)), T0)


@pytest.mark.parametrize("header", [135, 139, 140, 253])
def test_finding8_unknown_ipv6_extension_headers_are_dropped(header):
    h, _ = make({"default": "allow"})
    pkt = IPv6(src="fd00::5", dst="2001:db8::9", nh=header) / (bytes([17, 0]) + b"\0" * 30)
    assert not h.handle(gen(pkt), T0)


def test_finding8_a_tcp_fragment_at_offset_1_is_dropped():
    h, _ = make({"default": "allow"})
    first = IP(src=INSIDE, dst=DNS, id=9, flags="MF") / TCP(sport=44000, dport=443, flags="A")
    assert h.handle(gen(first), T0)
    overlap = IP(src=INSIDE, dst=DNS, id=9, frag=1, proto=6) / (b"\0" * 5 + b"\x02" + b"\0" * 10)
    assert not h.handle(gen(overlap), T0)
    v6 = IPv6(src="fd00::5", dst="2001:db8::9") / IPv6ExtHdrFragment(id=3, nh=6, offset=1)
    assert not h.handle(gen(v6 / (b"\0" * 16)), T0)

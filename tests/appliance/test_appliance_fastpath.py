"""The fast path's bytes against the full parse: new flows read at fixed offsets agree with
it, and a flow enters the fast path from its second packet, within a bound."""

import pytest
from scapy.all import IP, TCP, UDP, IPOption_NOP, raw

from appliance import policy
from appliance.flows import FlowTable
from appliance.handler import COUNTERS, FlowLog, Handler
from lab.geneve import aws_options, build

T0 = 1000.0
OUTBOUND_ONLY = {"default": "drop", "rules": [{"action": "allow", "direction": "outbound"}]}
INSIDE, OUTSIDE = "10.1.0.5", "198.18.0.9"


def make_handler(doc=None, size=100):
    log = FlowLog(1000, wall_clock=lambda: 1.7e9)
    return Handler(policy.from_dict(doc or {}), FlowTable(size), log), log.lines


def counts(h):
    return {n: v for n, v in zip(COUNTERS, h.counters.values()) if v}  # noqa: B905 (3.9)


def gen(inner):
    return build(raw(inner), 0x0800, aws_options(0x0123456789ABCDEF, 0x1122334455667788, 7))


def out_in():
    return IP(src=INSIDE, dst=OUTSIDE), IP(src=OUTSIDE, dst=INSIDE)


@pytest.mark.parametrize("flags", range(256))
def test_new_flows_read_at_fixed_offsets_agree_with_the_full_parse(flags):
    """A new flow in the fast path's shape (IPv4 without options) is read at fixed offsets; the
    same packet with an IPv4 option takes the full parse. Same verdicts, counts and log lines,
    for every TCP flag combination and for UDP, both ways."""
    results = []
    for options in ([], [IPOption_NOP()] * 4):
        h, lines = make_handler(OUTBOUND_ONLY)
        got = []
        for ip in out_in():
            ip.options = options
            for l4 in (TCP(sport=40000, dport=443, flags=flags), UDP(sport=40000, dport=53)):
                got.append(h.handle(gen(ip / l4), T0))
        results.append((got, counts(h), lines))
    assert results[0] == results[1]


def test_a_flow_enters_the_fast_path_from_its_second_packet():
    """New flows of one packet (a flood's) never fill the fast path; a flow that goes on does,
    and the fast path holds at most two entries per flow the table can hold."""
    h, _ = make_handler(size=4)

    def udp(port):
        return gen(IP(src=INSIDE, dst=OUTSIDE) / UDP(sport=port, dport=53))

    for port in range(1000, 2000):
        assert h.handle(udp(port), T0) is True
    assert h.counters.created == 1000 and not h.fast
    assert h.handle(udp(5), T0 + 0.1) and not h.fast
    assert h.handle(udp(5), T0 + 0.2) and len(h.fast) == 1
    for port in range(100):
        for t in (0.3, 0.4):
            assert h.handle(udp(port), T0 + t) is True
        assert 0 < len(h.fast) <= 2 * 4 + 1

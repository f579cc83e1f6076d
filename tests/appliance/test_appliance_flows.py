"""Flow table and handler: stateful semantics under a default-drop, allow-outbound policy, flow
log limits, policy reload, and the fast path's agreement with the full parse."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import ICMP, IP, TCP, UDP, raw
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6

from appliance import policy
from appliance.flows import Flow, FlowTable, flow_key
from appliance.handler import COUNTERS, FlowLog, Handler
from lab.geneve import aws_options, build

T0 = 1000.0
OUTBOUND_ONLY = {
    "default": "drop",
    "rules": [
        {"name": "no-smtp", "action": "drop", "protocol": "tcp", "dst_ports": 25},
        {"name": "out", "action": "allow", "direction": "outbound"},
    ],
}
INSIDE, OUTSIDE, ROUTER = "10.1.0.5", "198.18.0.9", "192.0.2.1"


def flow(seen):
    return Flow(seen, 4, 6, b"a", 1, b"b", 2)


def key(proto, sport):
    return flow_key(b"E" * 8, proto, b"\x0a\0\0\x01", sport, b"\x0a\0\0\x02", 80)


def test_key_is_the_same_both_ways():
    a, b = b"\x0a\0\0\x01", b"\x0a\0\0\x02"
    assert flow_key(b"E", 6, a, 1000, b, 80) == flow_key(b"E", 6, b, 80, a, 1000)
    assert flow_key(b"E", 6, a, 1000, b, 80) != flow_key(b"F", 6, a, 1000, b, 80)
    assert flow_key(b"E", 6, a, 1000, b, 80) != flow_key(b"E", 6, a, 80, b, 1000)


def test_idle_expiry_follows_the_flags():
    t = FlowTable(100, tcp_idle=350, other_idle=120)
    t.add(key(6, 1), flow(T0))
    t.add(key(17, 1), flow(T0))
    assert t.get(key(17, 1), T0 + 119) is not None
    assert t.get(key(17, 1), T0 + 240) is None  # 121 s since the UDP flow was last seen
    assert t.get(key(6, 1), T0 + 240) is not None  # 240 s old, refreshed now
    t.expire(T0 + 589)
    assert len(t) == 1
    t.expire(T0 + 591)
    assert len(t) == 0 and t.expired == 2
    short = FlowTable(100, tcp_idle=5, other_idle=2)
    short.add(key(6, 1), flow(T0))
    short.add(key(17, 1), flow(T0))
    assert short.get(key(17, 1), T0 + 3) is None and short.get(key(6, 1), T0 + 3) is not None
    assert short.get(key(6, 1), T0 + 9) is None


def test_size_limit_evicts_least_recently_seen():
    t, now = FlowTable(50), T0
    for i in range(50):
        t.add(key(6 if i % 2 else 17, i), flow(now))
        now += 2
    first = t.get(key(17, 0), now)  # touched: now the most recent
    assert first is not None
    for i in range(50, 5000):
        t.add(key(6 if i % 2 else 17, i), flow(now))
        now += 2
        assert len(t) <= 50
    assert t.evicted == 4950
    assert t.get(key(6, 4999), now) is not None and t.get(key(6, 1), now) is None
    assert first.seen == 0  # an evicted flow is marked, so the fast path no longer uses it


def make_handler(doc=None, size=100, rate=1000):
    log = FlowLog(rate, wall_clock=lambda: 1.7e9)
    return Handler(policy.from_dict(doc or {}), FlowTable(size), log), log.lines


def counts(h):
    return {n: v for n, v in zip(COUNTERS, h.counters.values()) if v}  # noqa: B905 (3.9)


def gen(inner):
    proto = 0x86DD if isinstance(inner, IPv6) else 0x0800
    return build(raw(inner), proto, aws_options(0x0123456789ABCDEF, 0x1122334455667788, 7))


def out_in(inside=INSIDE, outside=OUTSIDE):
    return IP(src=inside, dst=outside), IP(src=outside, dst=inside)


def test_handler_logs_once_per_flow_and_counts():
    h, lines = make_handler()
    buf = gen(IP(src=INSIDE, dst=OUTSIDE) / TCP(sport=40000, dport=443, flags="S"))
    for i in range(3):
        assert h.handle(buf, T0 + i) is True  # a SYN takes the full parse: one flow, one line
    assert h.handle(memoryview(bytearray(buf)), T0 + 2.5) is True
    assert lines == [
        "2023-11-14T22:13:20.000Z gwlbe=0123456789abcdef attachment=1122334455667788"
        " cookie=00000007 proto=tcp src=10.1.0.5 sport=40000 dst=198.18.0.9 dport=443"
        " dir=outbound verdict=allow rule=default start=first\n"
    ]
    assert counts(h) == {"received": 4, "created": 1}


def test_ping_out_and_back_is_one_flow_and_unsolicited_echo_is_dropped():
    h, lines = make_handler(OUTBOUND_ONLY)
    out, back = out_in()
    assert h.handle(gen(out / ICMP(type=8, id=42, seq=1)), T0)
    assert h.handle(gen(back / ICMP(type=0, id=42, seq=1)), T0)
    assert not h.handle(gen(back / ICMP(type=0, id=43, seq=1)), T0)  # no request with id 43
    assert not h.handle(gen(back / ICMP(type=8, id=44)), T0)  # ping from outside
    v6_out = IPv6(src="fd00::5", dst="2001:db8::9")
    v6_back = IPv6(src="2001:db8::9", dst="fd00::5")
    assert h.handle(gen(v6_out / ICMPv6EchoRequest(id=5)), T0)
    assert h.handle(gen(v6_back / ICMPv6EchoReply(id=5)), T0)
    assert not h.handle(gen(v6_back / ICMPv6EchoRequest(id=6)), T0)
    c = counts(h)  # the two requests from inside opened flows; a reply alone opens none
    assert (c["created"], c["denied"], c["policy"], c["invalid"]) == (2, 2, 2, 1)
    assert sum("verdict=allow" in x for x in lines) == 2


def test_tcp_handshake_and_unsolicited_syn():
    h, lines = make_handler(OUTBOUND_ONLY)
    out, back = out_in()
    assert h.handle(gen(out / TCP(sport=40000, dport=443, flags="S")), T0)
    assert h.handle(gen(back / TCP(sport=443, dport=40000, flags="SA")), T0)
    assert h.handle(gen(out / TCP(sport=40000, dport=443, flags="A")), T0)
    assert not h.handle(gen(back / TCP(sport=5555, dport=22, flags="S")), T0)
    assert counts(h)["created"] == 1 and counts(h)["denied"] == 1 and len(lines) == 2


def test_tcp_ack_is_picked_up_in_its_own_direction_only():
    h, lines = make_handler(OUTBOUND_ONLY)
    out, back = out_in()
    # The server's packet comes first (a restart, a rebalance): judged inbound, dropped.
    assert not h.handle(gen(back / TCP(sport=443, dport=40001, flags="PA")), T0)
    # The inside's next ACK is judged outbound and opens the flow; then the server's passes.
    assert h.handle(gen(out / TCP(sport=40001, dport=443, flags="A")), T0)
    assert h.handle(gen(back / TCP(sport=443, dport=40001, flags="PA")), T0)
    allowed = [x for x in lines if "verdict=allow" in x]
    assert "src=10.1.0.5 sport=40001 dst=198.18.0.9 dport=443 dir=outbound" in allowed[0]
    assert allowed[0].endswith("start=midstream\n") and len(allowed) == 1
    assert not h.handle(gen(out / TCP(sport=40002, dport=25, flags="A")), T0)  # SMTP: dropped


def test_udp_answer_passes_and_unsolicited_udp_is_dropped():
    h, _ = make_handler(OUTBOUND_ONLY)
    out, back = out_in()
    assert h.handle(gen(out / UDP(sport=5353, dport=53) / b"q"), T0)
    assert h.handle(gen(back / UDP(sport=53, dport=5353) / b"a"), T0)
    assert not h.handle(gen(back / UDP(sport=53, dport=5354) / b"a"), T0)


def test_reverse_of_a_dropped_flow_is_judged_afresh():
    h, _ = make_handler(OUTBOUND_ONLY)
    out, back = out_in()
    assert not h.handle(gen(back / UDP(sport=53, dport=5353)), T0)  # unsolicited: dropped
    assert not h.handle(gen(back / UDP(sport=53, dport=5353)), T0)  # again, from the cache
    assert h.handle(gen(out / UDP(sport=5353, dport=53)), T0)  # the inside opens it
    assert h.handle(gen(back / UDP(sport=53, dport=5353)), T0)


def test_icmp_errors_take_the_verdict_of_the_flow_they_quote():
    h, _ = make_handler(OUTBOUND_ONLY)
    out, _ = out_in()
    sent = out / UDP(sport=5353, dport=53) / b"query"
    assert h.handle(gen(sent), T0)
    unreachable = IP(src=ROUTER, dst=INSIDE) / ICMP(type=3, code=1) / raw(sent)[:28]
    assert h.handle(gen(unreachable), T0)
    other = out / UDP(sport=5354, dport=53)
    assert not h.handle(gen(IP(src=ROUTER, dst=INSIDE) / ICMP(type=3) / raw(other)[:28]), T0)
    ping = out / ICMP(type=8, id=9)
    assert h.handle(gen(ping), T0)
    assert h.handle(gen(IP(src=ROUTER, dst=INSIDE) / ICMP(type=11) / raw(ping)), T0)
    assert counts(h)["created"] == 2  # errors open no flow


def test_later_fragments_follow_their_first():
    h, _ = make_handler(OUTBOUND_ONLY)
    first = IP(src=INSIDE, dst=OUTSIDE, id=77, flags="MF") / UDP(sport=1, dport=2) / (b"x" * 32)
    later = IP(src=INSIDE, dst=OUTSIDE, id=77, frag=5, proto=17) / (b"y" * 16)
    assert h.handle(gen(first), T0) and h.handle(gen(later), T0)
    unknown = IP(src=INSIDE, dst=OUTSIDE, id=78, frag=5, proto=17) / (b"y" * 16)
    assert not h.handle(gen(unknown), T0)
    dropped = IP(src=OUTSIDE, dst=INSIDE, id=79, flags="MF") / UDP(sport=1, dport=2) / (b"x" * 4)
    tail = IP(src=OUTSIDE, dst=INSIDE, id=79, frag=5, proto=17) / (b"y" * 16)
    assert not h.handle(gen(dropped), T0) and not h.handle(gen(tail), T0)


def test_reload_judges_known_flows_again():
    h, _ = make_handler(OUTBOUND_ONLY)
    out, back = out_in()
    assert h.handle(gen(out / UDP(sport=5353, dport=53)), T0)
    assert h.handle(gen(out / TCP(sport=40001, dport=443, flags="A")), T0)  # mid-stream
    h.reload(policy.from_dict({"default": "drop"}))
    assert not h.handle(gen(back / UDP(sport=53, dport=5353)), T0 + 0.1)  # fast path too
    assert not h.handle(gen(out / TCP(sport=40001, dport=443, flags="A")), T0 + 0.1)
    h.reload(policy.from_dict(OUTBOUND_ONLY))
    # The dropped flows were forgotten: a reply alone opens nothing, the inside reopens them.
    assert not h.handle(gen(back / UDP(sport=53, dport=5353)), T0 + 0.2)
    assert h.handle(gen(out / UDP(sport=5353, dport=53)), T0 + 0.2)
    assert h.handle(gen(back / UDP(sport=53, dport=5353)), T0 + 0.2)
    assert h.handle(gen(out / TCP(sport=40001, dport=443, flags="A")), T0 + 0.2)
    assert h.handle(gen(back / TCP(sport=443, dport=40001, flags="A")), T0 + 0.2)


def test_reload_lets_the_other_side_open_a_flow_it_now_drops():
    h, _ = make_handler(OUTBOUND_ONLY)
    out, back = out_in()
    assert h.handle(gen(out / UDP(sport=5353, dport=53)), T0)
    assert h.handle(gen(back / UDP(sport=53, dport=5353)), T0)  # cached on the fast path
    inbound_only = {"default": "drop", "rules": [{"action": "allow", "direction": "inbound"}]}
    h.reload(policy.from_dict(inbound_only))
    assert not h.handle(gen(out / UDP(sport=5353, dport=53)), T0 + 0.1)
    assert h.handle(gen(back / UDP(sport=53, dport=5353)), T0 + 0.1)  # opened from outside


def test_flow_log_is_rate_limited_and_summarised():
    h, lines = make_handler(rate=5)
    for i in range(20):
        assert h.handle(gen(IP(src=INSIDE, dst=OUTSIDE) / UDP(sport=1000 + i, dport=53)), T0)
    assert len(lines) == 5 and h.log.suppressed == 15
    h.log.summarise(T0)
    assert lines[-1] == "2023-11-14T22:13:20.000Z flow-log suppressed=15 limit=5/s\n"
    h.log.summarise(T0 + 0.5)  # at most one summary a second, none when nothing was suppressed
    h.log.summarise(T0 + 1.5)
    assert len(lines) == 6
    assert h.handle(gen(IP(src=INSIDE, dst=OUTSIDE) / UDP(sport=999, dport=53)), T0 + 1.6)
    assert len(lines) == 7  # tokens came back with time


def test_handler_counts_malformed_and_survives_internal_errors(pk):
    h, _ = make_handler()
    assert h.handle(b"", T0) is False
    assert h.handle(b"\x00" * 5, T0) is False
    assert h.handle(b"\x00" * 9000, T0) is False
    h.policy = None  # any exception inside the decision must be caught and counted
    assert h.handle(pk.geneve(pk.inner_packets()["v6_udp"]), T0) is False
    assert h.handle(build(b"", 0x0800, aws_options(1, 2, 3)), T0) is False
    assert counts(h) == {
        "received": 5,
        "geneve_too_short": 2,
        "oversized": 1,
        "error": 1,
        "inner_too_short": 1,
    }


@pytest.mark.parametrize("kind", ["v4_tcp", "v4_udp", "v4_icmp", "v6_ext_tcp", "v6_icmp"])
def test_every_kind_is_allowed_twice_and_logged_once(pk, kind):
    h, lines = make_handler()
    buf = pk.geneve(pk.inner_packets()[kind])
    assert h.handle(buf, T0) is True and h.handle(buf, T0) is True
    assert len(lines) == 1


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_fast_path_agrees_with_full_parse(pk, data):
    """A packet mutated from one whose flow is cached: same verdict and counts with or
    without the fast path (which must never accept what the full parse would reject)."""
    kind = data.draw(st.sampled_from(["v4_tcp", "v4_udp", "v6_tcp", "v6_udp"]))
    good = pk.geneve(pk.inner_packets()[kind])
    buf = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    buf = bytes(buf[: data.draw(st.integers(0, len(buf)))] + data.draw(st.binary(max_size=8)))
    results = []
    for fast in (True, False):
        h, lines = make_handler(OUTBOUND_ONLY)
        h.handle(good, T0)
        h.handle(good, T0 + 0.1)  # a flow's second packet puts it in the fast path
        if not fast:
            h.fast.clear()
        results.append((h.handle(buf, T0 + 0.5), counts(h), lines))
    assert results[0] == results[1]

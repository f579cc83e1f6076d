"""Flow table expiry and bounds, and the handler's per-flow decisions, flow log and fast path."""

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import IP, TCP

from appliance import policy
from appliance.worker import COUNTERS, FlowTable, Handler
from lab.geneve import aws_options, build

T0 = 1000.0


def key(proto, sport):
    return (proto, b"E" * 8, b"\x0a\0\0\x01", sport, b"\x0a\0\0\x02", 80)


def test_idle_expiry_tcp_350_udp_120():
    t = FlowTable(100)
    t.add(key(6, 1), True, T0)
    t.add(key(17, 1), True, T0)
    assert t.get(key(17, 1), T0 + 119) is not None
    assert t.get(key(17, 1), T0 + 240) is None  # 121 s since the UDP flow was last seen
    assert t.get(key(6, 1), T0 + 240) is not None  # 240 s old, refreshed now
    t.expire(T0 + 589)
    assert len(t) == 1
    t.expire(T0 + 591)
    assert len(t) == 0 and t.expired == 2


def test_size_limit_evicts_least_recently_seen():
    t, now = FlowTable(50), T0
    for i in range(50):
        t.add(key(6 if i % 2 else 17, i), True, now)
        now += 2
    first = t.get(key(17, 0), now)  # touched: now the most recent
    assert first is not None
    for i in range(50, 5000):
        t.add(key(6 if i % 2 else 17, i), True, now)
        now += 2
        assert len(t) <= 50
    assert t.evicted == 4950
    assert t.get(key(6, 4999), now) is not None and t.get(key(6, 1), now) is None
    assert first[0] == 0  # an evicted flow is marked, so the fast path no longer uses it


def packet(pk, kind, **kw):
    return pk.geneve(pk.inner_packets()[kind], **kw)


def make_handler(doc=None, size=8):
    lines = []
    h = Handler(policy.from_dict(doc or {}), FlowTable(size), lines.append, lambda: 1.7e9)
    return h, lines


def counts(h):
    return {n: v for n, v in zip(COUNTERS, h.counters, strict=True) if v}


def test_handler_logs_once_per_flow_and_counts(pk):
    h, lines = make_handler()
    buf = packet(pk, "v4_tcp")
    for i in range(3):
        assert h.handle(buf, T0 + i) is True  # slow path, fast path, slow path after 1 s
    assert h.handle(memoryview(bytearray(buf)), T0 + 2.5) is True
    assert len(lines) == 1
    assert lines[0] == (
        "2023-11-14T22:13:20.000Z gwlbe=0123456789abcdef attachment=1122334455667788"
        " cookie=cafef00d proto=tcp src=10.1.0.5 sport=40000 dst=198.18.0.9 dport=443"
        " dir=outbound verdict=allow rule=default\n"
    )
    assert counts(h) == {"received": 4, "created": 1}


def test_every_kind_is_allowed_twice_and_logged_once(pk):
    h, lines = make_handler(size=100)
    for kind in pk.inner_packets():
        buf = packet(pk, kind)
        assert h.handle(buf, T0) is True and h.handle(buf, T0) is True, kind
    assert len(lines) == len(pk.inner_packets())
    assert any("proto=icmpv6 src=fd00::5 sport=128 dst=2001:db8::9 dport=0" in x for x in lines)


def test_handler_drops_by_policy_and_reply_follows_flow_verdict(pk):
    rule = {"name": "no-in-ssh", "action": "drop", "direction": "inbound", "protocol": "tcp"}
    h, lines = make_handler({"rules": [dict(rule, dst_ports=22)]})
    inbound = pk.geneve(IP(src="203.0.113.7", dst="10.0.0.4") / TCP(sport=5555, dport=22))
    outbound = pk.geneve(IP(src="10.0.0.4", dst="203.0.113.7") / TCP(sport=22, dport=5555))
    assert h.handle(inbound, T0) is False
    assert h.handle(inbound, T0) is False  # fast path
    assert h.handle(outbound, T0) is False  # the reply of a dropped flow is dropped too
    assert "verdict=drop rule=no-in-ssh" in lines[0] and len(lines) == 1
    assert counts(h)["policy"] == 3


def test_handler_counts_malformed_and_survives_internal_errors(pk):
    h, _ = make_handler()
    assert h.handle(b"", T0) is False
    assert h.handle(b"\x00" * 5, T0) is False
    assert h.handle(b"\x00" * 9000, T0) is False
    h.policy = None  # any exception inside the decision must be caught and counted
    assert h.handle(packet(pk, "v6_udp"), T0) is False
    assert h.handle(build(b"", 0x0800, aws_options(1, 2, 3)), T0) is False
    assert counts(h) == {
        "received": 5,
        "geneve_too_short": 2,
        "oversized": 1,
        "error": 1,
        "inner_too_short": 1,
    }


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_fast_path_agrees_with_full_parse(pk, data):
    """A packet mutated from one whose flow is cached: same verdict and counts with or
    without the fast path (which must never accept what the full parse would reject)."""
    kind = data.draw(st.sampled_from(["v4_tcp", "v4_udp", "v6_tcp", "v6_udp"]))
    good = packet(pk, kind)
    buf = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    buf = bytes(buf[: data.draw(st.integers(0, len(buf)))] + data.draw(st.binary(max_size=8)))
    results = []
    for fast in (True, False):
        h, lines = make_handler(size=100)
        h.handle(good, T0)
        if not fast:
            h.fast.clear()
        results.append((h.handle(buf, T0 + 0.5), counts(h), lines))
    assert results[0] == results[1]

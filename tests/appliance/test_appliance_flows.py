"""Flow table expiry and bounds (injected clock), and the handler's per-flow decisions and log."""

from appliance import geneve, policy
from appliance.flows import FlowTable, flow_key
from appliance.handler import COUNTERS, Handler


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def key(proto, sport):
    return flow_key(b"E" * 8, proto, b"\x0a\0\0\x01", sport, b"\x0a\0\0\x02", 80)[0]


def test_key_is_the_same_both_ways():
    a = flow_key(b"e", 6, b"\x0a\0\0\x09", 1234, b"\x0a\0\0\x02", 80)
    b = flow_key(b"e", 6, b"\x0a\0\0\x02", 80, b"\x0a\0\0\x09", 1234)
    assert a[0] == b[0] and a[1] != b[1]


def test_idle_expiry_tcp_350_udp_120():
    clock = Clock()
    t = FlowTable(100, clock)
    t.add(key(6, 1), True)
    t.add(key(17, 1), True)
    clock.t += 119
    assert t.get(key(17, 1)) is not None
    clock.t += 119 + 2  # 121 s since the UDP flow was last seen
    assert t.get(key(17, 1)) is None
    assert t.get(key(6, 1)) is not None  # 240 s old, refreshed now
    clock.t += 349
    assert t.expire() == 0 and len(t) == 1
    clock.t += 2
    assert t.expire() == 1 and len(t) == 0
    assert t.expired == 2


def test_size_limit_evicts_least_recently_seen():
    clock = Clock()
    t = FlowTable(50, clock)
    for i in range(50):
        t.add(key(6 if i % 2 else 17, i), True)
        clock.t += 2
    assert t.get(key(17, 0)) is not None  # touched: now the most recent
    for i in range(50, 5000):
        t.add(key(6 if i % 2 else 17, i), True)
        clock.t += 2
        assert len(t) <= 50
    assert t.evicted == 4950
    assert t.get(key(6, 4999)) is not None and t.get(key(6, 1)) is None


def packet(pk, kind, **kw):
    return pk.geneve(pk.inner_packets()[kind], **kw)


def make_handler(doc=None):
    lines = []
    clock = Clock()
    h = Handler(policy.from_dict(doc or {}), FlowTable(8, clock), lines.append, lambda: 1.7e9)
    return h, lines, clock


def counts(h):
    return {n: v for n, v in zip(COUNTERS, h.counters, strict=True) if v}


def test_handler_logs_once_per_flow_and_counts(pk):
    h, lines, clock = make_handler()
    buf = packet(pk, "v4_tcp")
    for _ in range(3):
        assert h.handle(buf, clock()) is True
    assert len(lines) == 1
    assert lines[0] == (
        "2023-11-14T22:13:20.000Z gwlbe=0123456789abcdef attachment=1122334455667788"
        " cookie=cafef00d proto=tcp src=10.1.0.5 sport=40000 dst=198.18.0.9 dport=443"
        " dir=outbound verdict=allow rule=default\n"
    )
    assert counts(h) == {"received": 3, "flows_created": 1}


def test_handler_drops_by_policy_and_reply_follows_flow_verdict(pk):
    from scapy.all import IP, TCP

    h, lines, clock = make_handler(
        {
            "rules": [
                {
                    "name": "no-in-ssh",
                    "action": "drop",
                    "direction": "inbound",
                    "protocol": "tcp",
                    "dst_ports": 22,
                }
            ]
        }
    )
    inbound = pk.geneve(IP(src="203.0.113.7", dst="10.0.0.4") / TCP(sport=5555, dport=22))
    outbound = pk.geneve(IP(src="10.0.0.4", dst="203.0.113.7") / TCP(sport=22, dport=5555))
    assert h.handle(inbound, clock()) is False
    assert h.handle(outbound, clock()) is False  # the reply of a dropped flow is dropped too
    assert "verdict=drop rule=no-in-ssh" in lines[0] and len(lines) == 1
    assert counts(h)["dropped_policy"] == 2


def test_handler_counts_malformed_and_survives_internal_errors(pk):
    h, _, clock = make_handler()
    assert h.handle(b"\x00" * 5, clock()) is False
    assert h.handle(b"\x00" * 9000, clock()) is False
    h.policy = None  # any exception inside the decision must be caught and counted
    assert h.handle(packet(pk, "v6_udp"), clock()) is False
    assert h.handle(geneve.build(b"", 0x0800, geneve.aws_options(1, 2, 3)), clock()) is False
    assert counts(h) == {
        "received": 4,
        "malformed_geneve_too_short": 1,
        "malformed_oversized": 1,
        "dropped_error": 1,
        "malformed_inner_too_short": 1,
    }

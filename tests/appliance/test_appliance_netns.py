"""The appliance in a network namespace, driven from a second namespace that plays GWLB."""

import json
import os
import random
import signal
import socket
import time

import pytest
from scapy.all import IP, TCP, UDP, Ether, IPOption_Router_Alert, raw
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt

from lab import geneve, metrics_text, netns

HEALTH = 8080
TABLE = 64
WORKERS = 2
POLICY = {
    "rules": [
        {"name": "no-telnet", "action": "drop", "protocol": "tcp", "dst_ports": 23},
        {"name": "no-test-net", "action": "drop", "protocol": "udp", "dst": "198.51.100.0/24"},
    ]
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("appliance")
    (tmp / "policy.json").write_text(json.dumps(POLICY))
    h = netns.Harness().up()
    proc = None
    try:
        proc = h.start_appliance(
            "--workers",
            str(WORKERS),
            "--policy",
            str(tmp / "policy.json"),
            "--flow-log",
            str(tmp / "flows.log"),
            "--flow-table-size",
            str(TABLE),
            health_port=HEALTH,
        )
        h.proc, h.flow_log = proc, tmp / "flows.log"
        h.rx = h.udp(h.gw_ns, 6081)
        h.tx = h.udp(h.gw_ns)
        yield h
    finally:
        if proc is not None:
            netns.stop(proc)
        h.down()


def drain(sock):
    sock.settimeout(0.05)
    try:
        while True:
            sock.recvfrom(65535)
    except OSError:
        pass


def exchange(h, packets, expect=True, tx=None, wait=1.0):
    """Send packets to the appliance; return what came back to the GWLB's 6081 socket."""
    tx = tx or h.tx
    drain(h.rx)
    for p in packets:
        tx.sendto(p, (h.app_ip, 6081))
    got = []
    h.rx.settimeout(wait)
    deadline = time.monotonic() + (wait if expect else 0.5)
    while time.monotonic() < deadline and len(got) < len(packets):
        try:
            got.append(h.rx.recvfrom(65535))
        except OSError:
            break
    return got


def metrics(h, quiet=False):
    if quiet:  # let workers publish what earlier tests sent (they do so every 0.25 s)
        time.sleep(0.35)
    return metrics_text.parse(h.http_get(HEALTH, "/metrics")[1], strip="gwlb_appliance_")


def settle(h, received):
    """Wait until the workers have published at least `received` packets (tick is 0.25 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        m = metrics(h)
        if m["packets_received_total"] >= received:
            return m
        time.sleep(0.1)
    raise AssertionError(f"counters stuck at {m['packets_received_total']} < {received}")


def ours(inner, extra=()):
    proto = 0x86DD if isinstance(inner, IPv6) else 0x0800
    opts = geneve.aws_options(0x0123456789ABCDEF, 0x1122334455667788, 0xCAFEF00D)
    return geneve.build(raw(inner), proto, opts + tuple(extra))


KINDS = ["v4_tcp", "v4_udp", "v4_icmp", "v4_opts_tcp", "v6_tcp", "v6_udp", "v6_icmp", "v6_ext_tcp"]


@pytest.mark.parametrize("builder", ["scapy", "ours"])
def test_returns_every_kind_byte_exact_to_sender_port(env, pk, builder):
    inners = pk.inner_packets()
    unknown = (0x0777, 0x7F, b"tlv-data")
    if builder == "scapy":
        extra = [pk.GeneveOptions(classid=unknown[0], type=unknown[1], data=unknown[2])]
        packets = [pk.geneve(inners[k], extra) for k in KINDS]
    else:
        packets = [ours(inners[k], [unknown]) for k in KINDS]
    got = exchange(env, packets)
    sport = env.tx.getsockname()[1]
    assert sorted(d for d, _ in got) == sorted(packets)
    assert {a for _, a in got} == {(env.app_ip, sport)}


def test_outer_header_as_gwlb_expects(env, pk):
    """Capture the reply on the GWLB side's wire: swapped IPs, ports, TTL, DF, lengths and
    checksums (the IPv4 one filled in by the kernel; UDP's zero, or correct if set)."""
    with env.inside(env.gw_ns):
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    with cap:
        cap.settimeout(0.5)
        pkt = ours(pk.inner_packets()["v6_udp"])
        assert exchange(env, [pkt])
        frames = []
        try:
            while len(frames) < 50:
                frames.append(Ether(cap.recv(65535)))
        except OSError:
            pass
    replies = [f[IP] for f in frames if IP in f and f[IP].src == env.app_ip]
    assert replies, "no reply seen on the wire"
    r = replies[0]
    assert (r.dst, r[UDP].sport, r[UDP].dport) == (env.gw_ip, env.tx.getsockname()[1], 6081)
    assert (r.ttl, r.flags, r.ihl, r.proto) == (64, "DF", 5, 17)
    assert (r.len, r[UDP].len) == (28 + len(pkt), 8 + len(pkt))
    assert bytes(r[UDP].payload) == pkt
    check = IP(raw(r))
    del check.chksum, check[UDP].chksum
    check = IP(raw(check))
    assert r.chksum == check.chksum
    assert r[UDP].chksum in (0, check[UDP].chksum)


def test_outer_ip_options_and_large_packet_still_return(env, pk):
    tx = env.udp(env.gw_ns)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x01\x01\x01\x00")  # NOP NOP NOP EOL
    pkt = ours(pk.inner_packets()["v4_udp"])
    assert [d for d, _ in exchange(env, [pkt], tx=tx)] == [pkt]
    big = ours(IP(src="10.1.0.5", dst="198.18.0.9") / UDP(sport=7, dport=9) / (b"J" * 8800))
    assert [d for d, _ in exchange(env, [big])] == [big]


def test_policy_drops_really_drop(env, pk):
    before = metrics(env, quiet=True)
    dropped = [
        ours(IP(src="10.1.0.5", dst="198.18.0.9") / TCP(sport=41000, dport=23)),
        pk.geneve(
            IP(src="10.1.0.5", dst="198.18.0.9", options=[IPOption_Router_Alert()])
            / TCP(sport=41001, dport=23)
        ),
        ours(IPv6(src="fd00::5", dst="2001:db8::9") / IPv6ExtHdrDestOpt() / TCP(dport=23)),
        ours(IP(src="10.1.0.5", dst="198.51.100.7") / UDP(sport=41002, dport=53)),
    ]
    assert exchange(env, dropped, expect=False) == []
    m = settle(env, before["packets_received_total"] + len(dropped))
    key = 'packets_dropped_total{reason="policy"}'
    assert m[key] - before[key] == len(dropped)
    allowed = ours(IP(src="10.1.0.5", dst="198.51.101.7") / UDP(sport=41002, dport=53))
    assert [d for d, _ in exchange(env, [allowed])] == [allowed]


def corpus(pk):
    """Malformed datagrams, each with the reason our metrics must give (None: any reason)."""
    good = ours(pk.inner_packets()["v4_tcp"])  # 40-byte Geneve header + 40-byte IPv4/TCP
    items = []
    for k in range(len(good)):
        reason = (
            "geneve_too_short"
            if k < 8
            else "geneve_option_overrun"
            if k < 40
            else "inner_too_short"
            if k < 60
            else "inner_truncated"
        )
        items.append((good[:k], reason))
    inner = raw(pk.inner_packets()["v4_tcp"])
    aws = geneve.aws_options(1, 2, 3)
    bad_ihl = bytearray(inner)
    bad_ihl[0] = 0x43
    overrun = bytearray(good)
    overrun[8 + 24 + 3] = 9
    v6_chain = raw(IPv6(src="fd00::1", dst="fd00::2", nh=0, plen=8) / (b"\x3c\x05" + b"\0" * 6))
    items += [
        (geneve.build(inner, 0x0800, aws, version=1), "geneve_bad_version"),
        (geneve.build(inner, 0x6558, aws), "geneve_bad_protocol"),
        (bytes(overrun), "geneve_option_overrun"),
        (geneve.build(inner, 0x0800, aws[:2]), "geneve_missing_aws_option"),
        (
            geneve.build(inner, 0x0800, ((0x0108, 2, b"\0" * 4),) + aws[::2]),
            "geneve_bad_aws_option",
        ),
        (geneve.build(inner, 0x0800, aws) + b"\0" * 9500, "oversized"),
        (geneve.build(bytes(bad_ihl), 0x0800, aws), "inner_bad_header"),
        (geneve.build(inner, 0x86DD, aws), "inner_bad_version"),
        (geneve.build(v6_chain, 0x86DD, aws), "inner_bad_header"),
    ]
    rnd = random.Random(2)
    items += [(rnd.randbytes(rnd.randrange(1, 300)), None) for _ in range(100)]
    return items


def test_malformed_corpus_counted_by_reason_and_good_still_return(env, pk):
    items = corpus(pk)
    before = metrics(env, quiet=True)
    got = []
    for i in range(0, len(items), 20):  # small bursts: no receive-queue overflow muddles counts
        got += exchange(env, [d for d, _ in items[i : i + 20]], expect=False, wait=0.1)
    assert got == []
    m = settle(env, before["packets_received_total"] + len(items))
    delta = {k: m[k] - before.get(k, 0) for k in m}
    expected = {}
    for _, reason in items:
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
    for reason, n in expected.items():
        assert delta[f'malformed_total{{reason="{reason}"}}'] >= n, reason
    assert delta['packets_dropped_total{reason="malformed"}'] == len(items)
    assert delta['packets_dropped_total{reason="error"}'] == 0
    assert delta["packets_returned_total"] == 0
    good = [ours(i) for i in pk.inner_packets().values()]
    assert sorted(d for d, _ in exchange(env, good)) == sorted(good)


def test_flow_log_has_one_line_per_flow(env):
    inner = IP(src="10.7.7.7", dst="198.18.5.5") / TCP(sport=45678, dport=8080)
    assert len(exchange(env, [ours(inner)] * 3)) == 3
    deadline = time.monotonic() + 3
    lines = []
    while time.monotonic() < deadline and not lines:
        text = env.flow_log.read_text() if env.flow_log.exists() else ""
        lines = [x for x in text.splitlines() if "src=10.7.7.7 sport=45678" in x]
        time.sleep(0.1)
    assert len(lines) == 1
    assert "gwlbe=0123456789abcdef" in lines[0] and "proto=tcp" in lines[0]
    assert "dst=198.18.5.5 dport=8080" in lines[0] and "verdict=allow" in lines[0]


def test_more_flows_than_table_stays_bounded(env):
    before = metrics(env, quiet=True)
    n = TABLE * 10
    packets = [
        ours(IP(src="10.3.0.1", dst="198.18.0.1") / UDP(sport=10000 + i, dport=53))
        for i in range(n)
    ]
    got = []
    for i in range(0, n, 64):
        got += exchange(env, packets[i : i + 64])
    assert len(got) == n
    m = settle(env, before["packets_received_total"] + n)
    assert m["flows_active"] <= TABLE * WORKERS
    assert m["flows_evicted_total"] - before["flows_evicted_total"] >= n - TABLE * WORKERS


def test_health_503_while_a_worker_is_dead_then_200(env, pk):
    assert env.http_get(HEALTH, "/health") == (200, "ok\n")
    workers = netns.children(env.proc.pid)
    assert len(workers) == WORKERS
    os.kill(workers[0], signal.SIGKILL)
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and 503 not in seen:
        seen.append(env.http_get(HEALTH, "/health")[0])
        time.sleep(0.05)
    assert 503 in seen
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and env.http_get(HEALTH, "/health")[0] != 200:
        time.sleep(0.1)
    assert env.http_get(HEALTH, "/health") == (200, "ok\n")
    assert metrics(env)["worker_restarts_total"] >= 1
    assert workers[0] not in netns.children(env.proc.pid)
    good = [ours(i) for i in pk.inner_packets().values()]
    assert sorted(d for d, _ in exchange(env, good)) == sorted(good)


def test_half_open_health_clients_stall_neither_health_nor_packets(env, pk):
    """Clients that connect and send nothing (or half a request) hold no one else up."""
    idle = []
    try:
        for i in range(20):
            with env.inside(env.gw_ns):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(3)
            s.connect((env.app_ip, HEALTH))
            if i % 2:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: a")  # never finished
            idle.append(s)
        assert env.http_get(HEALTH, "/health", timeout=2) == (200, "ok\n")
        good = [ours(i) for i in pk.inner_packets().values()]
        assert sorted(d for d, _ in exchange(env, good)) == sorted(good)
    finally:
        for s in idle:
            s.close()

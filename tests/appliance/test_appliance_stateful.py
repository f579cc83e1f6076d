"""The stateful semantics in a network namespace, two workers, under a default-drop,
allow-outbound policy: replies on other outer ports, mid-stream pickup, ICMP, RFC 8926 drops,
a new-flow flood against the bounded flow log, SIGHUP reload and a killed worker (send
failures and the restart gap: test_appliance_reload.py)."""

import json
import os
import signal
import threading
import time

import pytest
from scapy.all import ICMP, IP, TCP, UDP, raw

from lab import geneve, metrics_text, netns

HEALTH = 8081
WORKERS = 2
INSIDE, OUTSIDE, ROUTER = "10.1.0.5", "198.18.0.9", "192.0.2.1"
POLICY = {
    "default": "drop",
    "rules": [
        {"name": "no-smtp", "action": "drop", "protocol": "tcp", "dst_ports": 25},
        {"name": "out", "action": "allow", "direction": "outbound"},
    ],
}
PORTS = 12  # outer source ports the GWLB side sends from: with two workers, some hash to each


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("stateful")
    (tmp / "policy.json").write_text(json.dumps(POLICY))
    h = netns.Harness("s").up()
    h.tmp, h.flow_log, h.stderr = tmp, tmp / "flows.log", tmp / "stderr.log"
    h.args = (
        "--workers", str(WORKERS), "--policy", str(tmp / "policy.json"),
        "--flow-log", str(h.flow_log), "--flow-table-size", "4096",
    )  # fmt: skip
    h.proc = None
    try:
        start(h)
        h.rx = h.udp(h.gw_ns, 6081)
        h.txs = [h.udp(h.gw_ns) for _ in range(PORTS)]
        yield h
    finally:
        if h.proc is not None:
            netns.stop(h.proc)
        h.down()


def start(h):
    with open(h.stderr, "a") as err:
        h.proc = h.start_appliance(*h.args, health_port=HEALTH, stderr=err)


def gen(inner, options=(), **kw):
    opts = geneve.aws_options(0x0123456789ABCDEF, 0x1122334455667788, 0xCAFEF00D)
    return geneve.build(raw(inner), 0x0800, opts + tuple(options), **kw)


def send(h, packets, port=0, wait=0.6):
    """Send each packet from outer port number `port` (an index into h.txs; None: each from
    the next port in turn); return the packets that came back."""
    h.rx.settimeout(0.02)
    try:
        while True:
            h.rx.recv(65535)
    except OSError:
        pass
    for n, p in enumerate(packets):
        h.txs[n % PORTS if port is None else port].sendto(p, (h.app_ip, 6081))
    got, deadline = [], time.monotonic() + wait
    h.rx.settimeout(wait)
    while time.monotonic() < deadline and len(got) < len(packets):
        try:
            got.append(h.rx.recv(65535))
        except OSError:
            break
    return got


def metrics(h, settle=0.35):
    time.sleep(settle)  # workers publish every 0.25 s
    return metrics_text.parse(h.http_get(HEALTH, "/metrics")[1], strip="gwlb_appliance_")


def log_lines(h, needle):
    time.sleep(0.35)
    text = h.flow_log.read_text() if h.flow_log.exists() else ""
    return [x for x in text.splitlines() if needle in x]


def out_in(sport, dport, proto=TCP, inside=INSIDE, **kw):
    return (
        IP(src=inside, dst=OUTSIDE) / proto(sport=sport, dport=dport, **kw),
        IP(src=OUTSIDE, dst=inside) / proto(sport=dport, dport=sport, **kw),
    )


def test_ping_out_and_back_on_every_outer_port(env):
    req = gen(IP(src=INSIDE, dst=OUTSIDE) / ICMP(type=8, id=77, seq=1))
    assert send(env, [req], port=0) == [req]
    replies = [gen(IP(src=OUTSIDE, dst=INSIDE) / ICMP(type=0, id=77, seq=s)) for s in range(PORTS)]
    assert sorted(send(env, replies, port=None)) == sorted(replies)


def test_tcp_handshake_with_replies_on_other_outer_ports_is_one_flow(env):
    before = metrics(env)
    syn = gen(IP(src=INSIDE, dst=OUTSIDE) / TCP(sport=41000, dport=443, flags="S"))
    assert send(env, [syn], port=0) == [syn]
    synacks = [
        gen(IP(src=OUTSIDE, dst=INSIDE) / TCP(sport=443, dport=41000, flags="SA", seq=s))
        for s in range(PORTS)
    ]
    assert sorted(send(env, synacks, port=None)) == sorted(synacks)
    after = metrics(env)
    # One worker saw every packet: a second would have opened a second (mid-stream) flow.
    assert after["flows_created_total"] - before["flows_created_total"] == 1


def test_udp_answers_on_other_outer_ports_and_unsolicited_inbound_dropped(env):
    out, back = out_in(5353, 53, UDP)
    assert send(env, [gen(out / b"q")], port=3)
    answers = [gen(back / bytes([65 + n])) for n in range(PORTS)]
    assert sorted(send(env, answers, port=None)) == sorted(answers)
    unsolicited = [
        gen(IP(src=OUTSIDE, dst=INSIDE) / TCP(sport=5555, dport=22, flags="S")),
        gen(IP(src=OUTSIDE, dst=INSIDE) / UDP(sport=53, dport=5399) / b"x"),
        gen(IP(src=OUTSIDE, dst=INSIDE) / ICMP(type=8, id=5)),
    ]
    assert send(env, unsolicited, port=None, wait=0.4) == []


def test_flow_picked_up_from_the_inside_only(env):
    out, back = out_in(41001, 443, flags="PA")
    assert send(env, [gen(back)], port=5, wait=0.4) == []  # judged inbound: dropped
    assert send(env, [gen(out)], port=0) == [gen(out)]  # judged outbound: picked up
    assert send(env, [gen(back)], port=5) == [gen(back)]
    lines = log_lines(env, "sport=41001")
    assert len(lines) == 1 and "dir=outbound verdict=allow" in lines[0]
    assert lines[0].endswith("start=midstream")


def test_icmp_error_about_an_allowed_flow_passes(env):
    out, _ = out_in(5400, 53, UDP)
    sent = out / b"query"
    assert send(env, [gen(sent)], port=1)
    errors = [
        gen(IP(src=ROUTER, dst=INSIDE) / ICMP(type=3, code=4) / raw(sent)[:28]),
        gen(IP(src=OUTSIDE, dst=INSIDE) / ICMP(type=3, code=3) / raw(sent)[:28]),
    ]
    assert sorted(send(env, errors, port=None)) == sorted(errors)
    unknown = IP(src=INSIDE, dst=OUTSIDE) / UDP(sport=5401, dport=53)
    stray = [gen(IP(src=ROUTER, dst=INSIDE) / ICMP(type=3) / raw(unknown)[:28])]
    assert send(env, stray, port=2, wait=0.4) == []


def test_critical_option_and_control_packets_are_dropped_and_counted(env):
    before = metrics(env)
    inner = IP(src=INSIDE, dst=OUTSIDE) / UDP(sport=5500, dport=53)
    bad = [
        gen(inner, [(0x0ABC, 0x80, b"\0" * 4)], flags=0x40),
        gen(inner, [(0x0108, 0x99, b"\0" * 4)]),
        gen(inner, flags=0x80),
    ]
    assert send(env, bad, port=None, wait=0.4) == []
    after = metrics(env)
    key = 'malformed_total{reason="geneve_critical_option"}'
    assert after[key] - before[key] == 2
    key = 'malformed_total{reason="geneve_control"}'
    assert after[key] - before[key] == 1
    assert send(env, [gen(inner)], port=0) == [gen(inner)]  # the same flow, unharmed


def test_new_flow_flood_keeps_the_log_bounded_and_health_up(env):
    """20,000 new flows through the GWLB side's ports: flow lines stay near the rate limit,
    the rest are counted and summarised, and /health answers 200 all along (unless the queue
    overflowed: then 503 is right)."""
    before = metrics(env)
    size_before = env.flow_log.stat().st_size if env.flow_log.exists() else 0
    health, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            health.append(env.http_get(HEALTH, "/health")[0])
            time.sleep(0.1)

    poller = threading.Thread(target=poll)
    poller.start()
    template = bytearray(gen(IP(src="10.9.0.1", dst=OUTSIDE) / UDP(sport=1, dport=1)))
    assert template[60:64] == b"\0\x01\0\x01"  # the inner UDP ports, after 40 + 20 bytes

    def flow(i):  # a new flow per packet (the appliance does not check UDP checksums)
        template[60:64] = (10000 + i // 4).to_bytes(2, "big") + (i % 4 + 1).to_bytes(2, "big")
        return bytes(template)

    began = time.monotonic()
    try:
        for burst in range(0, 20000, 200):
            send(env, [flow(i) for i in range(burst, burst + 200)], port=None, wait=0.02)
        elapsed = time.monotonic() - began
        after = metrics(env, settle=1.2)  # one more summary line a worker
    finally:
        stop.set()
        poller.join()
    created = after["flows_created_total"] - before["flows_created_total"]
    suppressed = after["flow_log_suppressed_total"] - before["flow_log_suppressed_total"]
    lines = log_lines(env, "src=10.9.0.1")
    summaries = log_lines(env, "flow-log suppressed=")
    assert created > 5000  # most reach the appliance (a burst may overflow a busy queue)
    assert suppressed > 0 and suppressed + len(lines) == created
    assert len(lines) <= WORKERS * 50 * (elapsed + 2)
    lost = after['packets_dropped_total{reason="queue"}']
    lost -= before['packets_dropped_total{reason="queue"}']
    # 200 all along, unless the kernel dropped enough at a full queue to call it overload.
    assert summaries and set(health) == {200} or lost >= 50
    grown = env.flow_log.stat().st_size - size_before
    print(f"\nflood: {created:.0f} flows in {elapsed:.1f} s, log grew {grown} bytes")
    assert grown < 200 * len(lines) + 200 * len(summaries)


def test_sighup_reloads_and_a_bad_policy_keeps_the_old_one(env):
    out, back = out_in(5600, 53, UDP)
    assert send(env, [gen(out)], port=0) and send(env, [gen(back)], port=4)
    policy = env.tmp / "policy.json"
    policy.write_text(json.dumps({"default": "drop"}))
    os.kill(env.proc.pid, signal.SIGHUP)
    time.sleep(0.6)
    assert send(env, [gen(back)], port=4, wait=0.4) == []  # the known flow is judged again
    policy.write_text('{"rules": [{"action": "permit"}]}')
    os.kill(env.proc.pid, signal.SIGHUP)
    time.sleep(0.6)
    assert send(env, [gen(back)], port=4, wait=0.4) == []  # still the drop-all policy
    assert "policy reload failed" in env.stderr.read_text()
    assert "action must be" in env.stderr.read_text()
    policy.write_text(json.dumps(POLICY))
    os.kill(env.proc.pid, signal.SIGHUP)
    time.sleep(0.6)
    assert send(env, [gen(out)], port=0) == [gen(out)]  # the dropped flow was forgotten
    assert send(env, [gen(back)], port=4) == [gen(back)]
    m = metrics(env)
    assert m["policy_reloads_total"] == 2 and m["worker_restarts_total"] == 0


def test_workers_close_the_health_socket_they_inherit(env):
    with open(f"/proc/{env.proc.pid}/net/tcp") as f:
        rows = [line.split() for line in f.read().splitlines()[1:]]
    inode = next(r[9] for r in rows if r[1].endswith(f":{HEALTH:04X}") and r[3] == "0A")
    workers = netns.children(env.proc.pid)
    assert len(workers) == WORKERS
    assert holds(env.proc.pid, inode) and not any(holds(w, inode) for w in workers)


def holds(pid, inode):
    fds = f"/proc/{pid}/fd"
    return any(os.readlink(f"{fds}/{fd}") == f"socket:[{inode}]" for fd in os.listdir(fds))


def test_a_killed_worker_s_flows_keep_passing(env):
    # Many inside hosts: workers are chosen by addresses, so both get a share.
    tcp = [out_in(42000, 443, inside=f"10.1.1.{i + 1}", flags="A") for i in range(40)]
    udp = [out_in(43000, 53, UDP, inside=f"10.1.2.{i + 1}") for i in range(40)]
    opened = [gen(o) for o, _ in tcp + udp]
    assert len(send(env, opened, port=None)) == len(opened)
    before = metrics(env)
    supervisor = env.proc.pid  # `ip netns exec` execs into the appliance
    victim = netns.children(supervisor)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and victim in netns.children(supervisor):
        time.sleep(0.05)
    time.sleep(0.5)
    # TCP: the inside's next ACK is picked up mid-stream where the worker forgot the flow; the
    # servers' packets then pass.
    assert len(send(env, [gen(o) for o, _ in tcp], port=None)) == len(tcp)
    replies = [gen(b) for _, b in tcp]
    assert sorted(send(env, replies, port=None)) == sorted(replies)
    # UDP: the inside's next packet opens the flow again where the worker forgot it.
    assert len(send(env, [gen(o) for o, _ in udp], port=None)) == len(udp)
    answers = [gen(b) for _, b in udp]
    assert sorted(send(env, answers, port=None)) == sorted(answers)
    after = metrics(env)
    assert after["worker_restarts_total"] - before["worker_restarts_total"] == 1
    # Only the dead worker's flows were judged again, not the other worker's.
    assert 0 < after["flows_created_total"] - before["flows_created_total"] < len(opened)

"""Issue 14 in a network namespace, two workers: the workers run exactly the policy the
supervisor validated even when the file changes in between; fragments that arrive before their
first one still pass; kernel queue drops show in /metrics and turn /health 503."""

import json
import os
import signal
import time

import pytest
from scapy.all import IP, TCP, UDP, raw

from lab import geneve, metrics_text, netns

HEALTH, SHALLOW_HEALTH, SHALLOW_PORT = 8082, 8083, 6082
INSIDE, OUTSIDE = "10.1.0.5", "198.18.0.9"
OUTBOUND = {"default": "drop", "rules": [{"action": "allow", "direction": "outbound"}]}
INBOUND_SSH = {
    "default": "drop",
    "rules": [
        {"name": "ssh-in", "action": "allow", "protocol": "tcp", "dst_ports": 22},
        {"action": "allow", "direction": "outbound"},
    ],
}
QUEUE = 65536  # bytes: a shallow queue, so that a stopped worker overflows it


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("reload")
    h = netns.Harness("r").up()
    h.policy, h.stderr = tmp / "policy.json", tmp / "stderr.log"
    h.policy.write_text(json.dumps(OUTBOUND))
    h.proc = None
    try:
        with open(h.stderr, "a") as err:
            h.proc = h.start_appliance(
                "--workers", "2", "--policy", str(h.policy), "--flow-log", str(tmp / "f.log"),
                health_port=HEALTH, stderr=err,
            )  # fmt: skip
        h.rx, h.tx = h.udp(h.gw_ns, 6081), h.udp(h.gw_ns)
        yield h
    finally:
        if h.proc is not None:
            netns.stop(h.proc)
        h.down()


def gen(inner):
    opts = geneve.aws_options(0x0123456789ABCDEF, 0x1122334455667788, 0xCAFEF00D)
    return geneve.build(raw(inner), 0x0800, opts)


def send(h, packets, wait=0.5):
    h.rx.settimeout(0.02)
    try:
        while True:
            h.rx.recv(65535)
    except OSError:
        pass
    for p in packets:
        h.tx.sendto(p, (h.app_ip, 6081))
    got, deadline = [], time.monotonic() + wait
    h.rx.settimeout(wait)
    while time.monotonic() < deadline and len(got) < len(packets):
        try:
            got.append(h.rx.recv(65535))
        except OSError:
            break
    return got


def test_finding5_workers_run_the_document_the_supervisor_checked(env):
    """SIGHUP with a policy that lets SSH in; the moment the supervisor has checked it, the file
    changes to one that does not. Both workers (hosts hashed to each) let SSH in: they hold the
    checked document, not whatever the file says when they get to it."""
    env.policy.write_text(json.dumps(INBOUND_SSH))
    before = env.stderr.read_text().count("policy reloaded")
    os.kill(env.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while env.stderr.read_text().count("policy reloaded") == before:
        assert time.monotonic() < deadline, "the supervisor never reloaded"
        time.sleep(0.002)
    env.policy.write_text(json.dumps(OUTBOUND))
    time.sleep(0.7)  # every worker has ticked at least twice since
    syns = [
        gen(IP(src=OUTSIDE, dst=f"10.1.3.{n}") / TCP(sport=50000, dport=22, flags="S"))
        for n in range(1, 9)  # addresses that the steering spreads over both workers
    ]
    assert sorted(send(env, syns)) == sorted(syns)
    os.kill(env.proc.pid, signal.SIGHUP)  # back to outbound only, for the next tests
    time.sleep(0.7)
    assert send(env, [syns[0]], wait=0.3) == []


def test_finding7_a_fragment_sent_before_its_first_still_passes(env):
    whole = raw(IP(src=INSIDE, dst=OUTSIDE, id=4242) / UDP(sport=6000, dport=53) / (b"f" * 40))
    body = whole[20:]
    first = IP(src=INSIDE, dst=OUTSIDE, id=4242, flags="MF", proto=17) / body[:16]
    second = IP(src=INSIDE, dst=OUTSIDE, id=4242, flags="MF", frag=2, proto=17) / body[16:32]
    third = IP(src=INSIDE, dst=OUTSIDE, id=4242, frag=4, proto=17) / body[32:]
    packets = [gen(third), gen(first), gen(second)]
    assert sorted(send(env, packets)) == sorted(packets)


def test_finding8_kernel_queue_drops_show_and_fail_health(env):
    """A second appliance with a shallow queue (its own Geneve port): its stopped workers'
    queues overflow; the drops are counted per worker in /metrics and /health answers 503 until
    the window has passed."""
    proc = env.start_appliance(
        "--workers", "2", "--allow-all", "--geneve-port", str(SHALLOW_PORT),
        "--receive-buffer", str(QUEUE), health_port=SHALLOW_HEALTH,
    )  # fmt: skip
    try:
        overflow(env, proc)
    finally:
        netns.stop(proc)


def overflow(env, proc):
    def metrics():
        time.sleep(0.35)
        text = env.http_get(SHALLOW_HEALTH, "/metrics")[1]
        return metrics_text.parse(text, strip="gwlb_appliance_")

    assert env.http_get(SHALLOW_HEALTH, "/health")[0] == 200
    before = metrics()
    pkt = gen(IP(src=INSIDE, dst=OUTSIDE) / UDP(sport=6100, dport=53) / (b"d" * 400))
    workers = netns.children(proc.pid)
    for w in workers:
        os.kill(w, signal.SIGSTOP)
    try:
        for _ in range(3000):
            env.tx.sendto(pkt, (env.app_ip, SHALLOW_PORT))
    finally:
        for w in workers:
            os.kill(w, signal.SIGCONT)
    codes, deadline = [], time.monotonic() + 3
    while time.monotonic() < deadline and 503 not in codes:
        codes.append(env.http_get(SHALLOW_HEALTH, "/health")[0])
        time.sleep(0.1)
    after = metrics()
    drops = sum(v for k, v in after.items() if k.startswith("queue_drops_total"))
    drops -= sum(v for k, v in before.items() if k.startswith("queue_drops_total"))
    received = after["packets_received_total"] - before["packets_received_total"]
    assert drops > 1000 and received < 3000 and 503 in codes
    assert after['packets_dropped_total{reason="queue"}'] >= drops
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and env.http_get(SHALLOW_HEALTH, "/health")[0] != 200:
        time.sleep(0.2)
    assert env.http_get(SHALLOW_HEALTH, "/health") == (200, "ok\n")

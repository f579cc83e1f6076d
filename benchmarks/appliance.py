"""Appliance packets/s and CPU per packet on Python 3.9 with the shipped bundle, against a UDP
echo on the same interpreter, for four traffic shapes.

Run as root: `python -m benchmarks.appliance` (`make bench-appliance`). Traffic stays inside two
private namespaces. The appliance is `generator.bundle.build()` unpacked to a temporary
directory and run by the bare Python 3.9 interpreter, as on Amazon Linux 2023.

Cases (1 worker; a 2-worker run of the cached case too):

* echo: a plain Python UDP echo, one receive and one send per packet: the ceiling;
* cached: 1,024 IPv4 TCP flows cycled, every packet after the first of a flow on the fast path;
* storm: every packet a new IPv4 UDP flow (65,536 flows cycled through a 4,096-flow table),
  so every packet is judged by RULES_20 (a 20-rule policy: admin ports, blocklisted prefixes
  of any protocol, DNS and NTP rules, allow outbound last), and the flow log is rate-limited;
* full parse: 64 IPv6 TCP flows with a destination-options header (IPv6 never takes the fast
  path, so this is the full Geneve and inner parse on every packet);
* cached, batched: the cached case through benchmarks/batching.py's recvmmsg/sendmmsg loop
  around the shipped handler, which is not shipped: what batching would buy.

Then the reload gap: one worker holding 65,536 flows, a 100-rule policy; a steady stream of
one cached flow (a packet every millisecond) while SIGHUP reloads the policy; the longest
silence between returned packets in the second around the reload.

Every case is measured the same way: one load generator sends pre-built Geneve packets for a
fixed time, a counter on the GWLB side counts what comes back to its port 6081 (until 0.5 s
after the generator stops), and the user+system CPU time of the server processes is read from
/proc. Two figures per case: returned packets/s, and server CPU microseconds per returned
packet, the fair cost figure on a small machine where the generator and the server compete.
"server busy" (pkt/s times CPU per packet) well below 1 CPU means the generator, not the
server, limited that round. With 2 or more CPUs, 1-worker servers are pinned to the last CPU.
Cases alternate within each round, so a noisy moment hits them all alike; each round prints
the load averages, and the summary gives min-max and median over rounds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scapy.all import IP, TCP, UDP, raw
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt

from benchmarks import batching
from benchmarks.policies import RULES_20
from benchmarks.reload_gap import reload_gap
from generator import bundle
from lab import netns
from lab.geneve import aws_options, build

ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("0.0.0.0", 6081))
back = (sys.argv[1], 6081)
buf = bytearray(65535)
recvfrom_into, sendto = s.recvfrom_into, s.sendto
while True:
    n, _ = recvfrom_into(buf)
    sendto(buf[:n], back)
"""
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU = {CPUS[-1]} if len(CPUS) > 1 else None
CLIENT_CPUS = set(CPUS[:-1]) if len(CPUS) > 1 else None
OPTS = aws_options(0x0123456789ABCDEF, 0x1122334455667788, 0xCAFEF00D)
PAYLOAD = b"x" * 200


def _pin(cpus) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)


def cached_packets() -> list[bytes]:
    return [
        build(
            raw(
                IP(src=f"10.1.{i // 250}.{i % 250 + 1}", dst="198.18.0.9")
                / TCP(sport=20000 + i, dport=443, flags="A")
                / PAYLOAD
            ),
            0x0800,
            OPTS,
        )
        for i in range(1024)
    ]


def storm_packets() -> list[bytes]:
    """65,536 distinct UDP flows: one packet built, its source port rewritten."""
    template = bytearray(
        build(
            raw(IP(src="10.2.0.1", dst="198.18.0.9") / UDP(sport=1, dport=53) / PAYLOAD),
            0x0800,
            OPTS,
        )
    )
    out = []
    for i in range(65536):
        template[60:62] = i.to_bytes(2, "big")  # inner UDP source port (after 40 + 20 bytes)
        out.append(bytes(template))
    return out


def full_parse_packets() -> list[bytes]:
    return [
        build(
            raw(
                IPv6(src=f"fd00::{i + 1:x}", dst="2001:db8::9")
                / IPv6ExtHdrDestOpt()
                / TCP(sport=30000 + i, dport=443, flags="A")
                / PAYLOAD
            ),
            0x86DD,
            OPTS,
        )
        for i in range(64)
    ]


def _blast(socks, packets, dest, until):
    _pin(CLIENT_CPUS)
    i, k, n = 0, len(socks), len(packets)
    while time.monotonic() < until:
        for _ in range(64):
            socks[i % k].sendto(packets[i % n], dest)
            i += 1


def _count(sock, total, stop):
    _pin(CLIENT_CPUS)
    buf = bytearray(65535)
    sock.settimeout(0.2)
    recv, n = sock.recv_into, 0
    while not stop.is_set():
        try:
            while True:
                recv(buf)
                n += 1
        except OSError:
            pass
    total.value = n


def cpu_seconds(pids) -> tuple[float, float]:
    """(user, system) CPU seconds of the processes."""
    user = system = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]), system + int(fields[12])
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def measure(h, duration: float, server_pids, packets) -> tuple[float, float, float]:
    """Blast for `duration` s; returned packets/s, and the server's CPU microseconds per
    returned packet, in total and in the kernel."""
    ctx = multiprocessing.get_context("fork")
    rx = h.udp(h.gw_ns, 6081)
    socks = [h.udp(h.gw_ns) for _ in range(16)]
    total, stop = ctx.Value("q", 0), ctx.Event()
    counter = ctx.Process(target=_count, args=(rx, total, stop))
    counter.start()
    cpu0 = cpu_seconds(server_pids)
    start = time.monotonic()
    gen = ctx.Process(target=_blast, args=(socks, packets, (h.app_ip, 6081), start + duration))
    gen.start()
    gen.join(duration + 10)
    elapsed = time.monotonic() - start
    time.sleep(0.5)  # let in-flight replies land
    user, system = (b - a for a, b in zip(cpu0, cpu_seconds(server_pids)))  # noqa: B905
    stop.set()
    counter.join(5)
    for s in socks + [rx]:
        s.close()
    n = total.value
    per = 1e6 / n if n else float("inf")
    return n / elapsed, (user + system) * per, system * per


ECHO_CASE = "echo (ceiling)"
BATCHED_CASE = "cached, batched (not shipped)"
CASES = {  # name -> (packets, workers, extra appliance flags); workers 0: the echo
    ECHO_CASE: ("cached", 0, ()),
    "cached flows": ("cached", 1, ()),
    "new-flow storm (20 rules)": ("storm", 1, ("--flow-table-size", "4096", "--policy", "R20")),
    "full parse (IPv6)": ("full", 1, ()),
    "cached flows, 2 workers": ("cached", 2, ()),
    # workers -1: benchmarks/batching.py's loop around the shipped handler (not shipped)
    BATCHED_CASE: ("cached", -1, ()),
}


def run_case(h, python, case, packets, duration) -> tuple[float, float, float]:
    kind, workers, extra = CASES[case]
    pin = {"preexec_fn": lambda: _pin(SERVER_CPU)} if workers < 2 else {}
    if workers < 1:
        code = (ECHO, h.gw_ip) if workers == 0 else (batching.SERVER,)
        proc = h.popen(h.app_ns, [python, "-c", *code], **pin)
        time.sleep(0.5)
        pids = [proc.pid]
    else:
        extra = tuple(str(h.rules_20) if x == "R20" else x for x in extra)
        args = ("--workers", str(workers), "--flow-log", "-", *extra)
        args = args if "--policy" in extra else (*args, "--allow-all")
        proc = h.start_appliance(*args, stdout=subprocess.DEVNULL, **pin)
        pids = netns.children(proc.pid)
    try:
        return measure(h, duration, pids, packets[kind])
    finally:
        netns.stop(proc)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def spread(values) -> str:
    return f"{min(values):,.0f}-{max(values):,.0f} (median {statistics.median(values):,.0f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=4.0, help="seconds per case and round (4)")
    p.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    p.add_argument("--case", action="append", choices=list(CASES), help="only these (all)")
    args = p.parse_args(argv)
    cases = [c for c in CASES if not args.case or c in args.case or c == ECHO_CASE]
    why = netns.unavailable()
    python = bundle.find_target_python()
    if why or python is None:
        print(f"error: {why or 'no Python 3.9 found (pyenv prefix 3.9.18)'}", file=sys.stderr)
        return 1
    packets = {"cached": cached_packets(), "storm": storm_packets(), "full": full_parse_packets()}
    results = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="gwlb-bench-") as tmp:
        bundle.extract(Path(tmp), python=python)  # the one-liner, as on the instance
        netns.APPLIANCE_PATH, netns.APPLIANCE_PYTHON = tmp, python
        h = netns.Harness("b").up()
        h.rules_20 = Path(tmp, "rules20.json")
        h.rules_20.write_text(json.dumps(RULES_20))
        print(f"{python}, bundle {tmp}; cpus {CPUS}, 1-worker servers pinned to {SERVER_CPU};")
        print(f"{args.duration:g} s per case and round")
        try:
            for r in range(args.rounds):
                print(f"round {r + 1}: load average {loadavg()}")
                for case in cases:
                    pps, us, kernel = run_case(h, python, case, packets, args.duration)
                    results[case].append((pps, us))
                    print(
                        f"  {case:26} {pps:9,.0f} pkt/s {us:5.1f} us/pkt ({kernel:4.1f} in the"
                        f" kernel), busy {pps * us / 1e6:.2f} CPU"
                    )
            print(f"reload gap: load average {loadavg()}")
            gaps = [reload_gap(h, Path(tmp), storm_packets()) for _ in range(args.rounds)]
        finally:
            h.down()
    print(f"after: load average {loadavg()}")
    echo = results[ECHO_CASE]
    head = ("case", "returned pkt/s: min-max (median)", "CPU us/pkt", "x echo pkt/s", "x echo CPU")
    print(f"{head[0]:26} {head[1]:>36} {head[2]:>16} {head[3]:>16} {head[4]:>14}")
    for case, got in results.items():
        pps, us = [g[0] for g in got], [g[1] for g in got]
        # Per round against that round's echo, so the ratios share their noisy moment.
        x_pps = [a[0] / e[0] for a, e in zip(got, echo)]  # noqa: B905 (equal lengths)
        x_cpu = [e[1] / a[1] for a, e in zip(got, echo)]  # noqa: B905
        cpu = f"{min(us):.1f}-{max(us):.1f} ({statistics.median(us):.1f})"
        x = f"{min(x_pps):.2f}-{max(x_pps):.2f} ({statistics.median(x_pps):.2f})"
        print(f"{case:26} {spread(pps):>36} {cpu:>16} {x:>16} {statistics.median(x_cpu):14.2f}")
    ms = [g[0] * 1000 for g in gaps]
    print(
        f"reload gap, 65,536 flows x 100 rules: longest silence {min(ms):.0f}-{max(ms):.0f} ms"
        f" (median {statistics.median(ms):.0f}); flows held {[g[1] for g in gaps]};"
        f" /health codes seen {sorted({c for g in gaps for c in g[2]})}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

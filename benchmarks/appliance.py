"""Returned packets/s of the appliance (1 and 2 workers) against a plain Python UDP echo ceiling.

Run as root: `python -m benchmarks.appliance`. Traffic stays inside two private namespaces.

Every path is measured the same way: one load generator blasts pre-built Geneve packets for a
fixed time, and a counter on the GWLB side counts what comes back to its port 6081 (until 0.5 s
after the generator stops). Two numbers per path:

* returned pkt/s: what the GWLB side received, divided by the sending time;
* server CPU us/pkt: user+system CPU time of the echo or of the appliance's workers, divided by
  the packets returned. This is the fair cost figure on a small machine, where the load
  generator and the server compete for the same cores. "server busy" (pkt/s times CPU per
  packet) below 0.9 CPU for the pinned echo or 1-worker run means the server was not saturated:
  the load generator (or a noisy neighbour) limited that round's pkt/s.

With two or more CPUs, the echo and the 1-worker appliance are pinned to the last CPU and the
generator and counter to the others, so the server has a core to itself; the 2-worker run is
not pinned (its workers share the machine with the generator).
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

from scapy.all import IP, TCP, raw

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


def _pin(cpus) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)


def _blast(socks, packets, dest, until):
    _pin(CLIENT_CPUS)
    i, k = 0, len(socks)
    while time.monotonic() < until:
        for _ in range(64):
            socks[i].sendto(packets[i], dest)
            i = (i + 1) % k


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


def cpu_seconds(pids) -> tuple:
    """(user, system) CPU seconds of the processes."""
    user = system = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]), system + int(fields[12])
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def measure(h, duration: float, server_pids, flows: int = 16, size: int = 200) -> tuple:
    """Blast for `duration` s; return returned packets/s and the server's user and system CPU
    microseconds per returned packet."""
    ctx = multiprocessing.get_context("fork")
    rx = h.udp(h.gw_ns, 6081)
    socks = [h.udp(h.gw_ns) for _ in range(flows)]
    opts = aws_options(0x0123456789ABCDEF, 0x1122334455667788, 0xCAFEF00D)
    packets = [
        build(
            raw(
                IP(src="10.1.0.5", dst="198.18.0.9")
                / TCP(sport=20000 + i, dport=443)
                / (b"x" * size)
            ),
            0x0800,
            opts,
        )
        for i in range(flows)
    ]
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
    user, system = (b - a for a, b in zip(cpu0, cpu_seconds(server_pids), strict=True))
    stop.set()
    counter.join(5)
    for s in socks + [rx]:
        s.close()
    n = total.value
    per = 1e6 / n if n else float("inf")
    return n / elapsed, user * per, system * per


ECHO_PATH, ONE, TWO = "python udp echo (ceiling)", "appliance, 1 worker", "appliance, 2 workers"


def run_path(h, name, duration, size) -> tuple:
    pin = {"preexec_fn": lambda: _pin(SERVER_CPU)}
    if name == ECHO_PATH:
        proc = h.popen(h.app_ns, [sys.executable, "-c", ECHO, h.gw_ip], **pin)
        time.sleep(0.5)
        pids = [proc.pid]
    else:
        workers = "1" if name == ONE else "2"
        kw = pin if name == ONE else {}
        proc = h.start_appliance(
            "--workers", workers, "--flow-log", "-", stdout=subprocess.DEVNULL, **kw
        )
        pids = netns.children(proc.pid)
    try:
        return measure(h, duration, pids, size=size)
    finally:
        netns.stop(proc)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (5)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported (3)")
    p.add_argument("--size", type=int, default=200, help="inner TCP payload bytes (200)")
    args = p.parse_args(argv)
    why = netns.unavailable()
    if why:
        print(f"benchmark skipped: {why}", file=sys.stderr)
        return 1
    h = netns.Harness("b").up()
    runs = {ECHO_PATH: [], ONE: [], TWO: []}
    print(f"cpus {CPUS}, server pinned to {SERVER_CPU}, {args.duration:g} s per path and round")
    try:
        for r in range(args.rounds):  # paths alternate, so a noisy moment hits them all alike
            for name, got in runs.items():
                got.append(run_path(h, name, args.duration, args.size))
                pps, user, system = got[-1]
                busy = pps * (user + system) / 1e6
                print(
                    f"round {r + 1}: {name:28} {pps:9,.0f} pkt/s {user + system:6.1f} us/pkt,"
                    f" server busy {busy:.2f} CPU"
                )
    finally:
        h.down()
    median = {
        name: [statistics.median(col) for col in zip(*got, strict=True)]
        for name, got in runs.items()
    }
    ceiling, one = median[ECHO_PATH][0], median[ONE][0]
    head = ("median", "returned pkt/s", "x echo", "x 1 worker", "CPU us/pkt (user+sys)")
    print("{:28} {:>15} {:>7} {:>11} {:>22}".format(*head))
    for name, (pps, user, system) in median.items():
        cpu = f"{user + system:.1f} ({user:.1f}+{system:.1f})"
        print(f"{name:28} {pps:15,.0f} {pps / ceiling:7.2f} {pps / one:11.2f} {cpu:>22}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Returned packets/s of the appliance (1 and 2 workers) against a plain Python UDP echo ceiling.

Run as root: `python -m benchmarks.appliance`. Traffic stays inside two private namespaces.
"""

import argparse
import multiprocessing
import subprocess
import sys
import time

from scapy.all import IP, TCP, raw

from appliance import geneve
from benchmarks import netns

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


def _blast(socks, packets, dest, until, limit):
    n, i, k = 0, 0, len(socks)
    while n < limit and time.monotonic() < until:
        for _ in range(64):
            socks[i].sendto(packets[i], dest)
            i = (i + 1) % k
        n += 64


def _count(sock, total, stop):
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


def measure(h, duration: float, flows: int = 16) -> float:
    """Blast pre-built Geneve packets for `duration` s; return packets/s that came back."""
    ctx = multiprocessing.get_context("fork")
    rx = h.udp(h.gw_ns, 6081)
    socks = [h.udp(h.gw_ns) for _ in range(flows)]
    opts = geneve.aws_options(0x0123456789ABCDEF, 0x1122334455667788, 0xCAFEF00D)
    packets = [
        geneve.build(
            raw(
                IP(src="10.1.0.5", dst="198.18.0.9")
                / TCP(sport=20000 + i, dport=443)
                / (b"x" * 200)
            ),
            geneve.PROTO_IPV4,
            opts,
        )
        for i in range(flows)
    ]
    total, stop = ctx.Value("q", 0), ctx.Event()
    counter = ctx.Process(target=_count, args=(rx, total, stop))
    counter.start()
    start = time.monotonic()
    gen = ctx.Process(
        target=_blast, args=(socks, packets, (h.app_ip, 6081), start + duration, 5_000_000)
    )
    gen.start()
    gen.join(duration + 10)
    elapsed = time.monotonic() - start
    time.sleep(0.5)  # let in-flight replies land
    stop.set()
    counter.join(5)
    for s in socks + [rx]:
        s.close()
    return total.value / elapsed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (5)")
    args = p.parse_args(argv)
    why = netns.unavailable()
    if why:
        print(f"benchmark skipped: {why}", file=sys.stderr)
        return 1
    h = netns.Harness("b").up()
    results = {}
    try:
        echo = h.popen(h.app_ns, [sys.executable, "-c", ECHO, h.gw_ip])
        time.sleep(0.5)
        try:
            results["python udp echo (ceiling)"] = measure(h, args.duration)
        finally:
            netns.stop(echo)
        for workers in (1, 2):
            proc = h.start_appliance(
                "--workers", str(workers), "--flow-log", "-", stdout=subprocess.DEVNULL
            )
            try:
                results[f"appliance, {workers} worker(s)"] = measure(h, args.duration)
            finally:
                netns.stop(proc)
    finally:
        h.down()
    ceiling = results["python udp echo (ceiling)"]
    one = results["appliance, 1 worker(s)"]
    print(f"{'path':32} {'returned pkt/s':>15} {'x echo':>8} {'x 1 worker':>11}")
    for name, pps in results.items():
        print(f"{name:32} {pps:15,.0f} {pps / ceiling:8.2f} {pps / one:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

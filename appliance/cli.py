"""Command line and supervisor: parse flags, check the policy, start and watch the workers, and
serve /health and /metrics from a thread of this process, apart from the data plane.
"""

import argparse
import multiprocessing
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from signal import SIGINT, SIGTERM, signal

from . import worker
from .packet import REASONS
from .policy import PolicyError, from_dict, load
from .worker import COUNTERS

RESTART_DELAY = 1.0  # keeps /health at 503 long enough to be seen, and throttles crash loops
HUNG_AFTER = 10.0  # a live worker whose loop has not turned for this long is killed
STALE = 3.0  # /health fails when a worker's loop has not turned for this long


class State:
    """Worker liveness (kept by the supervisor) plus the workers' shared counters and beats."""

    def __init__(self, shared, beats):
        self.shared, self.beats = shared, beats
        self.alive = [False] * len(beats)
        self.restarts = 0

    def healthy(self):
        now = time.monotonic()
        return all(self.alive) and all(now - b < STALE for b in self.beats)

    def metrics(self):
        """Prometheus text format, summed over the workers."""
        s, n = self.shared[:], len(COUNTERS)
        t = {name: int(sum(s[i::n])) for i, name in enumerate(COUNTERS)}
        dropped = {"malformed": sum(t[r] for r in REASONS)}
        dropped.update((k, t[k]) for k in ("policy", "error", "send_error"))
        out = []
        for name, value in (
            ("packets_received_total", t["received"]),
            ("packets_returned_total", t["returned"]),
            ("packets_dropped_total", dropped),
            ("malformed_total", {r: t[r] for r in REASONS}),
            ("flows_active", t["active"]),
            ("flows_created_total", t["created"]),
            ("flows_evicted_total", t["evicted"]),
            ("flows_expired_total", t["expired"]),
            ("workers", len(self.alive)),
            ("workers_alive", sum(self.alive)),
            ("worker_restarts_total", self.restarts),
            ("healthy", int(self.healthy())),
        ):
            kind = "counter" if name.endswith("_total") else "gauge"
            name = "gwlb_appliance_" + name
            out.append(f"# TYPE {name} {kind}\n")
            if isinstance(value, dict):
                out += (f'{name}{{reason="{k}"}} {v}\n' for k, v in value.items())
            else:
                out.append(f"{name} {value}\n")
        return "".join(out)


class Health(BaseHTTPRequestHandler):
    timeout = 5  # a slow or half-open client costs one thread for 5 s, never the data path
    state: State

    def do_GET(self):  # noqa: N802 (http.server naming)
        path = self.path.split("?")[0]
        if path == "/metrics":
            code, body = 200, self.state.metrics()
        elif path == "/health":
            code, body = (200, "ok\n") if self.state.healthy() else (503, "unhealthy\n")
        else:
            code, body = 404, "not found\n"
        # Written directly rather than with send_response, which logs every request to stderr.
        self.wfile.write(
            f"HTTP/1.0 {code} {self.responses[code][0]}\r\nContent-Type: text/plain; version=0.0.4"
            f"\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
        )


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m appliance", description="GWLB Geneve appliance")
    add = p.add_argument
    add("--geneve-port", type=int, default=6081, help="UDP port for Geneve (6081)")
    add("--health-port", type=int, default=80, help="HTTP port of /health, /metrics (80)")
    add("--health-address", default="0.0.0.0", help="HTTP address (all)")
    add("--workers", type=int, default=os.cpu_count() or 1, help="processes (CPU count)")
    add("--policy", help="JSON policy file (default: allow all)")
    add("--flow-log", default="-", help="flow log file, or - for stdout (-)")
    add("--flow-table-size", type=int, default=65536, help="flows per worker (65536)")
    add("--check-policy", action="store_true", help="check --policy and exit")
    args = p.parse_args(argv)
    if args.workers < 1 or args.flow_table_size < 1:
        p.error("--workers and --flow-table-size must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        policy = load(args.policy) if args.policy else from_dict({})
    except PolicyError as e:
        print(f"gwlb-appliance: policy error: {e}", file=sys.stderr)
        return 2
    if args.check_policy:
        print(f"policy ok: {len(policy.rules)} rule(s), default {policy.default}")
        return 0
    n = args.workers
    ctx = multiprocessing.get_context("fork")
    shared, beats = ctx.RawArray("d", n * len(COUNTERS)), ctx.RawArray("d", n)
    state = State(shared, beats)
    try:
        server = ThreadingHTTPServer(
            (args.health_address, args.health_port), type("H", (Health,), {"state": state})
        )
    except OSError as e:
        print(f"gwlb-appliance: health port {args.health_port}: {e}", file=sys.stderr)
        return 1
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = []
    for sig in (SIGTERM, SIGINT):
        signal(sig, lambda *_: stop.append(1))
    procs = [None] * n

    def start(i):
        beats[i] = 0.0  # no beat yet: unhealthy, but not hung
        procs[i] = ctx.Process(
            target=worker.run, args=(i, args, policy, shared, beats), daemon=True
        )
        procs[i].start()
        state.alive[i] = True

    for i in range(n):
        start(i)
    try:
        while not stop:
            for i, proc in enumerate(procs):
                if not proc.is_alive():
                    state.alive[i] = False
                    print(f"gwlb-appliance: worker {i} exited ({proc.exitcode})", file=sys.stderr)
                    time.sleep(RESTART_DELAY)  # /health answers 503 meanwhile
                    state.restarts += 1
                    start(i)
                elif beats[i] and time.monotonic() - beats[i] > HUNG_AFTER:
                    proc.kill()
            time.sleep(0.1)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(2)
            proc.kill()
        server.shutdown()
    return 0

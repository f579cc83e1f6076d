"""Command line: parse flags, validate the policy, start and supervise workers, serve health."""
# ruff: noqa: UP045  -- runs on Python 3.9, where X | None fails when annotations are evaluated

import argparse
import multiprocessing
import os
import signal
import sys
import time
from typing import Optional

from . import __version__, health, worker
from .handler import COUNTERS
from .policy import Policy, PolicyError, load

RESTART_DELAY = 1.0  # keeps /health at 503 long enough to be seen, and throttles crash loops
HUNG_AFTER = 10.0  # a live worker whose loop stopped turning this long is killed and restarted


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python3 -m appliance",
        description="GWLB Geneve inspection appliance (see docs/appliance.md).",
    )
    p.add_argument("--geneve-port", type=int, default=6081, help="UDP port for Geneve (6081)")
    p.add_argument("--health-port", type=int, default=80, help="HTTP port for /health, /metrics")
    p.add_argument("--health-address", default="0.0.0.0", help="HTTP bind address (0.0.0.0)")
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes (CPU count)"
    )
    p.add_argument("--policy", help="JSON policy file (default: allow everything)")
    p.add_argument("--flow-log", default="-", help="flow log file, or - for stdout (-)")
    p.add_argument(
        "--flow-table-size", type=int, default=65536, help="flows kept per worker (65536)"
    )
    p.add_argument("--check-policy", action="store_true", help="validate --policy and exit")
    p.add_argument("--version", action="version", version=__version__)
    args = p.parse_args(argv)
    if args.workers < 1 or args.flow_table_size < 1:
        p.error("--workers and --flow-table-size must be at least 1")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    try:
        policy = load(args.policy) if args.policy else Policy([])
    except PolicyError as e:
        print(f"gwlb-appliance: policy error: {e}", file=sys.stderr)
        return 2
    if args.check_policy:
        print(f"policy ok: {len(policy.rules)} rule(s), default {policy.default}")
        return 0
    n = args.workers
    ctx = multiprocessing.get_context("fork")
    shared = ctx.RawArray("d", n * len(COUNTERS))
    beats = ctx.RawArray("d", n)
    state = health.State(n, shared, beats)
    try:
        server = health.serve(state, args.health_address, args.health_port)
    except OSError as e:
        print(
            f"gwlb-appliance: cannot serve health on port {args.health_port}: {e}", file=sys.stderr
        )
        return 1
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    procs: list = [None] * n
    dead_since = [0.0] * n

    def start(i: int) -> None:
        procs[i] = ctx.Process(
            target=worker.run,
            args=(i, args, policy, shared, beats),
            name=f"worker-{i}",
            daemon=True,
        )
        procs[i].start()
        state.alive[i] = True

    for i in range(n):
        start(i)
    try:
        while not stop:
            now = time.monotonic()
            for i, proc in enumerate(procs):
                if proc.is_alive():
                    if beats[i] and now - beats[i] > HUNG_AFTER:
                        proc.kill()
                    continue
                if state.alive[i]:
                    state.alive[i] = False
                    beats[i] = 0.0
                    dead_since[i] = now
                    proc.join(0)
                    print(f"gwlb-appliance: worker {i} exited ({proc.exitcode})", file=sys.stderr)
                elif now - dead_since[i] >= RESTART_DELAY:
                    state.restarts += 1
                    start(i)
            time.sleep(0.1)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(2)
            if proc.is_alive():
                proc.kill()
        server.shutdown()
    return 0

"""Command line and supervisor: parse flags, check the policy, open every socket and drop the
capabilities, start and watch the workers, hand them the policy it validated on SIGHUP, rotate
the flow log, and serve /health and /metrics from a thread of this process, apart from the data
plane.
"""

import argparse
import multiprocessing
import os
import sys
import threading
import time
from argparse import ArgumentDefaultsHelpFormatter as HelpFormatter
from http.server import ThreadingHTTPServer
from signal import SIGHUP, SIGINT, SIGTERM, signal

from . import receiver
from .handler import COUNTERS
from .health import Health, State
from .policy import PolicyError, parse, read
from .privilege import drop_capabilities
from .share import PolicyBox

RESTART_DELAY = 0.2  # throttles a crash loop; the worker's socket queues packets meanwhile
HUNG_AFTER = 10.0  # a live worker whose loop has not turned for this long is killed
ALLOW_ALL = b'{"default": "allow"}'


def parse_args(argv):
    # Help says what; the formatter adds each default (user data is short of bytes for prose).
    p = argparse.ArgumentParser("python3 -m appliance", formatter_class=HelpFormatter)
    add = p.add_argument
    add("--geneve-port", type=int, default=6081, help="UDP port")
    add("--health-port", type=int, default=80, help="HTTP /health, /metrics")
    add("--health-address", default="0.0.0.0", help="its address")
    add("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--policy", help="JSON policy file; SIGHUP reloads it")
    which.add_argument("--allow-all", action="store_true", help="no policy: pass everything")
    add("--flow-log", default="-", help="file, or - for stdout")
    add("--flow-log-rate", type=float, default=50, help="lines/s per worker")
    add("--flow-log-max-bytes", type=int, default=64 << 20, help="rotation size")
    add("--flow-table-size", type=int, default=65536, help="flows per worker")
    add("--receive-buffer", type=int, default=8 << 20, help="socket queue, bytes")
    add("--tcp-idle", type=float, default=350, help="TCP idle timeout, s")
    add("--udp-idle", type=float, default=120, help="other idle timeout, s")
    add("--check-policy", action="store_true", help="check the policy and exit")
    args = p.parse_args(argv)
    if min(args.workers, args.flow_table_size, args.flow_log_max_bytes) < 1:
        p.error("--workers, --flow-table-size and --flow-log-max-bytes must be at least 1")
    if min(args.flow_log_rate, args.tcp_idle, args.udp_idle, args.receive_buffer) < 0:
        p.error("--flow-log-rate, --tcp-idle, --udp-idle and --receive-buffer must be >= 0")
    return args


def say(text):
    print(f"gwlb-appliance: {text}", file=sys.stderr, flush=True)


def summary(policy):
    return f"{len(policy.rules)} rule(s), default {policy.default}"


def document(args: argparse.Namespace) -> tuple:
    """(bytes, compiled policy): what the workers will be handed. Raises PolicyError."""
    data = read(args.policy) if args.policy else ALLOW_ALL
    return data, parse(data, args.policy or "--allow-all")


def rotate(path, limit):
    """Move the flow log aside once it passes limit bytes; workers open it per write, so the
    next write starts a new file. One old file is kept: at most about twice limit on disk."""
    try:
        if os.stat(path).st_size > limit:
            os.replace(path, path + ".1")
    except OSError:
        pass


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        data, policy = document(args)
    except PolicyError as e:
        say(f"policy error: {e}")
        return 2
    if args.check_policy:
        print(f"policy ok: {summary(policy)}")
        return 0
    n = args.workers
    ctx = multiprocessing.get_context("fork")
    shared, beats = ctx.RawArray("d", n * len(COUNTERS)), ctx.RawArray("d", n)
    try:
        box = PolicyBox(ctx, data)
    except ValueError as e:
        say(f"policy error: {e}")
        return 2
    try:
        server = ThreadingHTTPServer(
            (args.health_address, args.health_port), type("H", (Health,), {"state": None})
        )
        socks = receiver.geneve_sockets(args.geneve_port, n, args.receive_buffer)
        raws = [receiver.raw_socket() for _ in range(n)]
    except OSError as e:
        say(f"cannot listen: {e}")
        return 1
    try:  # before any thread or worker exists: capset changes only the calling thread
        drop_capabilities()
    except OSError as e:
        say(f"{e.strerror}: {os.strerror(e.errno)}")
        return 1
    state = server.RequestHandlerClass.state = State(shared, beats, socks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    events = []
    for sig in (SIGTERM, SIGINT, SIGHUP):
        signal(sig, lambda number, _: events.append(number))
    procs = [None] * n
    gen = box.seq.value // 2

    def start(i):
        beats[i] = 0.0  # no beat yet: unhealthy, but not hung
        mine = (socks[i].fileno(), raws[i].fileno())
        others = [server.fileno()] + [s.fileno() for s in socks + raws if s.fileno() not in mine]
        procs[i] = ctx.Process(
            target=receiver.run,
            args=(i, socks[i], raws[i], args, policy, gen, box, shared, beats, others),
            daemon=True,
        )
        procs[i].start()
        state.alive[i] = True

    for i in range(n):
        start(i)
    second = time.monotonic()
    try:
        while SIGTERM not in events and SIGINT not in events:
            if SIGHUP in events:
                events.remove(SIGHUP)
                try:
                    new, compiled = document(args) if args.policy else (data, policy)
                    gen = box.put(new)
                except (PolicyError, ValueError) as e:
                    say(f"policy reload failed, the old policy stays: {e}")
                else:
                    data, policy = new, compiled
                    state.reloads += 1
                    say(f"policy reloaded: {summary(policy)}")
            for i, proc in enumerate(procs):
                if not proc.is_alive():
                    state.alive[i] = False
                    say(f"worker {i} exited ({proc.exitcode})")
                    time.sleep(RESTART_DELAY)
                    state.restarts += 1
                    start(i)
                elif beats[i] and time.monotonic() - beats[i] > HUNG_AFTER:
                    proc.kill()
            if time.monotonic() - second >= 1:
                second = time.monotonic()
                state.sample()
                if args.flow_log != "-":
                    rotate(args.flow_log, args.flow_log_max_bytes)
            time.sleep(0.05)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(1)
            proc.kill()
        server.server_close()
    return 0

"""Health and metrics: worker liveness, heartbeats, send failures and receive-queue drops from
shared memory and the kernel, served as /health and Prometheus /metrics by a thread of the
supervisor."""

import os
import time
from collections import deque
from http.server import BaseHTTPRequestHandler

from .handler import COUNTERS
from .packet import REASONS

STALE = 3.0  # /health fails when a worker's loop has not turned for this long
SEND_WINDOW = 5  # samples (one a second) over which send failures are judged
SEND_FAILURES = 20  # failed sends in the window, and more of them than successes, fail health
# Overload: in the window, at least DROPS_MIN datagrams dropped by the kernel because a worker's
# queue was full, and more than DROPS_SHARE of what reached that worker's socket.
DROPS_MIN, DROPS_SHARE = 50, 0.05
# Metric names that other tools read (the lab, operate's smoke test): named once, here.
PREFIX = "gwlb_appliance_"
RECEIVED, RETURNED, CREATED = (
    "packets_received_total",
    "packets_returned_total",
    "flows_created_total",
)
# /ready answers 200 once this many health checks from outside the host were answered healthy:
# the target group's healthy threshold, so the readiness signal waits for the GWLB's verdict.
READY_AFTER = 2


def queue_drops(inodes: list, table: str = "/proc/self/net/udp") -> list:
    """The kernel's drop count of each socket (by inode) in our network namespace's UDP table."""
    found = dict.fromkeys(inodes, 0)
    try:
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 12 and int(cols[9]) in found:
                    found[int(cols[9])] = int(cols[12])
    except (OSError, ValueError):
        pass
    return [found[i] for i in inodes]


class State:
    """What the supervisor knows: liveness per worker, the workers' shared counters and
    heartbeats (their loop times), and their sockets' queue drops."""

    def __init__(self, shared, beats, socks=()):
        self.shared, self.beats = shared, beats
        self.inodes = [os.fstat(s.fileno()).st_ino for s in socks]
        self.drops = [0] * len(self.inodes)
        self.alive = [False] * len(beats)
        self.failing = [False] * len(beats)  # most sends failed over the recent window
        self.overloaded = [False] * len(beats)  # the kernel dropped much of its queue
        self.restarts = self.reloads = self.checked = 0
        self.samples = deque(maxlen=SEND_WINDOW + 1)
        # New sockets, no counts yet: drops before the first sample count in the first window.
        self.samples.append(([0.0] * len(shared), self.drops))

    def sample(self):
        """Once a second: judge each worker's sends and queue over the last SEND_WINDOW s."""
        n, ok, bad = len(COUNTERS), COUNTERS.index("returned"), COUNTERS.index("send_error")
        got = COUNTERS.index("received")
        if self.inodes:
            self.drops = queue_drops(self.inodes)
        self.samples.append((self.shared[:], self.drops))
        (old, old_drops), (new, new_drops) = self.samples[0], self.samples[-1]
        for w in range(len(self.beats)):
            sent, failed, received = (new[w * n + i] - old[w * n + i] for i in (ok, bad, got))
            self.failing[w] = failed >= SEND_FAILURES and failed > sent
            if self.inodes:
                lost = new_drops[w] - old_drops[w]
                self.overloaded[w] = lost >= DROPS_MIN and lost > DROPS_SHARE * (received + lost)

    def healthy(self):
        now = time.monotonic()
        fresh = all(now - b < STALE for b in self.beats)
        return all(self.alive) and fresh and not any(self.failing) and not any(self.overloaded)

    def metrics(self):
        """Prometheus text format, summed over the workers."""
        s, n = self.shared[:], len(COUNTERS)
        t = {name: int(sum(s[i::n])) for i, name in enumerate(COUNTERS)}
        dropped = {"malformed": sum(t[r] for r in REASONS)}
        dropped.update((k, t[k]) for k in ("policy", "invalid", "error", "send_error"))
        dropped["queue"] = sum(self.drops)
        out = []
        for name, value in (
            (RECEIVED, t["received"]),
            (RETURNED, t["returned"]),
            ("packets_dropped_total", dropped),
            ("malformed_total", {r: t[r] for r in REASONS}),
            ("flows_active", t["active"]),
            (CREATED, t["created"]),
            ("flows_denied_total", t["denied"]),
            ("flows_evicted_total", t["evicted"]),
            ("flows_expired_total", t["expired"]),
            ("flow_log_suppressed_total", t["log_suppressed"]),
            ("fragments_held_total", t["fragments_held"]),
            ("fragments_lost_total", t["fragments_lost"]),
            ("queue_drops_total", {str(w): v for w, v in enumerate(self.drops)}),
            ("workers", len(self.alive)),
            ("workers_alive", sum(self.alive)),
            ("workers_send_failing", sum(self.failing)),
            ("workers_overloaded", sum(self.overloaded)),
            ("worker_restarts_total", self.restarts),
            ("policy_reloads_total", self.reloads),
            ("healthy", int(self.healthy())),
        ):
            kind = "counter" if name.endswith("_total") else "gauge"
            name = PREFIX + name
            out.append(f"# TYPE {name} {kind}\n")
            if isinstance(value, dict):
                label = "worker" if name.endswith("queue_drops_total") else "reason"
                out += (f'{name}{{{label}="{k}"}} {v}\n' for k, v in value.items())
            else:
                out.append(f"{name} {value}\n")
        return "".join(out)


class Health(BaseHTTPRequestHandler):
    """GET /health (200 or 503) and /metrics; subclassed with a `state`."""

    timeout = 5  # a slow or half-open client costs one thread for 5 s, never the data path
    state: State

    def do_GET(self):  # noqa: N802 (http.server naming)
        path = self.path.split("?")[0]
        if path == "/metrics":
            code, body = 200, self.state.metrics()
        elif path == "/health":
            code, body = (200, "ok\n") if self.state.healthy() else (503, "unhealthy\n")
            # Checks from outside (the GWLB's nodes) count toward /ready; our own do not.
            if code == 200 and not self.client_address[0].startswith("127."):
                self.state.checked += 1
        elif path == "/ready":
            code, body = (200, "ok\n") if self.state.checked >= READY_AFTER else (503, "wait\n")
        else:
            code, body = 404, "not found\n"
        # Written directly rather than with send_response, which logs every request to stderr.
        self.wfile.write(
            f"HTTP/1.0 {code} {self.responses[code][0]}\r\nContent-Type: text/plain; version=0.0.4"
            f"\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
        )

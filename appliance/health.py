"""Health and metrics: worker liveness, heartbeats and send failures from shared memory, served
as /health and Prometheus /metrics by a thread of the supervisor."""

import time
from collections import deque
from http.server import BaseHTTPRequestHandler

from .handler import COUNTERS
from .packet import REASONS

STALE = 3.0  # /health fails when a worker's loop has not turned for this long
SEND_WINDOW = 5  # samples (one a second) over which send failures are judged
SEND_FAILURES = 20  # failed sends in the window, and more of them than successes, fail health


class State:
    """What the supervisor knows: liveness per worker, and the workers' shared counters and
    heartbeats (their loop times)."""

    def __init__(self, shared, beats):
        self.shared, self.beats = shared, beats
        self.alive = [False] * len(beats)
        self.failing = [False] * len(beats)  # most sends failed over the recent window
        self.restarts = self.reloads = 0
        self.samples = deque(maxlen=SEND_WINDOW + 1)

    def sample(self):
        """Once a second: judge each worker's sends over the last SEND_WINDOW seconds."""
        n, ok, bad = len(COUNTERS), COUNTERS.index("returned"), COUNTERS.index("send_error")
        self.samples.append(self.shared[:])
        old, new = self.samples[0], self.samples[-1]
        for w in range(len(self.beats)):
            sent, failed = (new[w * n + i] - old[w * n + i] for i in (ok, bad))
            self.failing[w] = failed >= SEND_FAILURES and failed > sent

    def healthy(self):
        now = time.monotonic()
        fresh = all(now - b < STALE for b in self.beats)
        return all(self.alive) and fresh and not any(self.failing)

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
            ("flow_log_suppressed_total", t["log_suppressed"]),
            ("workers", len(self.alive)),
            ("workers_alive", sum(self.alive)),
            ("workers_send_failing", sum(self.failing)),
            ("worker_restarts_total", self.restarts),
            ("policy_reloads_total", self.reloads),
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
    """GET /health (200 or 503) and /metrics; subclassed with a `state`."""

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

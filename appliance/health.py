"""Health and metrics over HTTP in their own thread with socket timeouts, apart from packets."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .handler import COUNTERS, MALFORMED

P = "gwlb_appliance_"
_N = len(COUNTERS)


class State:
    """Worker liveness (kept by the supervisor) plus shared counters and heartbeats."""

    def __init__(self, workers: int, shared: Any, beats: Any, stale: float = 3.0):
        self.workers = workers
        self.shared = shared
        self.beats = beats
        self.stale = stale
        self.alive: list[bool] = [False] * workers
        self.restarts = 0

    def healthy(self) -> bool:
        now = time.monotonic()
        return all(self.alive) and all(
            now - self.beats[i] < self.stale for i in range(self.workers)
        )

    def totals(self) -> dict:
        s = self.shared[:]
        return {name: int(sum(s[i::_N])) for i, name in enumerate(COUNTERS)}

    def metrics(self) -> str:
        t = self.totals()
        malformed = sum(t["malformed_" + r] for r in MALFORMED)
        out = []

        def metric(name: str, kind: str, help_: str, samples: list) -> None:
            out.append(f"# HELP {P}{name} {help_}\n# TYPE {P}{name} {kind}\n")
            out.extend(f"{P}{name}{labels} {value}\n" for labels, value in samples)

        metric(
            "packets_received_total", "counter", "Geneve packets received.", [("", t["received"])]
        )
        metric(
            "packets_returned_total", "counter", "Packets sent back to GWLB.", [("", t["returned"])]
        )
        dropped = [
            ('{reason="policy"}', t["dropped_policy"]),
            ('{reason="malformed"}', malformed),
            ('{reason="error"}', t["dropped_error"]),
            ('{reason="send_error"}', t["dropped_send_error"]),
        ]
        metric("packets_dropped_total", "counter", "Packets not returned, by reason.", dropped)
        bad = [(f'{{reason="{r}"}}', t["malformed_" + r]) for r in MALFORMED]
        metric("malformed_total", "counter", "Malformed packets dropped, by reason.", bad)
        metric("flows_active", "gauge", "Flows in the flow tables.", [("", t["flows_active"])])
        for k in ("created", "evicted", "expired"):
            metric(f"flows_{k}_total", "counter", f"Flows {k}.", [("", t["flows_" + k])])
        metric("workers", "gauge", "Configured workers.", [("", self.workers)])
        metric("workers_alive", "gauge", "Workers running.", [("", sum(self.alive))])
        metric("worker_restarts_total", "counter", "Workers restarted.", [("", self.restarts)])
        metric("healthy", "gauge", "1 when /health answers 200.", [("", int(self.healthy()))])
        return "".join(out)


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a slow or half-open client costs one thread for 5 s, never the data path
    state: State

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path == "/health":
            ok = self.state.healthy()
            self._send(200 if ok else 503, "ok\n" if ok else "unhealthy\n")
        elif path == "/metrics":
            self._send(200, self.state.metrics(), "text/plain; version=0.0.4")
        else:
            self._send(404, "not found\n")

    def _send(self, code: int, body: str, ctype: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(state: State, address: str, port: int) -> ThreadingHTTPServer:
    """Bind now (so a busy port fails start-up) and serve from a daemon thread."""
    handler = type("Handler", (_Handler,), {"state": state})
    server = _Server((address, port), handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server

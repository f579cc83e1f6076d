"""An ALB node: an HTTP proxy in its public subnet, round-robin over the healthy targets of its
target group (all of them when none is healthy, as ELB fails open), with the group's health
check. Each answer names the backend connection in X-Lab-Backend, so the lab can find the flow."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import AF_INET6

from lab.health import Checker, Health, Target
from lab.http10 import exchange
from lab.nsutil import inside, socket_in
from verify.model import HealthCheck

BACKEND_HEADER = "X-Lab-Backend"
BACKEND_TIMEOUT = 1.5  # under the test client's 3 s: a dead backend shows as a 502


@dataclass(frozen=True)
class Backend:
    id: str
    label: str
    address: str
    port: int


class _Handler(BaseHTTPRequestHandler):
    node: AlbNode
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 (http.server naming)
        code, body, backend = self.node.forward(self.path, self.client_address[0])
        self.send_response(code)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        if backend:
            self.send_header(BACKEND_HEADER, backend)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet: the lab prints its own table
        pass


class AlbNode:
    def __init__(
        self,
        label: str,
        ns: str,
        address: str,
        port: int,
        backends: list[Backend],
        hc: HealthCheck,
        scale: float,
    ):
        self.label, self.ns, self.address, self.port = label, ns, address, port
        self.targets = [
            Target(b.id, b.label, b.address, ns, Health(hc.healthy, hc.unhealthy)) for b in backends
        ]
        self.target_port = {b.id: b.port for b in backends}
        self.checker = Checker(hc, self.targets, scale)
        self.turn = itertools.count()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.servers6: list[ThreadingHTTPServer] = []

    def start(self) -> None:
        handler = type("H", (_Handler,), {"node": self})
        with inside(self.ns):
            self.server = ThreadingHTTPServer((self.address, self.port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def listen6(self, address: str) -> None:
        """Also answer on an IPv6 address (a dual-stack ALB's node)."""
        server_class = type("Server6", (ThreadingHTTPServer,), {"address_family": AF_INET6})
        handler = type("H", (_Handler,), {"node": self})
        with inside(self.ns):
            server = server_class((address, self.port), handler)
        server.daemon_threads = True
        self.servers6.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def start_checks(self) -> None:
        self.checker.start()

    def stop(self) -> None:
        self.checker.stop()
        for server in [self.server, *self.servers6]:
            if server:
                server.shutdown()
                server.server_close()

    def choose(self) -> Target:
        healthy = [t for t in self.targets if t.health.healthy]
        pool = healthy or self.targets
        with self.lock:
            return pool[next(self.turn) % len(pool)]

    def forward(self, path: str, client: str) -> tuple[int, bytes, str]:
        target = self.choose()
        port = self.target_port[target.id]
        try:
            with socket_in(self.ns) as sock:
                sock.settimeout(BACKEND_TIMEOUT)
                sock.connect((target.address, port))
                local = sock.getsockname()
                data = exchange(sock, path, target.address, [f"X-Forwarded-For: {client}"])
        except OSError:
            return 502, b"502 Bad Gateway\n", ""
        head, _, body = data.partition(b"\r\n\r\n")
        try:
            code = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return 502, b"502 Bad Gateway\n", ""
        return code, body, f"{local[0]}:{local[1]} {target.address}:{port}"

"""Target health as ELB keeps it: consecutive successes and failures against the target group's
thresholds, probed with its protocol, port, path, interval and timeout (intervals scaled)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.nsutil import socket_in
from verify.model import HealthCheck


def matches(matcher: str, status: int) -> bool:
    """ELB's success codes: "200", "200,302" or "200-399"."""
    for part in matcher.split(","):
        lo, _, hi = part.strip().partition("-")
        if int(lo) <= status <= int(hi or lo):
            return True
    return False


@dataclass
class Health:
    """One target's state: initial, healthy or unhealthy. A new target turns healthy on its first
    success (ELB's initial checks); after that, the thresholds decide each change."""

    healthy_threshold: int
    unhealthy_threshold: int
    state: str = "initial"
    successes: int = 0
    failures: int = 0
    changes: list[tuple[float, str]] = field(default_factory=list)

    def observe(self, ok: bool, now: float) -> None:
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if self.state == "initial" or (
                self.state == "unhealthy" and self.successes >= self.healthy_threshold
            ):
                self._become("healthy", now)
        else:
            self.failures, self.successes = self.failures + 1, 0
            if self.state != "unhealthy" and self.failures >= self.unhealthy_threshold:
                self._become("unhealthy", now)

    def _become(self, state: str, now: float) -> None:
        self.state = state
        self.changes.append((now, state))

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"


def probe(ns: str, address: str, hc: HealthCheck, timeout: float) -> bool:
    """One health check from namespace ns: an HTTP GET of hc.path, or a TCP connect."""
    try:
        with socket_in(ns) as sock:
            sock.settimeout(timeout)
            sock.connect((address, hc.port))
            if hc.protocol.upper() == "TCP":
                return True
            sock.sendall(f"GET {hc.path} HTTP/1.0\r\nHost: {address}\r\n\r\n".encode())
            head = b""
            while b"\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
            parts = head.split(b" ", 2)
            return len(parts) >= 2 and matches(hc.matcher, int(parts[1]))
    except (OSError, ValueError):
        return False


@dataclass
class Target:
    id: str
    label: str
    address: str
    probe_ns: str  # where the checks come from (a GWLB node, an ALB node)
    health: Health
    draining_until: float | None = None  # deregistered: when its deregistration delay ends


class Checker:
    """One thread per target, probing every interval (times scale) with timeout (times scale)."""

    def __init__(
        self,
        hc: HealthCheck,
        targets: list[Target],
        scale: float,
        on_change: Callable[[Target], None] = lambda t: None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.hc, self.targets, self.scale = hc, targets, scale
        self.on_change, self.clock = on_change, clock
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def interval(self) -> float:
        return self.hc.interval * self.scale

    @property
    def timeout(self) -> float:
        return min(self.hc.timeout * self.scale, self.interval)

    def start(self) -> None:
        for target in self.targets:
            thread = threading.Thread(target=self._run, args=(target,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, target: Target) -> None:
        while not self.stopped.is_set():
            began = self.clock()
            ok = probe(target.probe_ns, target.address, self.hc, self.timeout)
            before = target.health.state
            target.health.observe(ok, self.clock())
            if target.health.state != before:
                self.on_change(target)
            self.stopped.wait(max(0.0, self.interval - (self.clock() - began)))

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=5)

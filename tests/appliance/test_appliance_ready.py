"""/ready, the readiness signal's check: 200 only once health checks from outside the host (the
GWLB's nodes) were answered healthy as often as the target group's healthy threshold; the
appliance's own loopback checks never count."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from lab import netns

HEALTH = 8093


def _get(h: netns.Harness, ns: str, address: str, path: str) -> int:
    """Status of one GET, sent from namespace `ns` to `address`."""
    with h.inside(ns):
        s = socket.create_connection((address, HEALTH), 3)
    with s:
        s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return int(data.split()[1])


@pytest.fixture
def fresh():
    """An appliance no outside host has checked yet: started directly, probed over loopback."""
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    h = netns.Harness().up()
    proc = None
    try:
        argv = [netns.APPLIANCE_PYTHON, "-m", "appliance", "--allow-all"]
        proc = h.popen(h.app_ns, [*argv, "--health-port", str(HEALTH)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, IndexError):
                if _get(h, h.app_ns, "127.0.0.1", "/health") == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the appliance never answered /health over loopback")
        yield h
    finally:
        if proc is not None:
            netns.stop(proc)
        h.down()


def test_ready_waits_for_the_gwlbs_own_healthy_checks(fresh):
    h = fresh
    local = [_get(h, h.app_ns, "127.0.0.1", "/health") for _ in range(5)]
    assert local == [200] * 5
    # Healthy to itself five times over, but nobody outside has checked it: not ready.
    assert _get(h, h.app_ns, "127.0.0.1", "/ready") == 503
    assert _get(h, h.gw_ns, h.app_ip, "/health") == 200  # the GWLB's first check
    assert _get(h, h.app_ns, "127.0.0.1", "/ready") == 503
    assert _get(h, h.gw_ns, h.app_ip, "/health") == 200  # its healthy threshold: 2
    assert _get(h, h.app_ns, "127.0.0.1", "/ready") == 200

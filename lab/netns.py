"""Two network namespaces joined by a veth pair: one plays GWLB, one runs the appliance.

Shared by tests/appliance, benchmarks/appliance.py and the lab. Traffic stays inside these
namespaces.
"""

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import sys
import time

from lab.http10 import exchange

CLONE_NEWNET = 0x40000000
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where `python -m appliance` is imported from, ahead of the checkout: the Python 3.9 runner
# points it at the stripped bundle that ships in UserData.
APPLIANCE_PATH = os.environ.get("GWLB_APPLIANCE_PATH", "")
# The interpreter that runs the appliance (the test's own unless told otherwise).
APPLIANCE_PYTHON = os.environ.get("GWLB_APPLIANCE_PYTHON", sys.executable)


def unavailable() -> str:
    """Why the harness cannot run here, or '' when it can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if not shutil.which("ip"):
        return "needs iproute2 (`ip`)"
    return ""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


class Harness:
    def __init__(self, tag: str = "t"):
        pid = os.getpid()
        self.gw_ns, self.app_ns = f"gwlb{tag}-gw-{pid}", f"gwlb{tag}-app-{pid}"
        net = 10 + pid % 240  # a /30 in 10.250.0.0/16 (test-only range) per run
        self.gw_ip, self.app_ip = f"10.250.{net}.1", f"10.250.{net}.2"
        self._veth = (f"vg{tag}{pid % 100000}", f"va{tag}{pid % 100000}")
        self._libc = ctypes.CDLL(None, use_errno=True)

    def up(self) -> "Harness":
        self.down()
        gv, av = self._veth
        _ip("netns", "add", self.gw_ns)
        _ip("netns", "add", self.app_ns)
        _ip("link", "add", gv, "type", "veth", "peer", "name", av)
        _ip("link", "set", gv, "netns", self.gw_ns)
        _ip("link", "set", av, "netns", self.app_ns)
        for ns, dev, addr in ((self.gw_ns, gv, self.gw_ip), (self.app_ns, av, self.app_ip)):
            _ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "mtu", "9001", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        return self

    def down(self) -> None:
        for ns in (self.gw_ns, self.app_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)

    @contextlib.contextmanager
    def inside(self, ns: str):
        """Sockets created in this block belong to ns for their whole life."""
        here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        there = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
        try:
            if self._libc.setns(there, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {ns}")
            try:
                yield
            finally:
                if self._libc.setns(here, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(here)
            os.close(there)

    def udp(self, ns: str, port: int = 0, timeout: float = 1.0) -> socket.socket:
        addr = self.gw_ip if ns == self.gw_ns else self.app_ip
        with self.inside(ns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.bind((addr, port))
        sock.settimeout(timeout)
        return sock

    def http_get(self, port: int, path: str, timeout: float = 3.0):
        """GET from the GWLB side, as the target group health check does; (status, body)."""
        with self.inside(self.gw_ns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with sock:
            sock.settimeout(timeout)
            sock.connect((self.app_ip, port))
            data = exchange(sock, path, "appliance")
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body.decode()

    def http_get_local(self, port: int, path: str, timeout: float = 3.0):
        """GET from inside the appliance's namespace over loopback; (status, body)."""
        with self.inside(self.app_ns):
            sock = socket.create_connection(("127.0.0.1", port), timeout)
        with sock:
            data = exchange(sock, path, "appliance")
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body.decode()

    def popen(self, ns: str, argv: list, **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", ns, *argv], **appliance_env(), **kw)

    def start_appliance(
        self, *args: str, health_port: int = 8080, prefix: tuple = (), **kw
    ) -> subprocess.Popen:
        """Start `python -m appliance` in the appliance namespace and wait for 200 on /health;
        prefix goes before the interpreter (e.g. setpriv and its options)."""
        argv = [*prefix, APPLIANCE_PYTHON, "-m", "appliance", "--health-port", str(health_port)]
        proc = self.popen(self.app_ns, [*argv, *args], **kw)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"appliance exited with {proc.returncode}")
            with contextlib.suppress(OSError, ValueError, IndexError):
                if self.http_get(health_port, "/health", 0.5)[0] == 200:
                    return proc
            time.sleep(0.1)
        stop(proc)
        raise RuntimeError("appliance did not become healthy in 20 s")


def appliance_env() -> dict:
    """cwd and env for a `python -m appliance` subprocess: `-m` puts its working directory
    first on sys.path, so that is the bundle's when one is set."""
    path = os.pathsep.join(p for p in (APPLIANCE_PATH, REPO) if p)
    return {"cwd": APPLIANCE_PATH or REPO, "env": dict(os.environ, PYTHONPATH=path)}


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def children(pid: int) -> list:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
    return out

"""Starts what the hosts' user data starts (the appliance, the web servers) under a per-host
root, plus the internet server; keeps each process in its own session and stops it by PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab import cloudinit
from verify.model import Host

PYTHON_39 = "3.9.18"
REPO = Path(__file__).resolve().parents[1]
STAND_IN_DIR = "/opt/gwlb-lab-appliance"
STAND_IN_POLICY = "/etc/gwlb-lab/allow-all.json"
TRANSFER_FILES = {"lab-64k.bin": 64 * 1024, "lab-200k.bin": 200 * 1024}


def python_for_hosts() -> tuple[str, str]:
    """(interpreter, why): Python 3.9 as on Amazon Linux 2023 when pyenv has it, else ours."""
    prefix = None
    if shutil.which("pyenv"):
        proc = subprocess.run(["pyenv", "prefix", PYTHON_39], capture_output=True, text=True)
        if proc.returncode == 0:
            prefix = proc.stdout.strip()
    if prefix is None and Path(f"~/.pyenv/versions/{PYTHON_39}").expanduser().is_dir():
        prefix = str(Path(f"~/.pyenv/versions/{PYTHON_39}").expanduser())
    if prefix and Path(prefix, "bin", "python3").exists():
        return str(Path(prefix, "bin", "python3")), f"Python {PYTHON_39} (pyenv)"
    version = ".".join(map(str, sys.version_info[:3]))
    return sys.executable, f"Python {version} (the lab's own; pyenv {PYTHON_39} not found)"


class StartError(RuntimeError):
    pass


@dataclass
class Service:
    host: Host
    ns: str
    root: cloudinit.Root
    unit: cloudinit.Unit
    python: str
    log: Path
    proc: subprocess.Popen | None = None
    error: str = ""

    def _popen(self, argv: list[str], **kw) -> subprocess.Popen:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the host's code comes from its own root, never the repo
        env.update(self.root.environment(self.unit))
        cwd = self.root.path(self.unit.working_directory) if self.unit.working_directory else None
        return subprocess.Popen(
            ["ip", "netns", "exec", self.ns, *argv], env=env, cwd=cwd, start_new_session=True, **kw
        )

    def start(self) -> None:
        self.root.prepare(self.unit)
        for pre in self.unit.exec_start_pre:
            check = self._popen(
                self.root.argv(pre, self.python),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                out, _ = check.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(check.pid, signal.SIGKILL)
                check.wait()
                raise StartError(
                    f"{self.host.name}: {self.unit.name} ExecStartPre ran over 30 s"
                ) from None
            if check.returncode != 0:
                raise StartError(
                    f"{self.host.name}: {self.unit.name} ExecStartPre failed: {out.strip()}"
                )
        with open(self.log, "ab") as log:
            self.proc = self._popen(
                self.root.argv(self.unit.exec_start, self.python),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to the service's own process group (its session), SIGKILL if it lingers."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Workers that outlived their supervisor share its process group: make sure of them.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Hosts:
    base: Path
    python: str
    services: list[Service] = field(default_factory=list)
    extra: list[subprocess.Popen] = field(default_factory=list)

    def boot(self, host: Host, ns: str, policy: bytes | None = None) -> list[Service]:
        """Replays the host's user data; a policy replaces the appliance's shipped policy file."""
        boot = cloudinit.parse(host.user_data)
        root = cloudinit.Root(self.base / host.name)
        root.install(boot)
        for cmd in boot.network_commands():
            proc = subprocess.run(
                ["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True, timeout=30
            )
            if proc.returncode != 0:
                raise StartError(f"{host.name}: {' '.join(cmd)}: {proc.stderr.strip()}")
        units = boot.enabled_units()
        for unit in units:
            if policy is not None:
                for path in policy_paths(unit):
                    root.path(path).write_bytes(policy)
            for directory in _served_directories(unit):
                # The large-transfer probes' files, beside the web server's own index.html.
                for name, size in TRANSFER_FILES.items():
                    root.path(f"{directory.rstrip('/')}/{name}").write_bytes(_filler(size))
        return [self._start(host, ns, root, unit) for unit in units]

    def boot_stand_in(
        self, host: Host, ns: str, health_port: int, policy: bytes | None = None
    ) -> list[Service]:
        """Our appliance, allow-all (or policy), in place of one the set ships (a vendor image, a
        proxy fetched at boot): the set's routing, groups and GWLB are then what the lab tests."""
        root = cloudinit.Root(self.base / host.name)
        shutil.copytree(REPO / "appliance", root.path(STAND_IN_DIR + "/appliance"))
        root.path(STAND_IN_POLICY).parent.mkdir(parents=True, exist_ok=True)
        allow_all = (Path(__file__).parent / "allow_all.json").read_bytes()
        root.path(STAND_IN_POLICY).write_bytes(policy or allow_all)
        unit = cloudinit.Unit(
            "gwlb-lab-stand-in.service",
            (),
            (
                "/usr/bin/python3",
                "-m",
                "appliance",
                "--policy",
                STAND_IN_POLICY,
                "--health-port",
                str(health_port),
                "--flow-log",
                "/var/log/gwlb-lab/flows.log",
            ),
            STAND_IN_DIR,
            {},
            "gwlb-lab",
        )
        return [self._start(host, ns, root, unit)]

    def _start(self, host: Host, ns: str, root: cloudinit.Root, unit: cloudinit.Unit) -> Service:
        service = Service(host, ns, root, unit, self.python, self.base / f"{host.name}.log")
        self.services.append(service)
        try:
            service.start()
        except StartError as exc:  # as systemd would: the unit stays down, the host boots
            service.error = str(exc)
        return service

    def of(self, host_id: str) -> list[Service]:
        return [service for service in self.services if service.host.id == host_id]

    def internet_server(self, ns: str, address: str, ports: tuple[int, ...]) -> None:
        root = self.base / "internet-server"
        root.mkdir(parents=True, exist_ok=True)
        (root / "index.html").write_text("internet server\n")
        for port in ports:
            self.extra.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        ns,
                        sys.executable,
                        "-m",
                        "http.server",
                        str(port),
                        "--bind",
                        address,
                        "--directory",
                        str(root),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def stop_all(self) -> None:
        for service in self.services:
            service.stop()
        for proc in self.extra:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _filler(size: int) -> bytes:
    return (b"gwlb-lab large transfer " * (size // 24 + 1))[:size]


def _served_directories(unit: cloudinit.Unit) -> list[str]:
    argv = list(unit.exec_start)
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--directory"]


def policy_paths(unit: cloudinit.Unit) -> list[str]:
    argv = list(unit.exec_start)
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--policy"]


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()

"""Whatever happens, nothing is left (root): SIGINT at points spread over the boot, SIGTERM after
--keep, and `--cleanup` after SIGKILL, which touches nothing that is not a dead lab's."""

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from lab_run import REPO, lab_namespaces, needs_root

SET = REPO / "output" / "aws" / "single-vpc"
pytestmark = needs_root


def _start(*argv: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "lab", *argv],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _scratch(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"gwlb-lab-{pid}-*"))


def _nothing_left(pid: int) -> None:
    assert lab_namespaces(pid) == []
    assert _processes_mentioning(f"gwlb-lab-{pid}-") == []
    assert _scratch(pid) == []


# Points spread over the boot: namespaces, routes, appliances starting, health checks.
DELAYS = [0.4, 0.9, 1.6, 2.6]


@pytest.mark.parametrize("delay", DELAYS)
def test_sigint_during_boot_leaves_nothing(delay):
    proc = _start(str(SET), "--no-drill")
    try:
        time.sleep(delay + random.uniform(0, 0.3))
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code in (130, 0, 1), proc.stderr.read()
    _nothing_left(proc.pid)


def test_keep_prints_working_commands_and_sigterm_tears_everything_down():
    proc = _start(str(SET), "--keep", "--no-drill")
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("tail -f"):
                break
        commands = [line.split("#")[0].strip() for line in lines if line.startswith("ip netns")]
        curl = next(c for c in commands if "curl" in c and "198.19.255.20" in c)
        answer = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=10)
        assert answer.stdout.strip() == "internet server"
        assert _processes_mentioning(f"gwlb-lab-{proc.pid}-")  # the appliances run from there
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _nothing_left(proc.pid)


def test_cleanup_recovers_from_sigkill_and_touches_nothing_else(tmp_path):
    others = ["gwlbtest-not-a-lab", f"lab{os.getpid()}-alive"]  # the second: a live lab's
    for name in others:
        subprocess.run(["ip", "netns", "add", name], check=True)
    keep_dir = Path(tempfile.gettempdir()) / f"gwlb-lab-notes-{os.getpid()}"
    keep_dir.mkdir()
    proc = _start(str(SET), "--keep", "--no-drill")
    try:
        for line in proc.stdout:
            if line.startswith("tail -f"):
                break
        assert lab_namespaces(proc.pid) and _processes_mentioning(f"gwlb-lab-{proc.pid}-")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert lab_namespaces(proc.pid) and _scratch(proc.pid)  # SIGKILL left it all
        done = subprocess.run(
            [sys.executable, "-m", "lab", "--cleanup"],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert f"namespace lab{proc.pid}-" in done.stdout
        _nothing_left(proc.pid)
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert all(name in listing for name in others)
        assert keep_dir.is_dir()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for name in others:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        keep_dir.rmdir()

"""`python -m lab --cleanup`: removes what a lab killed without its own teardown (SIGKILL, a
crash) left behind: its namespaces "lab<pid>-...", the processes in them, its scratch directories
"gwlb-lab-<pid>-...". Only names of that shape whose lab process is gone are touched; anything
else, and the parts of a lab still running, is left alone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lab.network import kill_inside
from lab.session import SCRATCH_PREFIX

NAMESPACE = re.compile(r"^lab(\d+)-[A-Za-z0-9-]+$")
SCRATCH = re.compile(rf"^{SCRATCH_PREFIX}(\d+)-[A-Za-z0-9_]+$")


def _lab_alive(pid: int) -> bool:
    """Whether the lab that named its parts after pid may still run: any live process with that
    pid counts, so a running lab is never touched (a reused pid only delays the clean-up)."""
    return Path(f"/proc/{pid}").exists()


def stale_namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    names = [line.split()[0] for line in listing.stdout.splitlines() if line.strip()]
    return [
        name
        for name in names
        if (match := NAMESPACE.match(name)) and not _lab_alive(int(match.group(1)))
    ]


def stale_scratch(base: Path | None = None) -> list[Path]:
    base = base or Path(tempfile.gettempdir())
    return sorted(
        path
        for path in base.iterdir()
        if path.is_dir()
        and (match := SCRATCH.match(path.name))
        and not _lab_alive(int(match.group(1)))
    )


def clean(base: Path | None = None) -> list[str]:
    """Removes every stale part; returns one line per thing removed."""
    done = []
    for name in reversed(stale_namespaces()):
        kill_inside(name)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        done.append(f"namespace {name}")
    for path in stale_scratch(base):
        shutil.rmtree(path, ignore_errors=True)
        done.append(f"scratch directory {path}")
    return done


def main() -> int:
    if os.geteuid() != 0:
        print("error: --cleanup needs root (network namespaces)", file=sys.stderr)
        return 2
    removed = clean()
    for line in removed:
        print(f"lab: removed {line}")
    print(f"lab: cleanup removed {len(removed)} stale part(s)")
    return 0

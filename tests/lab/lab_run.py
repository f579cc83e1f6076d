"""Running the lab from tests (root): its table as rows, and proof that nothing was left."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.cli import main
from lab.netns import unavailable

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(
    r"^\| (PASS|FAIL|BLOCKED) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|(.*)\|$"
)
needs_root = pytest.mark.skipif(
    bool(unavailable()) or not shutil.which("nft"),
    # "root" in the reason: tests/conftest.py marks these root whichever condition holds here.
    reason=unavailable() or "needs root (network namespaces) and nftables",
)


def rows(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            keys = ("result", "step", "flow", "out", "back", "appliance", "detail")
            out.append(dict(zip(keys, (g.strip() for g in match.groups()), strict=True)))
    return out


def lab_namespaces(token: int | None = None) -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    prefix = f"lab{token if token is not None else os.getpid()}-"
    return [line.split()[0] for line in listing.splitlines() if line.startswith(prefix)]


def run(capsys, *argv) -> tuple[int, list[dict], str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert lab_namespaces() == []  # torn down, whatever the verdict
    return code, rows(captured.out), captured.out + captured.err


def by_result(table: list[dict], result: str) -> list[dict]:
    return [row for row in table if row["result"] == result]

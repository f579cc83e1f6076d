"""Packs the appliance for EC2 user data: its modules, stripped of docstrings and comments, in one
reproducible tar that cloud-init writes from gzip+base64; the unit and policy stay readable text.
Also unpacks it, and finds the Python it ships for, so tests and benchmarks run it as shipped."""

from __future__ import annotations

import ast
import base64
import glob
import gzip
import io
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import zopfli.gzip

REPO = Path(__file__).resolve().parent.parent
APPLIANCE_DIR = REPO / "appliance"
INSTALL_ROOT = "/opt/gwlb-appliance"
ARCHIVE_PATH = f"{INSTALL_ROOT}/appliance.tar"
UNIT_PATH = "/etc/systemd/system/gwlb-appliance.service"
POLICY_PATH = "/etc/gwlb-appliance/policy.json"


@dataclass(frozen=True)
class Bundle:
    archive_b64: str  # gzip of a tar holding appliance/*.py
    unit: str
    policy: str
    source_size: int  # bytes of the modules as written
    packed_size: int  # bytes of the gzip


def strip_source(source: str) -> str:
    """The same program without docstrings and comments: user data has 16 KB, prose stays in git."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    text = ast.unparse(tree) + "\n"
    # One space per indentation level instead of four: gzip keeps about 3 % more room for code.
    narrow = "".join(
        " " * ((len(line) - len(line.lstrip(" "))) // 4) + line.lstrip(" ")
        for line in text.splitlines(keepends=True)
    )
    # Kept only when the program is the same, e.g. no string literal spans lines.
    return narrow if ast.dump(ast.parse(narrow)) == ast.dump(ast.parse(text)) else text


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build(source: Path = APPLIANCE_DIR) -> Bundle:
    modules = sorted(source.glob("*.py"))
    if not modules:
        raise FileNotFoundError(f"no appliance modules under {source}")
    members = [(f"appliance/{m.name}", strip_source(m.read_text()).encode()) for m in modules]
    # Zopfli writes plain gzip about 4 % smaller than zlib's best (user data has 16 KB); its
    # header's mtime is 0, so output/ stays identical from run to run.
    packed = zopfli.gzip.compress(_tar(members), numiterations=15)
    return Bundle(
        archive_b64=base64.b64encode(packed).decode("ascii"),
        unit=(source / "install" / "gwlb-appliance.service").read_text(),
        policy=(source / "install" / "policy.json").read_text(),
        source_size=sum(m.stat().st_size for m in modules),
        packed_size=len(packed),
    )


def extract(dest: Path, archive_b64: str | None = None) -> None:
    """Unpack the archive as cloud-init's write_files and `tar -xf` would, readable by all."""
    packed = base64.b64decode(archive_b64 or build().archive_b64)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(packed))) as tar:
        tar.extractall(dest)  # our own archive, just built
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


TARGET_PYTHON = "3.9"  # Amazon Linux 2023's /usr/bin/python3


def find_target_python() -> str | None:
    """A Python 3.9 interpreter already on this machine (pyenv's, then python3.9 on PATH); never
    downloads one. None when there is none."""
    candidates = []
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "prefix", "3.9.18"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(os.path.join(out.stdout.strip(), "bin", "python3.9"))
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", "3.9.*", "bin", "python3.9")))
    candidates.append(shutil.which("python3.9") or "")
    for path in filter(None, candidates):
        if os.access(path, os.X_OK):
            version = subprocess.run(
                [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
            )
            if version.stdout.strip() == TARGET_PYTHON:
                return path
    return None

"""Packs the appliance for EC2 user data: its modules, minified (no docstrings, comments,
annotations or optional spaces; short local names), joined, compressed with LZMA2 and written as
base93 text that a python3 one-liner in runcmd unpacks into /opt/gwlb-appliance/appliance/; the
unit and policy stay readable text. Also unpacks it exactly that way, and finds the Python it
ships for, so tests and benchmarks run the appliance as shipped."""

from __future__ import annotations

import ast
import glob
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.minify import minify, strip_source  # noqa: F401 (strip_source: reached from here)

REPO = Path(__file__).resolve().parent.parent
APPLIANCE_DIR = REPO / "appliance"
INSTALL_ROOT = "/opt/gwlb-appliance"
# generator/userdata still passes this to the template, which no longer writes a tar.
ENCODED_PATH = f"{INSTALL_ROOT}/appliance.b93"
# Raw LZMA2 (no .xz container: 60 bytes less), literal context 3 and no position bits, which
# suit text; the decoder's defaults read it. The payload is "name NUL source NUL" per module:
# a tar's headers would cost about 330 bytes more.
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "lc": 3, "pb": 0}]
# The text: the LZMA2 stream as one big number written in base 93, the printable ASCII
# characters but "$" (so no "${" for Fn::Sub to misread) and space: 1.224 characters per byte,
# where base64 takes 1.333 and ASCII85 1.25. The stream's first byte is never 0 (LZMA2 chunks
# start with 1, 2 or 0x80-0xFF), so the number's length gives the stream's. The one-liner names
# lzma's constants by value (liblzma's ABI: LZMA_FORMAT_RAW 3, LZMA_FILTER_LZMA2 0x21), and
# passes lzma.decompress(data, format, memlimit, filters) positionally: 30 bytes less user data.
DIGITS = "".join(c for c in map(chr, range(33, 127)) if c != "$")
UNPACK_CODE = (
    "import functools,lzma,os,sys;a,r=sys.argv[1:];n=functools.reduce(lambda n,c:n*93+c-33-(c>36)"
    ",open(a,'rb').read().strip(),0);d=lzma.decompress(n.to_bytes(n.bit_length()+7>>3,'big'),"
    "3,None,[{'id':33}]).split(b'\\0');r+='/appliance/';"
    "os.makedirs(r,exist_ok=True);[open(r+f.decode(),'wb').write(s)for f,s in zip(d[::2],d[1::2])]"
)
UNPACK = ["python3", "-c", UNPACK_CODE, ENCODED_PATH, INSTALL_ROOT]
# The socket queue the appliance asks for (8 MiB) needs net.core.rmem_max raised at boot, so the
# service needs no CAP_NET_ADMIN (SO_RCVBUFFORCE) at run time.
SYSCTL_PATH = "/etc/sysctl.d/90-gwlb-appliance.conf"
UNIT_PATH = "/etc/systemd/system/gwlb-appliance.service"
POLICY_PATH = "/etc/gwlb-appliance/policy.json"


@dataclass(frozen=True)
class Bundle:
    archive_text: str  # base93 of the raw LZMA2 of every appliance/*.py, minified
    unit: str
    policy: str
    source_size: int  # bytes of the modules as written
    packed_size: int  # bytes of the LZMA2 stream
    # Where the template writes the text and the sysctl file, and the unpack command as a YAML
    # flow sequence (JSON strings are YAML scalars) for runcmd.
    encoded_path: str = ENCODED_PATH
    sysctl_path: str = SYSCTL_PATH
    unpack: str = "[" + ", ".join(json.dumps(a) for a in UNPACK) + "]"


def base93(data: bytes) -> str:
    """data as a number in base 93 (DIGITS), most significant digit first."""
    n, out = int.from_bytes(data, "big"), []
    chunk = 93**1000  # a thousand digits per long division: quadratic only in chunks
    while n:
        n, low = divmod(n, chunk)
        digits = []
        for _ in range(1000):
            low, d = divmod(low, 93)
            digits.append(DIGITS[d])
        out.append("".join(reversed(digits)))
    return "".join(reversed(out)).lstrip(DIGITS[0])


def compress(modules: dict[str, str]) -> bytes:
    """{file name: source} as the one-liner reads it: name, NUL, source, NUL; raw LZMA2."""
    payload = b"".join(
        name.encode() + b"\0" + text.encode() + b"\0" for name, text in modules.items()
    )
    # LZMA2 is deterministic: output/ stays identical from run to run.
    return lzma.compress(payload, format=lzma.FORMAT_RAW, filters=FILTERS)


def pack(modules: dict[str, str]) -> str:
    """The text user data carries for these modules (tests pack stand-ins the same way)."""
    return base93(compress(modules))


def import_order(sources: dict[str, str]) -> list[str]:
    """Module file names, each after the package's modules it imports (`from .x import`), ties
    by name: LZMA then finds a module's names already in its window (about 30 bytes less)."""
    needs = {
        name: {
            f"{node.module}.py"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
        & set(sources)
        for name, text in sources.items()
    }
    order: list[str] = []
    while len(order) < len(needs):
        ready = sorted(n for n, deps in needs.items() if n not in order and deps <= set(order))
        if not ready:
            raise ValueError(f"circular imports among {sorted(set(needs) - set(order))}")
        order.append(ready[0])
    return order


def compact_policy(text: str) -> str:
    """The policy document with no optional spaces, one rule a line: the same JSON for fewer
    user data bytes, still readable on the instance."""
    doc = json.loads(text)
    rules = doc.pop("rules", None)
    head = json.dumps(doc, separators=(",", ":"))[:-1]
    if rules is None:
        return head + "}\n"
    lines = ",\n".join(json.dumps(r, separators=(",", ":")) for r in rules)
    return f'{head}{"," if doc else ""}"rules":[\n{lines}\n]}}\n'


def _no_blank_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line.strip())


def build(source: Path = APPLIANCE_DIR) -> Bundle:
    sources = {m.name: m.read_text() for m in sorted(source.glob("*.py"))}
    if not sources:
        raise FileNotFoundError(f"no appliance modules under {source}")
    packed = compress({name: minify(sources[name]) for name in import_order(sources)})
    return Bundle(
        archive_text=base93(packed),
        unit=_no_blank_lines((source / "install" / "gwlb-appliance.service").read_text()),
        policy=compact_policy((source / "install" / "policy.json").read_text()),
        source_size=sum(len(text.encode()) for text in sources.values()),
        packed_size=len(packed),
    )


def extract(dest: Path, archive_text: str | None = None, python: str | None = None) -> None:
    """Unpack as the instance does: the base93 text written to a file (with the newline its
    YAML block ends in), UNPACK's one-liner run by `python` (the target 3.9 when given), which
    writes dest/appliance/*.py; then readable by all."""
    encoded = dest / "appliance.b93"
    encoded.write_text((archive_text or build().archive_text) + "\n")
    argv = [python or sys.executable, "-c", UNPACK_CODE, str(encoded), str(dest)]
    subprocess.run(argv, check=True, timeout=60)
    encoded.unlink()
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def modules_in(user_data: str) -> dict[str, str]:
    """The modules a rendered appliance user data installs, name -> source, unpacked by the
    one-liner it carries: for tests that read committed output."""
    found = re.search(r"path: " + re.escape(ENCODED_PATH) + r"\n +content: \|\n +(\S+)", user_data)
    if not found:
        raise ValueError("no appliance text in this user data")
    with tempfile.TemporaryDirectory() as tmp:
        extract(Path(tmp), found.group(1))
        return {p.name: p.read_text() for p in sorted(Path(tmp, "appliance").glob("*.py"))}


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

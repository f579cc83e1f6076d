"""Runs tests/appliance on Python 3.9 (Amazon Linux 2023's python3) against the stripped bundle
that ships in UserData, not the checkout: `.venv/bin/python tests/appliance/run_py39.py`.

It finds a 3.9 interpreter already on the machine (pyenv's, then python3.9 on PATH; it never
downloads one), keeps `.venv39/` built from requirements/py39-test.txt, unpacks
`generator.bundle.build()` into a temporary directory exactly as cloud-init would, and runs
pytest under 3.9 with the appliance imported from there (GWLB_APPLIANCE_PATH) and started with
the bare 3.9 interpreter (GWLB_APPLIANCE_PYTHON), so only the standard library is available to it.
"""

from __future__ import annotations

import base64
import glob
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv39"
REQUIREMENTS = REPO / "requirements" / "py39-test.txt"
WANTED = "3.9"


def find_python39() -> str | None:
    """A Python 3.9 interpreter already on this machine, or None."""
    candidates = []
    if shutil.which("pyenv"):
        out = subprocess.run(
            ["pyenv", "prefix", "3.9.18"], capture_output=True, text=True, timeout=30
        )
        if out.returncode == 0:
            candidates.append(os.path.join(out.stdout.strip(), "bin", "python3.9"))
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", "3.9.*", "bin", "python3.9")))
    candidates.append(shutil.which("python3.9") or "")
    for path in candidates:
        if path and os.access(path, os.X_OK) and _version(path) == WANTED:
            return path
    return None


def _version(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out.stdout.strip()


def ensure_venv(python: str) -> Path:
    """.venv39 with exactly requirements/py39-test.txt; rebuilt when that file changes."""
    stamp = VENV / ".installed"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(VENV)], check=True, timeout=300)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run(
            [*pip, "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
            timeout=900,
        )
        stamp.write_text(digest)
    return VENV / "bin" / "python"


def extract_bundle(dest: Path) -> None:
    """Unpack the shipped archive as cloud-init's write_files and `tar -xf` would."""
    sys.path.insert(0, str(REPO))
    from generator import bundle

    packed = base64.b64decode(bundle.build().archive_b64)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(packed))) as tar:
        tar.extractall(dest)  # our own archive, built a line above
    # Readable by the unprivileged user of the least-privilege test.
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    python = find_python39()
    if python is None:
        print("error: no Python 3.9 found (pyenv prefix 3.9.18, ~/.pyenv, PATH)", file=sys.stderr)
        return 2
    venv_python = ensure_venv(python)
    with tempfile.TemporaryDirectory(prefix="gwlb-bundle-") as tmp:
        bundle_dir = Path(tmp)
        bundle_dir.chmod(0o755)
        extract_bundle(bundle_dir)
        env = dict(
            os.environ,
            GWLB_APPLIANCE_PATH=str(bundle_dir),
            GWLB_APPLIANCE_PYTHON=python,
            PYTHONDONTWRITEBYTECODE="1",
        )
        cmd = [str(venv_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        cmd += args or [str(REPO / "tests" / "appliance")]
        return subprocess.run(cmd, cwd=REPO, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())

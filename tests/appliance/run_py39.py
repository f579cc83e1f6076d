"""Runs tests/appliance on Python 3.9 (Amazon Linux 2023's python3) against the stripped bundle
that ships in UserData, not the checkout: `.venv/bin/python tests/appliance/run_py39.py`.

It finds a 3.9 interpreter already on the machine (pyenv's, then python3.9 on PATH; it never
downloads one), keeps `.venv39/` built from requirements/py39-test.txt, unpacks
`generator.bundle.build()` into a temporary directory exactly as cloud-init would, and runs
pytest under 3.9 with the appliance imported from there (GWLB_APPLIANCE_PATH) and started with
the bare 3.9 interpreter (GWLB_APPLIANCE_PYTHON), so only the standard library is available to it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from generator import bundle  # noqa: E402 (after the checkout is on the path)

VENV = REPO / ".venv39"
REQUIREMENTS = REPO / "requirements" / "py39-test.txt"


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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    python = bundle.find_target_python()
    if python is None:
        print("error: no Python 3.9 found (pyenv prefix 3.9.18, ~/.pyenv, PATH)", file=sys.stderr)
        return 2
    try:
        venv_python = ensure_venv(python)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"error: cannot build {VENV} from {REQUIREMENTS}: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="gwlb-bundle-") as tmp:
        bundle_dir = Path(tmp)
        bundle_dir.chmod(0o755)
        bundle.extract(bundle_dir, python=python)  # the one-liner, as on the instance
        env = dict(
            os.environ,
            GWLB_APPLIANCE_PATH=str(bundle_dir),
            GWLB_APPLIANCE_PYTHON=python,
            PYTHONDONTWRITEBYTECODE="1",
        )
        cmd = [str(venv_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        # Options alone (e.g. -x -q) still run tests/appliance: 3.9 has no venv for the rest.
        paths = [a for a in args if Path(REPO, a.split("::")[0]).exists()]
        cmd += args if paths else [*args, str(REPO / "tests" / "appliance")]
        return subprocess.run(cmd, cwd=REPO, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())

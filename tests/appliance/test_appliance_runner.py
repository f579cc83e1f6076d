"""The Python 3.9 runner: finds a 3.9 already installed, says so clearly when there is none."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

# The runner belongs to the project's venv (it builds the bundle with the generator's packages).
bundle = pytest.importorskip("generator.bundle", reason="the runner needs the project's venv")
RUNNER = Path(__file__).with_name("run_py39.py")


def load_runner():
    spec = importlib.util.spec_from_file_location("run_py39", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_python_39_one_error_line_and_exit_2(monkeypatch, capsys):
    runner = load_runner()
    monkeypatch.setattr(runner.bundle, "find_target_python", lambda: None)
    assert runner.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Python 3.9 found") and err.count("\n") == 1


def test_finds_an_installed_39():
    python = bundle.find_target_python()
    if python is None:
        pytest.skip("no Python 3.9 on this machine")
    out = subprocess.run([python, "--version"], capture_output=True, text=True, timeout=30)
    assert out.stdout.startswith("Python 3.9.")

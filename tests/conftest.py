"""Fixtures shared by the test folders: fresh generations (with ARCHITECTURE.md) in temporary
directories; and the root/slow markers. It imports the generator only inside its fixtures: the
appliance tests also run on Python 3.9 with the appliance's venv, which has no generator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def main(argv: list[str]) -> int:
    from templates import main as generate  # the generator's packages, when a fixture needs them

    return generate(argv)


@pytest.fixture(scope="session")
def fresh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fresh")
    assert main(["--output", str(out), "--architecture", "both"]) == 0
    return out


@pytest.fixture(scope="session")
def three_az(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("three-az")
    assert main(["--output", str(out), "--az-count", "3", "--partition", "aws-cn"]) == 0
    return out / "aws-cn" / "single-vpc"


@pytest.fixture(scope="session")
def variants(tmp_path_factory) -> dict[str, Path]:
    """Every allowed AZ count in both partitions, each generated once: {variant name: set dir}."""
    from tests.set_helpers import VARIANTS

    root = tmp_path_factory.mktemp("variants")
    sets = {}
    for name, args in VARIANTS.items():
        out = root / name
        assert main(["--output", str(out), *args]) == 0, name
        (partition_dir,) = out.iterdir()
        (set_dir,) = partition_dir.iterdir()
        sets[name] = set_dir
    return sets


@pytest.fixture(scope="session")
def large(tmp_path_factory) -> Path:
    """The largest variant the options allow: ten application VPCs over three AZs (aws-cn)."""
    out = tmp_path_factory.mktemp("large")
    args = ["--architecture", "separated-vpc", "--app-vpcs", "10", "--az-count", "3"]
    assert main(["--output", str(out), "--partition", "aws-cn", *args]) == 0
    return out / "aws-cn" / "separated-vpc"


def _needs_root(item: pytest.Item) -> bool:
    """Tests that make network namespaces: their module imports the lab's namespace helper, or
    a skip marker says they need root."""
    helper = sys.modules.get("lab.netns")
    if helper is not None and any(
        value is helper or getattr(value, "__module__", None) == "lab.netns"
        for value in vars(item.module).values()
    ):
        return True
    return any("root" in str(m.kwargs.get("reason", "")) for m in item.iter_markers("skipif"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`pytest -m "not root"` runs as a normal user; `-m "not slow"` leaves out whole-lab runs
    and cfn-lint over every variant. `make test` runs everything."""
    for item in items:
        if _needs_root(item):
            item.add_marker(pytest.mark.root)
        if item.get_closest_marker("root") and "tests/lab/" in item.nodeid:
            item.add_marker(pytest.mark.slow)

"""Helpers shared by the generator tests: where the sets live and how to read them."""

from __future__ import annotations

from pathlib import Path

from generator import cfn_yaml

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "output"
SETS = [("aws", "single-vpc"), ("aws-cn", "single-vpc")]


def load_set(directory: Path) -> dict[str, dict]:
    return {p.name: cfn_yaml.load(p) for p in sorted(directory.glob("*.yml"))}


def resources(template: dict, type_: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}

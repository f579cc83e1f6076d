"""The hand-written transit gateway set (tests/verify/sets/tgw-two-spokes) for the verify tests:
its templates in memory, and the model of a (changed) copy."""

from __future__ import annotations

import copy
from pathlib import Path

from core import cfn_yaml
from verify import files, reader
from verify.evaluate import evaluate
from verify.model import SetModel

TGW_SET = Path(__file__).resolve().parent / "sets" / "tgw-two-spokes"
MASTER, SPOKE = "master.yaml", "spoke.yaml"
_TEMPLATES = {name: cfn_yaml.load(TGW_SET / name) for name in (MASTER, SPOKE)}


def templates() -> dict[str, dict]:
    """A fresh copy of the set's templates, to change."""
    return copy.deepcopy(_TEMPLATES)


def model(changed: dict[str, dict] | None = None, **parameters: str) -> SetModel:
    """The model of the set, or of a changed copy, with master parameter values."""
    set_files = files.from_templates(changed or templates(), MASTER)
    return reader.read(evaluate(set_files, parameters))

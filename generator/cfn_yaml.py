"""Reads CloudFormation YAML, short-form tags included, into plain long-form dicts."""

from __future__ import annotations

from pathlib import Path

import yaml


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ("Base64", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub", "If"):
    _Loader.add_constructor(f"!{_tag}", _intrinsic(f"Fn::{_tag}"))
_Loader.add_constructor("!Ref", _intrinsic("Ref"))
_Loader.add_constructor("!Condition", _intrinsic("Condition"))


def loads(text: str) -> dict:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load(path: Path) -> dict:
    return loads(path.read_text(encoding="utf-8"))

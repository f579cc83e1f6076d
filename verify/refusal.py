"""A refusal: what AWS would say of one resource of a set, with its error code and words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    resource: str  # the resource's label
    code: str  # AWS's error code
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.code}: {self.message}"

"""Reads the appliance's /metrics answer (Prometheus text format) into numbers by name."""

from __future__ import annotations

import contextlib


def parse(text: str, strip: str = "") -> dict[str, float]:
    """{name: value} of every sample line; `strip` is a prefix taken off each name."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            with contextlib.suppress(ValueError):
                out[parts[0].removeprefix(strip)] = float(parts[1])
    return out

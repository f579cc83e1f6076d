"""Writes rendered template sets under output/, replacing each set directory whole or not at all."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def write_sets(out_dir: Path, sets: dict[tuple[str, str], dict[str, str]]) -> list[Path]:
    """Write each (partition, architecture) set to out_dir/partition/architecture/.

    Everything is staged in a sibling temporary directory first, so a failure part-way leaves
    the previous sets in place, and files no longer generated disappear with their set.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    written: list[Path] = []
    try:
        for (partition, architecture), files in sets.items():
            target = staging / partition / architecture
            target.mkdir(parents=True)
            for name, text in files.items():
                (target / name).write_text(text, encoding="utf-8")
        for partition, architecture in sets:
            final = out_dir / partition / architecture
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                shutil.rmtree(final)
            (staging / partition / architecture).rename(final)
            written.extend(sorted(final.iterdir()))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written

#!/usr/bin/env python3
"""What `make templates` runs: the generator renders each set's YAML, the set reader traces it,
and each set is written with its ARCHITECTURE.md. The generator itself never reads its output."""

from __future__ import annotations

import sys
from pathlib import Path

from archdoc import page
from generator.cli import parser, render_sets
from generator.errors import GeneratorError
from generator.writer import write_sets
from verify.errors import SetError


def main(argv: list[str] | None = None) -> int:
    args = parser("python templates.py").parse_args(argv)
    try:
        sets = {}
        for (partition, architecture), (topology, files) in render_sets(args).items():
            doc = page.render(topology, partition, files)
            sets[(partition, architecture)] = {**files, page.DOC_FILE: doc}
    except (GeneratorError, SetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in write_sets(Path(args.output), sets):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

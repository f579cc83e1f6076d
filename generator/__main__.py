"""Entry point for `python -m generator`; all work happens in generator.cli."""

import sys

from generator.cli import main

sys.exit(main(sys.argv[1:]))

"""Entry point for `python3 -m appliance`; the work is in cli.main."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

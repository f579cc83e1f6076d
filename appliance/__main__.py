"""Entry point for `python3 -m appliance`; the work is in cli.main."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())

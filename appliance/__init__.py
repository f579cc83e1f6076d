"""GWLB Geneve inspection appliance: stdlib-only, runs as `python3 -m appliance`."""

__version__ = "1.0.0"

"""GWLB Geneve inspection appliance: Python 3.9 standard library only; `python3 -m appliance`."""

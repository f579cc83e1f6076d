"""Names every template set shares: the architectures, the master's file name, nested files."""

from __future__ import annotations

ARCHITECTURES = ("single-vpc", "separated-vpc")
MASTER_FILE = "CN-GWLB.yml"
NESTED_GLOB = "Nested-*.yml"

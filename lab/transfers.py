"""The large transfers the lab's probes ask for (files every web server serves beside its page),
and the GWLB emulator's count of packets it dropped for exceeding 8,500 bytes."""

from __future__ import annotations

from typing import Any

TRANSFERS = {"64 KB": "/lab-64k.bin", "200 KB": "/lab-200k.bin"}  # served by every web server
TRANSFER_BYTES = {"/lab-64k.bin": 64 * 1024, "/lab-200k.bin": 200 * 1024}


def oversized(emulator: Any) -> str:
    """The GWLB's count of packets over 8,500 bytes it dropped, when there are any."""
    dropped = emulator.drops["over_8500_bytes"]
    return f"; the GWLB has dropped {dropped} packets over 8,500 bytes" if dropped else ""

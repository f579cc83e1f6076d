"""The lab's report: one row per check, and the PASS/FAIL/BLOCKED table they print as."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    step: str
    flow: str
    ok: bool
    hops: str = ""
    endpoint_out: str = "-"
    endpoint_back: str = "-"
    appliance: str = "-"
    detail: str = ""
    blocked: bool = False  # stopped by a security group or network ACL, as on AWS (not a failure)

    @property
    def result(self) -> str:
        return "FAIL" if not self.ok else "BLOCKED" if self.blocked else "PASS"


def table(rows: list[Row]) -> str:
    head = ("result", "step", "flow", "endpoint out", "endpoint back", "appliance", "hops / detail")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        extra = "; ".join(part for part in (row.hops, row.detail) if part)
        lines.append(
            f"| {row.result} | {row.step} | {row.flow} | {row.endpoint_out} | "
            f"{row.endpoint_back} | {row.appliance} | {extra} |"
        )
    return "\n".join(lines)


def summary(rows: list[Row]) -> tuple[int, int, int]:
    """(PASS, BLOCKED, FAIL) counts."""
    failed = sum(not row.ok for row in rows)
    blocked = sum(row.result == "BLOCKED" for row in rows)
    return len(rows) - failed - blocked, blocked, failed

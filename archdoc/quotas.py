"""The quota section of ARCHITECTURE.md: what a set takes from an account's quotas, counted from
the rendered set by verify.needs, beside AWS's default for each (make preflight checks a real
account)."""

from __future__ import annotations

from core.quotas import QUOTAS
from verify import evaluate, files, needs


def section(parsed: dict[str, dict]) -> str:
    """The table for one parsed set ({file name: template})."""
    counted = needs.count(evaluate.evaluate(files.from_templates(parsed)))
    rows = ["| quota | code | this set needs | AWS default |", "|---|---|---|---|"]
    for quota in QUOTAS:
        if quota.need == "vcpus":
            continue  # per instance type, below: vCPUs per type come from the region at preflight
        need = getattr(counted, quota.need)
        flag = " (over the default)" if need > quota.default else ""
        code = quota.code or "fixed"
        rows.append(f"| {quota.label} | {code} | {need}{flag} | {quota.default:g} |")
    launched = ", ".join(f"{n} x {kind}" for kind, n in sorted(counted.instances.items()))
    return (
        "\n".join(rows)
        + f"\n\nInstances at most (Auto Scaling groups at their largest size): {launched}. "
        "`make preflight` compares these with the account's applied quotas and current usage, "
        "On-Demand Standard vCPUs included, and refuses a launch that would fall short."
    )

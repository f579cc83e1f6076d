"""The zones a new stack uses: given ones checked, an existing stack's kept, else chosen among the
region's zones where every instance type of the set is offered (zone letters map to different
physical zones per account, so an index into Fn::GetAZs can land where t3 is not offered)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from operate.aws import api_errors
from operate.context import Context
from operate.errors import UsageError
from operate.master import LocalSet
from operate.plan import DeployPlan
from verify import needs
from verify.errors import SetError


def region_zones(ec2: Any) -> list[str]:
    """The region's available availability zones (no Local or Wavelength Zones), by name."""
    with api_errors("ec2:DescribeAvailabilityZones"):
        found = ec2.describe_availability_zones(
            Filters=[{"Name": "state", "Values": ["available"]}]
        )["AvailabilityZones"]
    return sorted(
        zone["ZoneName"]
        for zone in found
        if zone.get("ZoneType", "availability-zone") == "availability-zone"
    )


def offered_zones(ec2: Any, instance_types: Sequence[str]) -> dict[str, set[str]]:
    """Instance type -> the zones that offer it."""
    offered: dict[str, set[str]] = {kind: set() for kind in instance_types}
    arguments: dict[str, Any] = {
        "LocationType": "availability-zone",
        "Filters": [{"Name": "instance-type", "Values": list(instance_types)}],
    }
    while True:
        with api_errors("ec2:DescribeInstanceTypeOfferings"):
            page = ec2.describe_instance_type_offerings(**arguments)
        for offering in page.get("InstanceTypeOfferings") or []:
            offered.setdefault(offering["InstanceType"], set()).add(offering["Location"])
        if not page.get("NextToken"):
            return offered
        arguments["NextToken"] = page["NextToken"]


def usable(zones: Sequence[str], offered: dict[str, set[str]]) -> list[str]:
    """The zones, in order, where every instance type is offered."""
    return [zone for zone in zones if all(zone in where for where in offered.values())]


def choose(zones: Sequence[str], offered: dict[str, set[str]], count: int) -> list[str]:
    """The first `count` zones where every instance type is offered, or a UsageError naming
    what is missing where."""
    fit = usable(zones, offered)
    if len(fit) < count:
        missing = ", ".join(
            f"{kind} not in {', '.join(sorted(set(zones) - where))}"
            for kind, where in sorted(offered.items())
            if set(zones) - where
        )
        raise UsageError(
            f"the set needs {count} zones offering {', '.join(sorted(offered))}; only "
            f"{len(fit)} do ({', '.join(fit) or 'none'}): {missing or 'no zone is available'}"
        )
    return fit[:count]


def for_deploy(
    ctx: Context,
    plan: DeployPlan,
    local: LocalSet | None,
    existing: dict[str, Any] | None,
    parameters: dict[str, str],
) -> str | None:
    """The AvailabilityZones value deploy passes; None to leave it as it is (an update keeps the
    stack's zones: other zones would replace every subnet and instance)."""
    count = local.az_count if local is not None else None
    if existing is not None and not plan.zones:
        ctx.view.message("Availability zones: kept as the stack has them (an update moves none).")
        return None
    if local is None or count is None:
        if plan.zones:
            return ",".join(plan.zones)
        ctx.view.message("Availability zones: left to the template (the set is not here).")
        return None
    if plan.zones and len(plan.zones) != count:
        raise UsageError(f"ZONES names {len(plan.zones)} zones; the set uses {count}")
    try:
        kinds = needs.of_directory(local.directory, parameters).instance_types
    except SetError as error:
        raise UsageError(str(error)) from None
    ec2 = ctx.client("ec2")
    offered = offered_zones(ec2, kinds)
    if plan.zones:
        refused = [zone for zone in plan.zones if zone not in usable(plan.zones, offered)]
        if refused:
            lacking = sorted(kind for kind, where in offered.items() if set(refused) - where)
            raise UsageError(
                f"zone {', '.join(refused)} does not offer {', '.join(lacking)}: choose others, "
                "or leave ZONES unset to have them chosen"
            )
        chosen = list(plan.zones)
        how = "as given"
    else:
        chosen = choose(region_zones(ec2), offered, count)
        how = f"each offers {', '.join(kinds)}" if kinds else "the set launches no instances"
    ctx.view.message(f"Availability zones: {', '.join(chosen)} ({how})")
    return ",".join(chosen)

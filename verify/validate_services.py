"""AWS's refusals for the services of a set: target group attributes, GWLB endpoints' zones,
ALBs' zones, Auto Scaling sizes, the GWLB listener's idle timeout and network ACL rule
numbers."""

from __future__ import annotations

from verify.model import SetModel
from verify.refusal import Refusal

FAILOVER_ATTRIBUTES = ("target_failover.on_deregistration", "target_failover.on_unhealthy")
FAILOVER_VALUES = ("rebalance", "no_rebalance")
TCP_IDLE_ATTRIBUTE = "tcp.idle_timeout.seconds"
TCP_IDLE_RANGE = (60, 6000)  # the GWLB listener's documented range
ACL_RULE_NUMBERS = (1, 32766)  # what a network ACL entry's RuleNumber may be


def target_groups(net: SetModel) -> list[Refusal]:
    found = []
    for group in net.target_groups.values():
        values = [group.attributes.get(a) for a in FAILOVER_ATTRIBUTES]
        set_values = [v for v in values if v is not None]
        if any(v not in FAILOVER_VALUES for v in set_values):
            found.append(
                Refusal(
                    group.name,
                    "ValidationError",
                    f"target_failover values must be one of {', '.join(FAILOVER_VALUES)}",
                )
            )
        elif set_values and (len(set_values) == 1 or values[0] != values[1]):
            found.append(
                Refusal(
                    group.name,
                    "ValidationError",
                    "target_failover.on_deregistration and target_failover.on_unhealthy must "
                    f"be set together to the same value (they are {values[0]} and {values[1]})",
                )
            )
    return found


def endpoints(net: SetModel) -> list[Refusal]:
    found = []
    for endpoint in net.endpoints.values():
        gwlb = net.gwlbs.get(endpoint.gwlb or "")
        if gwlb is None or endpoint.subnet not in net.subnets:
            continue
        zone = net.subnets[endpoint.subnet].az
        if not any(net.subnets[s].az == zone for s in gwlb.subnets if s in net.subnets):
            found.append(
                Refusal(
                    endpoint.label,
                    "InvalidParameter",
                    f"The VPC endpoint service of {gwlb.name} does not support the "
                    f"availability zone of subnet {net.label(endpoint.subnet)}",
                )
            )
    return found


def albs(net: SetModel) -> list[Refusal]:
    found = []
    for alb in net.albs.values():
        zones = {net.subnets[s].az for s in alb.subnets if s in net.subnets}
        if len(zones) < 2:
            found.append(
                Refusal(
                    alb.label,
                    "ValidationError",
                    "At least two subnets in two different Availability Zones must be specified",
                )
            )
    return found


def groups(net: SetModel) -> list[Refusal]:
    return [
        Refusal(
            group.name,
            "ValidationError",
            f"Desired capacity:{group.desired} must be between the specified min size:"
            f"{group.min_size} and max size:{group.max_size}",
        )
        for group in net.groups.values()
        if not group.min_size <= group.desired <= group.max_size
    ]


def listeners(net: SetModel) -> list[Refusal]:
    found = []
    for gwlb in net.gwlbs.values():
        value = gwlb.listener_attributes.get(TCP_IDLE_ATTRIBUTE)
        if value is not None and not (
            value.isdigit() and TCP_IDLE_RANGE[0] <= int(value) <= TCP_IDLE_RANGE[1]
        ):
            found.append(
                Refusal(
                    gwlb.name,
                    "ValidationError",
                    f"{TCP_IDLE_ATTRIBUTE} must be {TCP_IDLE_RANGE[0]}-{TCP_IDLE_RANGE[1]}, "
                    f"not {value}",
                )
            )
    return found


def network_acls(net: SetModel) -> list[Refusal]:
    found = []
    for acl in net.network_acls.values():
        seen: set[tuple[bool, int]] = set()
        for entry in acl.entries:
            way = "egress" if entry.egress else "ingress"
            if not ACL_RULE_NUMBERS[0] <= entry.number <= ACL_RULE_NUMBERS[1]:
                found.append(
                    Refusal(
                        acl.name,
                        "InvalidParameterValue",
                        f"{way} rule number {entry.number} is outside "
                        f"{ACL_RULE_NUMBERS[0]}-{ACL_RULE_NUMBERS[1]}",
                    )
                )
            if (entry.egress, entry.number) in seen:
                found.append(
                    Refusal(
                        acl.name,
                        "NetworkAclEntryAlreadyExists",
                        f"the {way} entry with rule number {entry.number} already exists",
                    )
                )
            seen.add((entry.egress, entry.number))
    return found

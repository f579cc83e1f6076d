"""The appliances' view of dual-stack: IPv6 workload addresses are Amazon's, so the shipped policy
learns the VPC's /56 as internal at launch (its outbound and in-VPC rules then hold for IPv6 as
they do for IPv4, and unsolicited inbound IPv6 meets the default drop)."""

from __future__ import annotations

import json

from troposphere import Sub

from appliance.policy import INTERNAL
from generator.model import VpcRole
from generator.stacks.base import NestedBuilder
from generator.stacks.ipv6_network import offered, vpc_block, when_dual_stack

VARIABLE = "Ipv6Internal"


def policy_head(builder: NestedBuilder) -> str:
    """The Fn::Sub placeholder that opens the policy object, where the appliances can know the
    workloads' /56 at launch (single-vpc: their own VPC's). In separated-vpc the application
    VPCs are created after the appliances, whose policy then needs their /56s added by reload."""
    return "${" + VARIABLE + "}" if _knows_workloads(builder) else ""


def variables(builder: NestedBuilder) -> dict:
    """The placeholder's value: with dual-stack, internal_cidrs = the defaults and the /56."""
    if not _knows_workloads(builder):
        return {}
    vpc = builder.topology.inspection_vpc
    head = '"internal_cidrs":' + json.dumps(INTERNAL, separators=(",", ":"))[:-1]
    value = Sub(head + ',"${Block}"],', Block=vpc_block(builder, vpc))
    return {VARIABLE: when_dual_stack(builder, value, "")}


def _knows_workloads(builder: NestedBuilder) -> bool:
    return offered(builder) and builder.topology.inspection_vpc.role is VpcRole.BOTH

"""The appliances' view of dual-stack: IPv6 workload addresses are Amazon's, so the shipped policy
learns each workload VPC's /56 as internal at launch (its outbound and in-VPC rules then hold for
IPv6 as they do for IPv4, and unsolicited inbound IPv6 meets the default drop)."""

from __future__ import annotations

import json

from troposphere import Sub

from appliance.policy import INTERNAL
from core import naming
from generator.model import Vpc, VpcRole
from generator.stacks.base import NestedBuilder
from generator.stacks.ipv6_network import offered, vpc_block, when_dual_stack

VARIABLE = "Ipv6Internal"
# VPCs whose workloads the appliances inspect: single-vpc's one, separated-vpc's applications.
WORKLOAD_ROLES = (VpcRole.BOTH, VpcRole.APPLICATION)


def policy_head(builder: NestedBuilder) -> str:
    """The Fn::Sub placeholder that opens the policy object, where the set offers dual-stack."""
    return "${" + VARIABLE + "}" if offered(builder) else ""


def variables(builder: NestedBuilder) -> dict:
    """The placeholder's value: with dual-stack, internal_cidrs = the defaults and every workload
    VPC's /56 (each one an input from the stack that builds that VPC, which therefore comes
    first); with ipv4, nothing, and the policy keeps its defaults."""
    if not offered(builder):
        return {}
    vpcs = workload_vpcs(builder)
    names = [f"Block{k}" for k in range(1, len(vpcs) + 1)]
    head = '"internal_cidrs":' + json.dumps(INTERNAL, separators=(",", ":"))[:-1]
    listed = "".join(f',"${{{name}}}"' for name in names)
    blocks = {
        name: vpc_block(
            builder, vpc, name=naming.prefixed_output(vpc.prefix, naming.VPC_IPV6_OUTPUT)
        )
        for name, vpc in zip(names, vpcs, strict=True)
    }
    return {VARIABLE: when_dual_stack(builder, Sub(head + listed + "],", **blocks), "")}


def workload_vpcs(builder: NestedBuilder) -> list[Vpc]:
    return [v for v in builder.topology.vpcs if v.role in WORKLOAD_ROLES]

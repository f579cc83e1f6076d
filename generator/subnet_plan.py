"""Places one VPC's subnets: tiers x AZs inside the VPC's block, explicit blocks first, the rest
allocated in order (the order of a derived VPC's Fn::Cidr blocks)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from core import naming
from generator import cidr
from generator.errors import CidrError
from generator.model import Subnet, Tier, Vpc


def plan_subnets(
    vpc: Vpc, tiers: tuple[Tier, ...], az_count: int, explicit_text: Mapping[str, str]
) -> list[Subnet]:
    """Tiers x AZs, with explicit blocks honoured first and the rest allocated in order."""
    parent = ipaddress.IPv4Network(vpc.cidr)
    requested = [
        Subnet(vpc=vpc.name, tier=t, az=az, cidr="", vpc_prefix=vpc.prefix)
        for t in tiers
        for az in range(az_count)
    ]
    known = {naming.subnet_id(s) for s in requested}
    unknown = sorted(set(explicit_text) - known)
    if unknown:
        raise CidrError(
            f"unknown subnet {unknown[0]!r} in a subnet CIDR; known: {', '.join(sorted(known))}"
        )
    explicit: dict[str, ipaddress.IPv4Network] = {}
    for name, text in explicit_text.items():
        net = cidr.parse_network(text, f"{name} CIDR")
        if not net.subnet_of(parent):
            raise CidrError(f"{name} CIDR {net} is outside the VPC CIDR {parent}")
        explicit[name] = net
    clash = cidr.first_overlap(sorted(explicit.items()))
    if clash:
        raise CidrError(f"subnet CIDRs overlap: {clash[0]} and {clash[1]}")
    free = iter(
        cidr.allocate(
            parent, vpc.subnet_prefix, len(requested) - len(explicit), taken=explicit.values()
        )
    )
    planned = []
    for index, subnet in enumerate(requested):
        name = naming.subnet_id(subnet)
        block = explicit[name] if name in explicit else next(free)
        planned.append(
            Subnet(subnet.vpc, subnet.tier, subnet.az, str(block), vpc.prefix, index=index)
        )
    return planned

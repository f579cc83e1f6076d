"""Security group rules for IPv6, each present only with dual-stack: the IPv4 rules' IPv6 twins,
with each subnet's /64 where the IPv4 rule names the subnet's block, and nothing wider. Each
helper returns a list, empty where the set offers no dual-stack, for the caller to splice in."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from troposphere import If, ec2

from core import naming
from generator.model import Subnet
from generator.stacks.base import NestedBuilder
from generator.stacks.ipv6_network import offered, subnet_block, when_dual_stack

ANYWHERE6 = "::/0"
ICMPV6_ECHO_REQUEST = 128


def _when(builder: NestedBuilder, rule: ec2.SecurityGroupRule) -> list[If]:
    return [when_dual_stack(builder, rule)] if offered(builder) else []


def rule6(builder: NestedBuilder, protocol: str, port: int, cidr, description: str) -> list[If]:
    """One TCP or UDP rule on one port for an IPv6 block."""
    return _when(
        builder,
        ec2.SecurityGroupRule(
            IpProtocol=protocol, FromPort=port, ToPort=port, CidrIpv6=cidr, Description=description
        ),
    )


def icmp6_echo(builder: NestedBuilder, cidr, description: str) -> list[If]:
    """ICMPv6 echo requests (type 128, code 0); replies return by the group's state."""
    return _when(
        builder,
        ec2.SecurityGroupRule(
            IpProtocol="icmpv6",
            FromPort=ICMPV6_ECHO_REQUEST,
            ToPort=0,
            CidrIpv6=cidr,
            Description=description,
        ),
    )


def per_subnet6(
    builder: NestedBuilder,
    protocol: str,
    port: int,
    subnets: Iterable[Subnet],
    describe: Callable[[str], str],
) -> list[If]:
    """One rule per subnet, each matching that subnet's /64."""
    return [
        rule
        for s in subnets
        for rule in rule6(
            builder, protocol, port, subnet_block(builder, s), describe(naming.subnet_label(s))
        )
    ]

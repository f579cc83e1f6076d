"""Security group rules as small described values, so each stack states its rules in one list."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from troposphere import ec2

from core import naming
from generator.model import Subnet


def rule(protocol: str, port: int | None, cidr, description: str) -> ec2.SecurityGroupRule:
    """One ingress or egress rule; port None means every port of the protocol."""
    low, high = (-1, -1) if port is None else (port, port)
    return ec2.SecurityGroupRule(
        IpProtocol=protocol, FromPort=low, ToPort=high, CidrIp=cidr, Description=description
    )


def icmp_echo(cidr, description: str) -> ec2.SecurityGroupRule:
    """ICMP echo requests (type 8, any code); replies return by the group's state."""
    return ec2.SecurityGroupRule(
        IpProtocol="icmp", FromPort=8, ToPort=-1, CidrIp=cidr, Description=description
    )


def per_subnet(
    builder, protocol: str, port: int, subnets: Iterable[Subnet], describe: Callable[[str], str]
) -> list[ec2.SecurityGroupRule]:
    """One rule per subnet, each matching that subnet's block as the template spells it;
    describe(label) says why."""
    return [
        rule(protocol, port, builder.subnet_cidr(s), describe(naming.subnet_label(s)))
        for s in subnets
    ]

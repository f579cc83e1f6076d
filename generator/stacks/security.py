"""Security group rules as small described values, so each stack states its rules in one list."""

from __future__ import annotations

from troposphere import ec2


def rule(protocol: str, port: int | None, cidr, description: str) -> ec2.SecurityGroupRule:
    """One ingress or egress rule; port None means every port of the protocol."""
    low, high = (-1, -1) if port is None else (port, port)
    return ec2.SecurityGroupRule(
        IpProtocol=protocol, FromPort=low, ToPort=high, CidrIp=cidr, Description=description
    )

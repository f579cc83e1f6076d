"""The master parameter that chooses IPv4 only or dual-stack at launch from the one set."""

from __future__ import annotations

from core import naming
from generator.stacks.param_spec import NETWORK_GROUP, ParamSpec

IP_ADDRESS_TYPES = ("ipv4", "dualstack")


def ip_address_type_spec() -> ParamSpec:
    return ParamSpec(
        naming.IP_ADDRESS_TYPE_PARAMETER,
        "String",
        "IP address type",
        NETWORK_GROUP,
        "ipv4, or dualstack: every VPC gets an Amazon-provided IPv6 /56 and each subnet a /64; "
        "the GWLB, its endpoint service and endpoints, the ALB, the web servers and the bastion "
        "are dual-stack, and IPv6 is inspected both ways through the same endpoints as IPv4. "
        "IPv6 addresses cost nothing; the GWLB and endpoint charges are unchanged.",
        default="ipv4",
        extra={"AllowedValues": list(IP_ADDRESS_TYPES)},
    )

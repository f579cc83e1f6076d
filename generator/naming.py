"""The one place that spells logical IDs, parameter names and Name tags, so every view agrees."""

from __future__ import annotations

from generator.model import Subnet, Tier

MASTER_FILE = "CN-GWLB.yml"

# Human labels for the tiers, used in Name tags and console labels.
TIER_LABELS = {
    Tier.PUBLIC: "public",
    Tier.ENDPOINT: "GWLB endpoint",
    Tier.APPLIANCE: "appliance",
    Tier.APPLICATION: "application",
}


def subnet_id(subnet: Subnet) -> str:
    """Logical ID of a subnet, e.g. PublicSubnet1 (AZ numbers start at 1 for people)."""
    return f"{subnet.vpc_prefix}{subnet.tier.value}Subnet{subnet.az + 1}"


def subnet_cidr_param(subnet: Subnet) -> str:
    return f"{subnet_id(subnet)}Cidr"


def route_table_id(subnet: Subnet) -> str:
    return f"{subnet_id(subnet)}RouteTable"


def association_id(subnet: Subnet) -> str:
    return f"{subnet_id(subnet)}RouteTableAssociation"


def nat_id(az: int) -> str:
    return f"NatGateway{az + 1}"


def nat_eip_id(az: int) -> str:
    return f"NatGateway{az + 1}Eip"


def endpoint_id(az: int, vpc_prefix: str = "") -> str:
    return f"{vpc_prefix}GwlbEndpoint{az + 1}"


def route_id(table_subnet: Subnet, target: str, destination: str) -> str:
    """Logical ID of one route: its table, where it points and what it matches."""
    return f"{subnet_id(table_subnet)}To{destination}Via{target}"


def web_server_id(az: int) -> str:
    return f"WebServer{az + 1}"


def stack_id(concern: str) -> str:
    """Logical ID of a nested stack in the master, e.g. NetworkStack."""
    return f"{concern}Stack"


def nested_file(concern: str) -> str:
    return f"Nested-{concern}.yml"


def subnet_label(subnet: Subnet) -> str:
    """Readable subnet name for Name tags, e.g. 'application subnet 2'."""
    return f"{TIER_LABELS[subnet.tier]} subnet {subnet.az + 1}"

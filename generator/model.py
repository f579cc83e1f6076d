"""The topology model: plain data (VPCs, subnets, route tables, routes), no troposphere."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Tier(enum.Enum):
    """What a subnet is for. The value is the word used in logical IDs."""

    PUBLIC = "Public"  # ALB nodes, NAT gateways, the bastion
    ENDPOINT = "Endpoint"  # GWLB endpoints: the next hop of inspected routes
    APPLIANCE = "Appliance"  # GWLB nodes and the inspection appliances
    APPLICATION = "Application"  # web servers


class TargetKind(enum.Enum):
    """Where a route sends traffic. The renderer maps each kind to one route property."""

    INTERNET_GATEWAY = "igw"
    NAT_GATEWAY = "nat"
    GWLB_ENDPOINT = "gwlbe"


@dataclass(frozen=True)
class Vpc:
    name: str  # "Vpc" for the single VPC; later "App1Vpc", "InspectionVpc", ...
    cidr: str
    prefix: str = ""  # prepended to logical IDs of its parts, empty for the single VPC


@dataclass(frozen=True)
class Subnet:
    vpc: str
    tier: Tier
    az: int  # 0-based index into Fn::GetAZs
    cidr: str
    vpc_prefix: str = ""


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    az: int | None = None  # NAT gateways and GWLB endpoints live one per AZ


@dataclass(frozen=True)
class Route:
    destination: str  # a CIDR
    target: Target
    # When the destination is exactly one subnet's block, the renderer refers to that subnet's
    # CIDR parameter, so a CIDR changed at launch moves its routes with it.
    destination_subnet: Subnet | None = None


@dataclass(frozen=True)
class RouteTable:
    subnet: Subnet  # one table per subnet: routes differ per tier and per AZ
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class Topology:
    architecture: str
    az_count: int
    vpcs: tuple[Vpc, ...]
    subnets: tuple[Subnet, ...]
    route_tables: tuple[RouteTable, ...]
    appliances_per_az: int = 1

    def subnet(self, tier: Tier, az: int, vpc: str | None = None) -> Subnet:
        for subnet in self.subnets:
            if subnet.tier is tier and subnet.az == az and (vpc is None or subnet.vpc == vpc):
                return subnet
        raise KeyError(f"no {tier.value} subnet in AZ {az + 1}")

    def tier(self, tier: Tier) -> tuple[Subnet, ...]:
        """Subnets of one tier in AZ order."""
        return tuple(sorted((s for s in self.subnets if s.tier is tier), key=lambda s: s.az))

    def table_for(self, subnet: Subnet) -> RouteTable:
        for table in self.route_tables:
            if table.subnet == subnet:
                return table
        raise KeyError(f"no route table for {subnet}")

    @property
    def azs(self) -> range:
        return range(self.az_count)

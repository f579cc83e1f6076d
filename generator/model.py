"""The topology model: plain data (VPCs with roles, subnets, route tables, routes, and where every
component sits), no troposphere. Several VPCs are the normal case: every query names its VPC
whenever more than one VPC could answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The default route's destination.
ANYWHERE = "0.0.0.0/0"


class Tier(enum.Enum):
    """What a subnet is for. The value is the word used in logical IDs."""

    PUBLIC = "Public"  # ALB nodes, NAT gateways, the bastion
    ENDPOINT = "Endpoint"  # GWLB endpoints: the next hop of inspected routes
    APPLIANCE = "Appliance"  # GWLB nodes and the inspection appliances
    APPLICATION = "Application"  # web servers
    TRANSIT = "Transit"  # a transit gateway attachment's network interfaces (tgw-centralized)


class VpcRole(enum.Enum):
    """What a VPC holds: the application side, the inspection side, or both (single-vpc)."""

    APPLICATION = "application"  # web servers, ALB, GWLB endpoints
    INSPECTION = "inspection"  # GWLB, appliances
    BOTH = "both"
    INGRESS = "ingress"  # tgw-centralized: the internet-facing ALB and the bastion, no workloads

    @property
    def serves_applications(self) -> bool:
        return self in (VpcRole.APPLICATION, VpcRole.BOTH)

    @property
    def inspects(self) -> bool:
        return self in (VpcRole.INSPECTION, VpcRole.BOTH)


class CidrSource(enum.Enum):
    """How a template spells a VPC's subnet blocks."""

    PARAMETERS = "parameters"  # one master parameter per subnet (single-vpc)
    # Fn::Cidr of the VPC's own block, so each VPC is one console field (separated-vpc).
    DERIVED = "derived"


class TargetKind(enum.Enum):
    """Where a route sends traffic. The renderer maps each kind to one route property."""

    INTERNET_GATEWAY = "igw"
    NAT_GATEWAY = "nat"
    GWLB_ENDPOINT = "gwlbe"
    TRANSIT_GATEWAY = "tgw"  # the set's one transit gateway, through the VPC's attachment


class ComponentKind(enum.Enum):
    """Everything that sits somewhere in the topology besides subnets and routes."""

    INTERNET_GATEWAY = "internet gateway"
    NAT_GATEWAY = "NAT gateway"
    GWLB = "Gateway Load Balancer"
    ENDPOINT_SERVICE = "endpoint service"
    GWLB_ENDPOINT = "GWLB endpoint"
    ALB = "Application Load Balancer"
    APPLIANCES = "appliance group"
    WEB_SERVER = "web server"
    BASTION = "bastion"
    TRANSIT_GATEWAY = "transit gateway"
    TRANSIT_ATTACHMENT = "transit gateway attachment"


@dataclass(frozen=True)
class Vpc:
    name: str  # "Vpc" (single-vpc), "InspectionVpc", "App1Vpc", ...
    cidr: str
    role: VpcRole
    prefix: str = ""  # prepended to master-level names of its parts: "", "Inspection", "App1"
    number: int | None = None  # application VPCs are numbered from 1
    cidr_source: CidrSource = CidrSource.PARAMETERS
    subnet_prefix: int = 24

    @property
    def label(self) -> str:
        """Readable name, e.g. 'application VPC 2'."""
        if self.role is VpcRole.BOTH:
            return "VPC"
        if self.role is VpcRole.INSPECTION:
            return "inspection VPC"
        if self.role is VpcRole.INGRESS:
            return "ingress VPC"
        return f"application VPC {self.number}"


@dataclass(frozen=True)
class Subnet:
    vpc: str
    tier: Tier
    az: int  # 0-based index into Fn::GetAZs
    cidr: str
    vpc_prefix: str = ""
    index: int = 0  # position in its VPC's allocation: the Fn::Cidr index when derived


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    vpc: str  # the VPC whose gateway, NAT gateway or endpoint this is
    az: int | None = None  # NAT gateways and GWLB endpoints live one per AZ


@dataclass(frozen=True)
class Route:
    destination: str  # a CIDR
    target: Target
    # When the destination is exactly one subnet's block, the renderer refers to that subnet's
    # CIDR (its parameter or its derived block), so a CIDR changed at launch moves its routes.
    destination_subnet: Subnet | None = None
    # Likewise a destination that is exactly one VPC's block (a spoke, seen from elsewhere).
    destination_vpc: Vpc | None = None


@dataclass(frozen=True)
class RouteTable:
    subnet: Subnet  # one table per subnet: routes differ per tier and per AZ
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class Component:
    kind: ComponentKind
    vpc: str
    subnets: tuple[Subnet, ...]  # where it sits: one subnet, or one per AZ it spans
    number: int | None = None  # web server N, NAT gateway / endpoint of AZ N (1-based)

    @property
    def az(self) -> int | None:
        return self.subnets[0].az if len(self.subnets) == 1 else None


@dataclass(frozen=True)
class TransitTable:
    """A transit gateway route table: static routes to attached VPCs, named by their VPC."""

    name: str  # Spokes, Inspection, Ingress
    static: tuple[tuple[str, str], ...] = ()  # (destination, VPC whose attachment it goes to)


@dataclass(frozen=True)
class Attachment:
    """One VPC's transit gateway attachment: its subnets, its table, where its block goes."""

    vpc: str
    subnets: tuple[Subnet, ...]  # one per AZ, in the Transit tier
    table: str  # the route table it is associated with
    propagates_to: tuple[str, ...]  # tables that learn its VPC's block
    # On for the inspection VPC: one AZ per flow, both ways, whatever AZ the flow came from.
    appliance_mode: bool = False


@dataclass(frozen=True)
class Transit:
    tables: tuple[TransitTable, ...]
    attachments: tuple[Attachment, ...]

    def attachment(self, vpc: str) -> Attachment:
        (found,) = (a for a in self.attachments if a.vpc == vpc)
        return found


@dataclass(frozen=True)
class Topology:
    architecture: str
    az_count: int
    vpcs: tuple[Vpc, ...]
    subnets: tuple[Subnet, ...]
    route_tables: tuple[RouteTable, ...]
    components: tuple[Component, ...] = ()
    appliances_per_az: int = 1
    appliance: str = "ours"  # or "byo": the user's image
    byo_readiness: str = "gwlb"
    transit: Transit | None = None  # tgw-centralized only

    def vpc(self, name: str) -> Vpc:
        for vpc in self.vpcs:
            if vpc.name == name:
                return vpc
        raise KeyError(f"no VPC {name}")

    def vpcs_of(self, role: VpcRole) -> tuple[Vpc, ...]:
        return tuple(v for v in self.vpcs if v.role is role)

    @property
    def inspection_vpc(self) -> Vpc:
        (vpc,) = (v for v in self.vpcs if v.role.inspects)
        return vpc

    @property
    def application_vpcs(self) -> tuple[Vpc, ...]:
        return tuple(v for v in self.vpcs if v.role.serves_applications)

    def _only_vpc(self, vpc: str | None, what: str) -> str:
        if vpc is not None:
            return vpc
        if len(self.vpcs) > 1:
            raise ValueError(f"{what}: name the VPC, this topology has {len(self.vpcs)}")
        return self.vpcs[0].name

    def subnet(self, tier: Tier, az: int, vpc: str | None = None) -> Subnet:
        vpc = self._only_vpc(vpc, f"{tier.value} subnet {az + 1}")
        for subnet in self.subnets:
            if subnet.tier is tier and subnet.az == az and subnet.vpc == vpc:
                return subnet
        raise KeyError(f"no {tier.value} subnet in AZ {az + 1} of {vpc}")

    def tier(self, tier: Tier, vpc: str | None = None) -> tuple[Subnet, ...]:
        """Subnets of one tier of one VPC, in AZ order."""
        vpc = self._only_vpc(vpc, f"{tier.value} subnets")
        found = (s for s in self.subnets if s.tier is tier and s.vpc == vpc)
        return tuple(sorted(found, key=lambda s: s.az))

    def subnets_of(self, vpc: str) -> tuple[Subnet, ...]:
        """A VPC's subnets in allocation order."""
        return tuple(sorted((s for s in self.subnets if s.vpc == vpc), key=lambda s: s.index))

    def placed(self, kind: ComponentKind, vpc: str | None = None) -> tuple[Component, ...]:
        """Components of one kind, in one VPC when given, in model order."""
        return tuple(c for c in self.components if c.kind is kind and vpc in (None, c.vpc))

    def one(self, kind: ComponentKind, vpc: str | None = None) -> Component:
        (component,) = self.placed(kind, vpc)
        return component

    @property
    def azs(self) -> range:
        return range(self.az_count)

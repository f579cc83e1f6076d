"""Options to topology: VPCs with roles, requested subnets, allocated CIDRs, routes per tier and AZ,
and the placement of every component. One set of routing rules serves both architectures: it is
scoped to each VPC, and the VPC's role says which tiers it has."""

from __future__ import annotations

import ipaddress

from core import naming
from generator import cidr, topology_tgw
from generator.errors import CidrError
from generator.model import (
    ANYWHERE,
    CidrSource,
    Component,
    ComponentKind,
    Route,
    RouteTable,
    Subnet,
    Target,
    TargetKind,
    Tier,
    Topology,
    Vpc,
    VpcRole,
)
from generator.options import SEPARATED_VPC, SINGLE_VPC, TGW_CENTRALIZED, Options
from generator.subnet_plan import plan_subnets

# Tiers in allocation order: the order of a derived VPC's Fn::Cidr blocks.
TIERS = {
    VpcRole.BOTH: (Tier.PUBLIC, Tier.ENDPOINT, Tier.APPLIANCE, Tier.APPLICATION),
    VpcRole.APPLICATION: (Tier.PUBLIC, Tier.ENDPOINT, Tier.APPLICATION),
    # The inspection VPC's own NAT gateways carry the appliances' egress (Session Manager,
    # signals), which so never crosses an application VPC or a GWLB endpoint.
    VpcRole.INSPECTION: (Tier.PUBLIC, Tier.APPLIANCE),
}


def build(options: Options) -> Topology:
    """The validated topology that every template, test and document is a view of."""
    if options.architecture == TGW_CENTRALIZED:
        return topology_tgw.build(options, _separated_vpcs(options))
    if options.architecture == SEPARATED_VPC:
        vpcs = _separated_vpcs(options)
    else:
        vpcs = (
            Vpc(
                naming.SINGLE_VPC,
                str(cidr.parse_network(options.vpc_cidr, "VPC CIDR")),
                VpcRole.BOTH,
                subnet_prefix=options.subnet_prefix,
            ),
        )
    subnets: list[Subnet] = []
    for vpc in vpcs:
        explicit = options.subnet_cidrs if options.architecture == SINGLE_VPC else {}
        subnets += plan_subnets(vpc, TIERS[vpc.role], options.az_count, explicit)
    tables = tuple(_route_table(s, subnets, options.az_count) for s in subnets)
    return Topology(
        architecture=options.architecture,
        az_count=options.az_count,
        vpcs=vpcs,
        subnets=tuple(subnets),
        route_tables=tables,
        components=_components(vpcs, subnets),
        appliances_per_az=options.appliances_per_az,
        appliance=options.appliance,
        byo_readiness=options.byo_readiness,
    )


def _separated_vpcs(options: Options) -> tuple[Vpc, ...]:
    """The inspection VPC, then application VPCs 1..N on consecutive blocks of one size, then
    (tgw-centralized) the ingress VPC."""
    inspection = cidr.parse_network(options.vpc_cidr, "inspection VPC CIDR")
    first = cidr.parse_network(options.app_vpc_cidr, "application VPC CIDR")
    blocks = {naming.vpc_name(naming.INSPECTION_PREFIX): inspection}
    for index in range(options.app_vpcs):
        start = int(first.network_address) + index * first.num_addresses
        if start + first.num_addresses > 2**32:
            raise CidrError(
                f"{options.app_vpcs} application VPCs of /{first.prefixlen} "
                f"do not fit after {first}"
            )
        blocks[naming.vpc_name(naming.app_prefix(index + 1))] = ipaddress.IPv4Network(
            (start, first.prefixlen)
        )
    ingress = options.architecture == TGW_CENTRALIZED
    if ingress:
        ingress_name = naming.vpc_name(naming.INGRESS_PREFIX)
        blocks[ingress_name] = cidr.parse_network(options.ingress_vpc_cidr, "ingress VPC CIDR")
    clash = cidr.first_overlap(list(blocks.items()))
    if clash:
        raise CidrError(f"VPC CIDRs overlap: {clash[0]} and {clash[1]}")
    derived = {"cidr_source": CidrSource.DERIVED, "subnet_prefix": options.subnet_prefix}
    vpcs = [
        Vpc(
            naming.vpc_name(naming.INSPECTION_PREFIX),
            str(inspection),
            VpcRole.INSPECTION,
            prefix=naming.INSPECTION_PREFIX,
            **derived,
        )
    ]
    for number in range(1, options.app_vpcs + 1):
        prefix = naming.app_prefix(number)
        name = naming.vpc_name(prefix)
        vpcs.append(
            Vpc(name, str(blocks[name]), VpcRole.APPLICATION, prefix, number=number, **derived)
        )
    if ingress:
        vpcs.append(
            Vpc(
                ingress_name,
                str(blocks[ingress_name]),
                VpcRole.INGRESS,
                naming.INGRESS_PREFIX,
                **derived,
            )
        )
    return tuple(vpcs)


def _route_table(subnet: Subnet, subnets: list[Subnet], az_count: int) -> RouteTable:
    """Routes that make every flow cross the GWLB endpoint of one AZ in both directions.

    Flows between a public subnet and an application subnet use the endpoint in the public
    subnet's AZ both ways, which keeps cross-zone ALB traffic symmetric without Lambda help.
    Every route stays inside the subnet's own VPC.
    """
    vpc, az = subnet.vpc, subnet.az
    peers = {(s.tier, s.az): s for s in subnets if s.vpc == vpc}
    endpoint = lambda at: Target(TargetKind.GWLB_ENDPOINT, vpc, at)  # noqa: E731
    routes: list[Route] = []
    if subnet.tier is Tier.PUBLIC:
        routes.append(Route(ANYWHERE, Target(TargetKind.INTERNET_GATEWAY, vpc)))
        for other in range(az_count):
            app = peers.get((Tier.APPLICATION, other))
            if app is not None:
                routes.append(Route(app.cidr, endpoint(az), app))
    elif subnet.tier in (Tier.ENDPOINT, Tier.APPLIANCE):
        # Appliances reach the internet (Session Manager, signals) directly, never via the GWLB.
        routes.append(Route(ANYWHERE, Target(TargetKind.NAT_GATEWAY, vpc, az)))
    elif subnet.tier is Tier.APPLICATION:
        routes.append(Route(ANYWHERE, endpoint(az)))
        for other in range(az_count):
            public = peers[(Tier.PUBLIC, other)]
            routes.append(Route(public.cidr, endpoint(other), public))
    return RouteTable(subnet=subnet, routes=tuple(routes))


def _components(vpcs: tuple[Vpc, ...], subnets: list[Subnet]) -> tuple[Component, ...]:
    """Where everything sits: per VPC its gateways, then what its role brings."""

    def tier(vpc: Vpc, t: Tier) -> tuple[Subnet, ...]:
        return tuple(
            sorted((s for s in subnets if s.vpc == vpc.name and s.tier is t), key=lambda s: s.az)
        )

    placed: list[Component] = []
    for vpc in vpcs:
        public = tier(vpc, Tier.PUBLIC)
        placed.append(Component(ComponentKind.INTERNET_GATEWAY, vpc.name, public))
        placed += [
            Component(ComponentKind.NAT_GATEWAY, vpc.name, (s,), number=s.az + 1) for s in public
        ]
        if vpc.role.inspects:
            appliance = tier(vpc, Tier.APPLIANCE)
            placed.append(Component(ComponentKind.GWLB, vpc.name, appliance))
            placed.append(Component(ComponentKind.ENDPOINT_SERVICE, vpc.name, appliance))
            placed.append(Component(ComponentKind.APPLIANCES, vpc.name, appliance))
        if vpc.role.serves_applications:
            placed += [
                Component(ComponentKind.GWLB_ENDPOINT, vpc.name, (s,), number=s.az + 1)
                for s in tier(vpc, Tier.ENDPOINT)
            ]
            placed.append(Component(ComponentKind.ALB, vpc.name, public))
            placed += [
                Component(ComponentKind.WEB_SERVER, vpc.name, (s,), number=s.az + 1)
                for s in tier(vpc, Tier.APPLICATION)
            ]
    # The bastion sits in the first application VPC; the others are reached by Session Manager.
    first_app = next(v for v in vpcs if v.role.serves_applications)
    placed.append(
        Component(ComponentKind.BASTION, first_app.name, tier(first_app, Tier.PUBLIC)[:1])
    )
    return tuple(placed)

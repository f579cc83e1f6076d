"""Options to topology: requested subnets, allocated CIDRs, then routes per tier and AZ."""

from __future__ import annotations

import ipaddress

from generator import cidr, naming
from generator.errors import CidrError
from generator.model import Route, RouteTable, Subnet, Target, TargetKind, Tier, Topology, Vpc
from generator.options import Options

ANYWHERE = "0.0.0.0/0"
SINGLE_VPC_TIERS = (Tier.PUBLIC, Tier.ENDPOINT, Tier.APPLIANCE, Tier.APPLICATION)


def build(options: Options) -> Topology:
    """The validated topology that every template, test and document is a view of."""
    builders = {"single-vpc": _single_vpc}
    return builders[options.architecture](options)


def _single_vpc(options: Options) -> Topology:
    vpc = Vpc(name="Vpc", cidr=str(cidr.parse_network(options.vpc_cidr, "VPC CIDR")))
    subnets = _plan_subnets(vpc, SINGLE_VPC_TIERS, options)
    by_key = {(s.tier, s.az): s for s in subnets}
    tables = tuple(_single_vpc_routes(s, by_key, options.az_count) for s in subnets)
    return Topology(
        architecture=options.architecture,
        az_count=options.az_count,
        vpcs=(vpc,),
        subnets=subnets,
        route_tables=tables,
        appliances_per_az=options.appliances_per_az,
    )


def _plan_subnets(vpc: Vpc, tiers: tuple[Tier, ...], options: Options) -> tuple[Subnet, ...]:
    """Tiers x AZs, with explicit blocks honoured first and the rest allocated in order."""
    parent = ipaddress.IPv4Network(vpc.cidr)
    requested = [
        Subnet(vpc=vpc.name, tier=t, az=az, cidr="", vpc_prefix=vpc.prefix)
        for t in tiers
        for az in range(options.az_count)
    ]
    known = {naming.subnet_id(s) for s in requested}
    unknown = sorted(set(options.subnet_cidrs) - known)
    if unknown:
        raise CidrError(
            f"unknown subnet {unknown[0]!r} in a subnet CIDR; known: {', '.join(sorted(known))}"
        )
    explicit: dict[str, ipaddress.IPv4Network] = {}
    for name, text in options.subnet_cidrs.items():
        net = cidr.parse_network(text, f"{name} CIDR")
        if not net.subnet_of(parent):
            raise CidrError(f"{name} CIDR {net} is outside the VPC CIDR {parent}")
        explicit[name] = net
    clash = cidr.first_overlap(sorted(explicit.items()))
    if clash:
        raise CidrError(f"subnet CIDRs overlap: {clash[0]} and {clash[1]}")
    free = iter(
        cidr.allocate(
            parent,
            options.subnet_prefix,
            len(requested) - len(explicit),
            taken=explicit.values(),
        )
    )
    planned = []
    for subnet in requested:
        name = naming.subnet_id(subnet)
        block = explicit[name] if name in explicit else next(free)
        planned.append(
            Subnet(subnet.vpc, subnet.tier, subnet.az, str(block), vpc_prefix=subnet.vpc_prefix)
        )
    return tuple(planned)


def _single_vpc_routes(subnet: Subnet, by_key: dict, az_count: int) -> RouteTable:
    """Routes that make every flow cross the GWLB endpoint of one AZ in both directions.

    Flows between a public subnet and an application subnet use the endpoint in the public
    subnet's AZ both ways, which keeps cross-zone ALB traffic symmetric without Lambda help.
    """
    az = subnet.az
    nat = Target(TargetKind.NAT_GATEWAY, az)
    routes: list[Route] = []
    if subnet.tier is Tier.PUBLIC:
        routes.append(Route(ANYWHERE, Target(TargetKind.INTERNET_GATEWAY)))
        for other in range(az_count):
            app = by_key[(Tier.APPLICATION, other)]
            routes.append(Route(app.cidr, Target(TargetKind.GWLB_ENDPOINT, az), app))
    elif subnet.tier is Tier.ENDPOINT:
        routes.append(Route(ANYWHERE, nat))
    elif subnet.tier is Tier.APPLIANCE:
        # Appliances reach the internet (Session Manager, signals) directly, never via the GWLB.
        routes.append(Route(ANYWHERE, nat))
    elif subnet.tier is Tier.APPLICATION:
        routes.append(Route(ANYWHERE, Target(TargetKind.GWLB_ENDPOINT, az)))
        for other in range(az_count):
            public = by_key[(Tier.PUBLIC, other)]
            routes.append(Route(public.cidr, Target(TargetKind.GWLB_ENDPOINT, other), public))
    return RouteTable(subnet=subnet, routes=tuple(routes))

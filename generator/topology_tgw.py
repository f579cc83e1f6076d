"""tgw-centralized as a topology: an inspection VPC, spoke VPCs and an ingress VPC joined by one
transit gateway, with the routes that send every flow between them, and between them and the
internet, through the GWLB endpoint of one AZ in both directions."""

from __future__ import annotations

from generator.model import (
    ANYWHERE,
    Attachment,
    Component,
    ComponentKind,
    Route,
    RouteTable,
    Subnet,
    Target,
    TargetKind,
    Tier,
    Topology,
    Transit,
    TransitTable,
    Vpc,
    VpcRole,
)
from generator.options import Options
from generator.subnet_plan import plan_subnets

# Transit tiers come last in each VPC, so the tiers the other architectures share keep their
# blocks' places.
TIERS = {
    VpcRole.INSPECTION: (Tier.PUBLIC, Tier.ENDPOINT, Tier.APPLIANCE, Tier.TRANSIT),
    VpcRole.APPLICATION: (Tier.APPLICATION, Tier.TRANSIT),
    VpcRole.INGRESS: (Tier.PUBLIC, Tier.TRANSIT),
}
# The transit gateway's route tables, by the attachments associated with them.
SPOKES, INSPECTION, INGRESS = "Spokes", "Inspection", "Ingress"


def build(options: Options, vpcs: tuple[Vpc, ...]) -> Topology:
    subnets: list[Subnet] = []
    for vpc in vpcs:
        subnets += plan_subnets(vpc, TIERS[vpc.role], options.az_count, {})
    spokes = tuple(v for v in vpcs if v.role is VpcRole.APPLICATION)
    return Topology(
        architecture=options.architecture,
        az_count=options.az_count,
        vpcs=vpcs,
        subnets=tuple(subnets),
        route_tables=tuple(_route_table(s, subnets, spokes, vpcs) for s in subnets),
        components=_components(vpcs, subnets),
        appliances_per_az=options.appliances_per_az,
        appliance=options.appliance,
        byo_readiness=options.byo_readiness,
        transit=_transit(vpcs, subnets),
    )


def _route_table(
    subnet: Subnet, subnets: list[Subnet], spokes: tuple[Vpc, ...], vpcs: tuple[Vpc, ...]
) -> RouteTable:
    """Routes per tier. The inspection VPC is where every path turns: traffic arriving from the
    transit gateway meets the endpoint of its AZ, leaves the endpoint towards the transit gateway
    or the NAT gateway of that AZ, and returns from the internet through that endpoint again.
    The transit gateway's appliance mode keeps both directions of a flow in one AZ."""
    vpc = next(v for v in vpcs if v.name == subnet.vpc)
    az = subnet.az
    tgw = Target(TargetKind.TRANSIT_GATEWAY, vpc.name)
    endpoint = Target(TargetKind.GWLB_ENDPOINT, vpc.name, az)
    routes: list[Route] = []
    if vpc.role is VpcRole.INSPECTION:
        if subnet.tier is Tier.TRANSIT:
            routes.append(Route(ANYWHERE, endpoint))
        elif subnet.tier is Tier.ENDPOINT:
            routes.append(Route(ANYWHERE, Target(TargetKind.NAT_GATEWAY, vpc.name, az)))
            others = [v for v in vpcs if v.role in (VpcRole.APPLICATION, VpcRole.INGRESS)]
            routes += [Route(v.cidr, tgw, destination_vpc=v) for v in others]
        elif subnet.tier is Tier.APPLIANCE:
            # Appliances reach the internet (Session Manager, signals) directly, never via the
            # GWLB they serve.
            routes.append(Route(ANYWHERE, Target(TargetKind.NAT_GATEWAY, vpc.name, az)))
        elif subnet.tier is Tier.PUBLIC:
            routes.append(Route(ANYWHERE, Target(TargetKind.INTERNET_GATEWAY, vpc.name)))
            # Replies to the spokes' egress, after the NAT gateway, go back through the endpoint
            # that saw them leave (the NAT gateway and the endpoint share an AZ).
            routes += [Route(v.cidr, endpoint, destination_vpc=v) for v in spokes]
    elif vpc.role is VpcRole.APPLICATION and subnet.tier is Tier.APPLICATION:
        routes.append(Route(ANYWHERE, tgw))
    elif vpc.role is VpcRole.INGRESS and subnet.tier is Tier.PUBLIC:
        routes.append(Route(ANYWHERE, Target(TargetKind.INTERNET_GATEWAY, vpc.name)))
        routes += [Route(v.cidr, tgw, destination_vpc=v) for v in spokes]
    # Transit subnets of spokes and the ingress VPC keep only the local route: what arrives from
    # the transit gateway is delivered inside the VPC.
    return RouteTable(subnet=subnet, routes=tuple(routes))


def _transit(vpcs: tuple[Vpc, ...], subnets: list[Subnet]) -> Transit:
    """Spokes and the ingress VPC send everything to the inspection VPC; the inspection VPC's
    table learns every other VPC's block from its attachment."""
    (inspection,) = (v for v in vpcs if v.role is VpcRole.INSPECTION)
    tables = (
        TransitTable(SPOKES, ((ANYWHERE, inspection.name),)),
        TransitTable(INSPECTION),
        TransitTable(INGRESS, ((ANYWHERE, inspection.name),)),
    )
    table_of = {VpcRole.INSPECTION: INSPECTION, VpcRole.APPLICATION: SPOKES}
    attachments = []
    for vpc in vpcs:
        own = tuple(
            sorted(
                (s for s in subnets if s.vpc == vpc.name and s.tier is Tier.TRANSIT),
                key=lambda s: s.az,
            )
        )
        inspects = vpc.role is VpcRole.INSPECTION
        attachments.append(
            Attachment(
                vpc=vpc.name,
                subnets=own,
                table=table_of.get(vpc.role, INGRESS),
                propagates_to=() if inspects else (INSPECTION,),
                appliance_mode=inspects,
            )
        )
    return Transit(tables, tuple(attachments))


def _components(vpcs: tuple[Vpc, ...], subnets: list[Subnet]) -> tuple[Component, ...]:
    def tier(vpc: Vpc, t: Tier) -> tuple[Subnet, ...]:
        found = (s for s in subnets if s.vpc == vpc.name and s.tier is t)
        return tuple(sorted(found, key=lambda s: s.az))

    placed = [Component(ComponentKind.TRANSIT_GATEWAY, "", ())]
    for vpc in vpcs:
        placed.append(
            Component(ComponentKind.TRANSIT_ATTACHMENT, vpc.name, tier(vpc, Tier.TRANSIT))
        )
        if vpc.role is VpcRole.INSPECTION:
            public = tier(vpc, Tier.PUBLIC)
            appliance = tier(vpc, Tier.APPLIANCE)
            placed.append(Component(ComponentKind.INTERNET_GATEWAY, vpc.name, public))
            placed += [
                Component(ComponentKind.NAT_GATEWAY, vpc.name, (s,), number=s.az + 1)
                for s in public
            ]
            placed.append(Component(ComponentKind.GWLB, vpc.name, appliance))
            placed.append(Component(ComponentKind.ENDPOINT_SERVICE, vpc.name, appliance))
            placed.append(Component(ComponentKind.APPLIANCES, vpc.name, appliance))
            placed += [
                Component(ComponentKind.GWLB_ENDPOINT, vpc.name, (s,), number=s.az + 1)
                for s in tier(vpc, Tier.ENDPOINT)
            ]
        elif vpc.role is VpcRole.APPLICATION:
            placed += [
                Component(ComponentKind.WEB_SERVER, vpc.name, (s,), number=s.az + 1)
                for s in tier(vpc, Tier.APPLICATION)
            ]
        else:  # ingress: the internet-facing ALB and the bastion, both reaching the spokes
            public = tier(vpc, Tier.PUBLIC)
            placed.append(Component(ComponentKind.INTERNET_GATEWAY, vpc.name, public))
            placed.append(Component(ComponentKind.ALB, vpc.name, public))
            placed.append(Component(ComponentKind.BASTION, vpc.name, public[:1]))
    return tuple(placed)

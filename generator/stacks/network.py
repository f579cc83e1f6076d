"""One VPC's network: the VPC, its subnets and route tables, the internet gateway, one NAT gateway
per AZ and the routes to them. Nested-Network (single-vpc) and Nested-InspectionNetwork build one
VPC each with it; each application VPC's template builds its own with it too. Routes through GWLB
endpoints are added where the endpoints exist (see add_routes)."""

from __future__ import annotations

from collections.abc import Callable

from troposphere import GetAtt, Ref, ec2

from core import naming
from generator.model import ComponentKind, Route, TargetKind, Topology, Vpc
from generator.stacks import ipv6_network, transit
from generator.stacks.base import VPC_ID, Nested, NestedBuilder
from generator.stacks.routes import add_routes


def build(topology: Topology, vpc: Vpc, catalogue: dict, export_route_tables: bool) -> Nested:
    """A nested template holding one VPC's network (single-vpc, or the inspection VPC); with
    export_route_tables, another stack adds the endpoint routes to its tables."""
    concern = naming.prefixed(vpc.prefix, "Network")
    builder = NestedBuilder(
        concern,
        f"GWLB quickstart: {vpc.label if vpc.prefix else 'VPC'}, subnets, route tables, "
        "internet gateway, one NAT gateway per AZ.",
        catalogue,
        topology,
        local=(vpc.name,),
    )
    add_network(builder, vpc, export_route_tables)
    return builder.done()


def add_network(builder: NestedBuilder, vpc: Vpc, export_route_tables: bool = False) -> None:
    """Everything of one VPC's network except the routes through GWLB endpoints: with a
    transit gateway, the VPC's attachment and its routes to the gateway too."""
    _add_vpc(builder, vpc)
    ipv6_network.add_vpc_block(builder, vpc)
    _add_subnets(builder, vpc, export_route_tables)
    _add_gateways(builder, vpc)
    kinds = {TargetKind.INTERNET_GATEWAY, TargetKind.NAT_GATEWAY}
    if builder.topology.transit is not None:
        transit.add_attachment(builder, vpc)
        kinds.add(TargetKind.TRANSIT_GATEWAY)
    add_vpc_routes(builder, vpc, kinds, lambda route: _gateway_ref(builder, route))
    ipv6_network.add_routes(
        builder,
        vpc,
        TargetKind.INTERNET_GATEWAY,
        lambda subnet: Ref(naming.route_table_id(subnet)),
        lambda route: _gateway_ref(builder, route),
    )
    if export_route_tables and ipv6_network.offered(builder):  # the edge table is elsewhere
        builder.output(
            naming.INTERNET_GATEWAY_OUTPUT, Ref("InternetGateway"), "ID of the internet gateway."
        )


def _gateway_ref(builder: NestedBuilder, route: Route):
    if route.target.kind is TargetKind.INTERNET_GATEWAY:
        return Ref("InternetGateway")
    if route.target.kind is TargetKind.TRANSIT_GATEWAY:
        return transit.gateway_ref(builder)
    return Ref(naming.nat_id(route.target.az))


def add_vpc_routes(
    builder: NestedBuilder, vpc: Vpc, kinds: set[TargetKind], target: Callable[[Route], object]
) -> None:
    """The routes of `vpc`'s tables whose target kind is in `kinds`, on route tables built here."""
    for table in builder.topology.route_tables:
        if table.subnet.vpc != vpc.name:
            continue
        add_routes(
            builder,
            table,
            Ref(naming.route_table_id(table.subnet)),
            kinds,
            target,
            # A route to a gateway the VPC is not attached to yet is refused.
            depends_on={
                TargetKind.INTERNET_GATEWAY: "InternetGatewayAttachment",
                TargetKind.TRANSIT_GATEWAY: naming.TRANSIT_ATTACHMENT_ID,
            },
        )


def _add_vpc(builder: NestedBuilder, vpc: Vpc) -> None:
    template = builder.template
    label = builder.vpc_label(vpc)
    template.add_resource(
        ec2.VPC(
            VPC_ID,
            CidrBlock=builder.vpc_cidr(vpc),
            EnableDnsHostnames=True,
            EnableDnsSupport=True,
            Tags=builder.tags(label or "VPC"),
        )
    )
    builder.output("VpcId", Ref(VPC_ID), "ID of the VPC.")
    if not builder.topology.placed(ComponentKind.INTERNET_GATEWAY, vpc.name):
        return  # a spoke: its internet is the inspection VPC's
    template.add_resource(
        ec2.InternetGateway("InternetGateway", Tags=builder.tags(label, "internet gateway"))
    )
    template.add_resource(
        ec2.VPCGatewayAttachment(
            "InternetGatewayAttachment",
            VpcId=Ref(VPC_ID),
            InternetGatewayId=Ref("InternetGateway"),
        )
    )


def _add_subnets(builder: NestedBuilder, vpc: Vpc, export_route_tables: bool) -> None:
    template = builder.template
    label = builder.vpc_label(vpc)
    for subnet in builder.topology.subnets_of(vpc.name):
        sid = naming.subnet_id(subnet)
        what = naming.subnet_label(subnet)
        template.add_resource(
            ec2.Subnet(
                sid,
                VpcId=Ref(VPC_ID),
                CidrBlock=builder.subnet_cidr(subnet),
                AvailabilityZone=builder.availability_zone(subnet.az),
                MapPublicIpOnLaunch=False,
                Tags=builder.tags(label, what),
                **ipv6_network.subnet_properties(builder, subnet),
            )
        )
        rt = naming.route_table_id(subnet)
        template.add_resource(
            ec2.RouteTable(rt, VpcId=Ref(VPC_ID), Tags=builder.tags(label, what, "route table"))
        )
        template.add_resource(
            ec2.SubnetRouteTableAssociation(
                naming.association_id(subnet), SubnetId=Ref(sid), RouteTableId=Ref(rt)
            )
        )
        # Other stacks read the IDs of the subnets they place things in, and of the tables they
        # add endpoint routes to.
        builder.output(naming.resource_output(sid), Ref(sid), f"ID of the {what}.")
        if export_route_tables:
            builder.output(naming.resource_output(rt), Ref(rt), f"Route table of the {what}.")


def _add_gateways(builder: NestedBuilder, vpc: Vpc) -> None:
    template = builder.template
    label = builder.vpc_label(vpc)
    for nat in builder.topology.placed(ComponentKind.NAT_GATEWAY, vpc.name):
        (subnet,) = nat.subnets
        az = subnet.az
        template.add_resource(
            ec2.EIP(
                naming.nat_eip_id(az),
                Domain="vpc",
                DependsOn="InternetGatewayAttachment",
                Tags=builder.tags(label, f"NAT gateway {az + 1} address"),
            )
        )
        template.add_resource(
            ec2.NatGateway(
                naming.nat_id(az),
                AllocationId=GetAtt(naming.nat_eip_id(az), "AllocationId"),
                SubnetId=Ref(naming.subnet_id(subnet)),
                Tags=builder.tags(label, f"NAT gateway {az + 1}"),
            )
        )

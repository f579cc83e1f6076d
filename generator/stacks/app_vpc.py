"""Nested-AppVpc (separated-vpc): one application VPC's network, instantiated once per VPC from the
same template: its subnets and gateways, its own GWLB endpoints on the inspection VPC's endpoint
service and the routes through them. Its web servers are Nested-AppWeb's, created once the
appliances (which learn this VPC's IPv6 block) are in place."""

from __future__ import annotations

from troposphere import Ref

from core import naming
from generator.model import Route, TargetKind, Topology, Vpc
from generator.stacks import ipv6_network
from generator.stacks.base import VPC_ID, Nested, NestedBuilder, network_stack
from generator.stacks.gwlb import add_endpoints
from generator.stacks.network import add_network, add_vpc_routes

CONCERN = "AppVpc"


def build(topology: Topology, vpc: Vpc, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: one application VPC (public, GWLB endpoint and application subnets "
        "per AZ), its GWLB endpoints on the inspection VPC's endpoint service and the routes "
        "that send its traffic through them.",
        catalogue,
        topology,
        local=(vpc.name,),
        generic=vpc,
    )
    add_network(builder, vpc)
    service = builder.output_of("GWLB", "EndpointServiceName")
    add_endpoints(builder, vpc, service, Ref(VPC_ID))
    add_vpc_routes(builder, vpc, {TargetKind.GWLB_ENDPOINT}, _endpoint_ref)
    ipv6_network.add_routes(
        builder,
        vpc,
        TargetKind.GWLB_ENDPOINT,
        lambda subnet: Ref(naming.route_table_id(subnet)),
        _endpoint_ref,
    )
    ipv6_network.add_edge_table(builder, vpc, Ref(VPC_ID), Ref("InternetGateway"), _endpoint_ref)
    return builder.done(
        stack_id=network_stack(vpc),
        file=naming.nested_file(CONCERN),
        prefix=vpc.prefix,
    )


def _endpoint_ref(route: Route):
    return Ref(naming.endpoint_id(route.target.az))

"""Nested-InspectionRoutes (single-vpc, tgw-centralized): the routes whose next hop is a GWLB
endpoint, added once both the route tables (the VPC's network stack) and the endpoints (GWLB
stack) exist. An application VPC of separated-vpc builds its tables, endpoints and these routes
in one template instead."""

from __future__ import annotations

from core import naming
from generator.model import TargetKind, Topology, Vpc
from generator.stacks import ipv6_network
from generator.stacks.base import Nested, NestedBuilder, network_stack
from generator.stacks.routes import add_routes

CONCERN = "InspectionRoutes"


def build(topology: Topology, vpc: Vpc, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: routes through the GWLB endpoints, so every flow is inspected in both "
        "directions by the endpoint of one AZ.",
        catalogue,
        topology,
    )

    def target(route):
        return builder.output_of(
            "GWLB", naming.resource_output(naming.endpoint_id(route.target.az))
        )

    for table in topology.route_tables:
        if table.subnet.vpc != vpc.name:
            continue
        if not any(r.target.kind is TargetKind.GWLB_ENDPOINT for r in table.routes):
            continue
        table_ref = builder.output_of_stack(
            network_stack(vpc), naming.resource_output(naming.route_table_id(table.subnet))
        )
        add_routes(builder, table, table_ref, {TargetKind.GWLB_ENDPOINT}, target)
    if ipv6_network.offered(builder):  # dual-stack: the same routes for IPv6, and the edge table
        ipv6_network.add_routes(
            builder,
            vpc,
            TargetKind.GWLB_ENDPOINT,
            lambda subnet: builder.output_of_stack(
                network_stack(vpc), naming.resource_output(naming.route_table_id(subnet))
            ),
            target,
        )
        ipv6_network.add_edge_table(
            builder,
            vpc,
            builder.vpc_ref(vpc),
            builder.output_of_stack(network_stack(vpc), naming.INTERNET_GATEWAY_OUTPUT),
            target,
        )
    return builder.done()

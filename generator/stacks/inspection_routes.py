"""Nested-InspectionRoutes: the routes whose next hop is a GWLB endpoint, added once both the
route tables and the endpoints exist."""

from __future__ import annotations

from generator import naming
from generator.model import TargetKind, Topology
from generator.stacks.base import Nested, NestedBuilder
from generator.stacks.routes import add_routes

CONCERN = "InspectionRoutes"


def build(topology: Topology, catalogue: dict) -> Nested:
    b = NestedBuilder(
        CONCERN,
        "GWLB quickstart: routes through the GWLB endpoints, so every flow is inspected in both "
        "directions by the endpoint of one AZ.",
        catalogue,
    )

    def target(route):
        return b.output_of("GWLB", f"{naming.endpoint_id(route.target.az)}Id")

    def destination(route):
        if route.destination_subnet is not None:
            return b.master(naming.subnet_cidr_param(route.destination_subnet))
        return route.destination

    for table in topology.route_tables:
        if not any(r.target.kind is TargetKind.GWLB_ENDPOINT for r in table.routes):
            continue
        table_ref = b.output_of("Network", f"{naming.route_table_id(table.subnet)}Id")
        add_routes(b.template, table, table_ref, {TargetKind.GWLB_ENDPOINT}, target, destination)
    return b.done()

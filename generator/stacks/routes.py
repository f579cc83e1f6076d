"""Renders model routes as AWS::EC2::Route resources; one table maps target kinds to properties.
A destination that is one subnet's or one VPC's block follows that block as the template spells
it."""

from __future__ import annotations

from collections.abc import Callable

from troposphere import ec2

from core import naming
from generator.model import Route, RouteTable, TargetKind

ROUTE_PROPERTY = {
    TargetKind.INTERNET_GATEWAY: "GatewayId",
    TargetKind.NAT_GATEWAY: "NatGatewayId",
    TargetKind.GWLB_ENDPOINT: "VpcEndpointId",
    TargetKind.TRANSIT_GATEWAY: "TransitGatewayId",
}
TARGET_WORD = {
    TargetKind.INTERNET_GATEWAY: "Igw",
    TargetKind.NAT_GATEWAY: "Nat",
    TargetKind.GWLB_ENDPOINT: "Gwlbe",
    TargetKind.TRANSIT_GATEWAY: "Tgw",
}


def destination_word(route: Route) -> str:
    if route.destination_subnet is not None:
        return naming.subnet_id(route.destination_subnet)
    if route.destination_vpc is not None:
        return route.destination_vpc.name
    return "Internet" if route.destination == "0.0.0.0/0" else route.destination


def target_word(route: Route) -> str:
    return naming.route_target_word(TARGET_WORD[route.target.kind], route.target.az)


def route_id(table: RouteTable, route: Route) -> str:
    """Logical ID of one route of a table."""
    return naming.route_id(table.subnet, target_word(route), destination_word(route))


def add_routes(
    builder,
    table: RouteTable,
    table_ref,
    kinds: set[TargetKind],
    target_ref: Callable[[Route], object],
    depends_on: dict[TargetKind, str] | None = None,
) -> None:
    """Add the table's routes whose target kind is in `kinds` to the builder's template."""
    for route in table.routes:
        if route.target.kind not in kinds:
            continue
        logical = route_id(table, route)
        extra = {}
        if depends_on and route.target.kind in depends_on:
            extra["DependsOn"] = depends_on[route.target.kind]
        builder.template.add_resource(
            ec2.Route(
                logical,
                RouteTableId=table_ref,
                DestinationCidrBlock=destination(builder, route),
                **{ROUTE_PROPERTY[route.target.kind]: target_ref(route)},
                **extra,
            )
        )


def destination(builder, route: Route):
    """A subnet-exact destination follows that subnet's block (its parameter, or its slice of the
    VPC's block), a VPC-exact one that VPC's parameter; others are literal."""
    if route.destination_subnet is not None:
        return builder.subnet_cidr(route.destination_subnet)
    if route.destination_vpc is not None:
        return builder.vpc_cidr(route.destination_vpc)
    return route.destination

"""Nested-AppVpc (separated-vpc): one application VPC whole, instantiated once per VPC from the same
template. Its network, its own GWLB endpoints on the inspection VPC's endpoint service, the routes
through them, its web servers behind its ALB, and a role of its own for those servers, so that no
VPC's servers can report readiness for another VPC's stack."""

from __future__ import annotations

from troposphere import Ref

from core import naming
from generator.model import Route, TargetKind, Topology, Vpc
from generator.stacks import ipv6_network
from generator.stacks.base import VPC_ID, Nested, NestedBuilder, network_stack
from generator.stacks.gwlb import add_endpoints
from generator.stacks.network import add_network, add_vpc_routes
from generator.stacks.ssm_role import add_role, signal_policy
from generator.stacks.web import add_web

CONCERN = "AppVpc"


def build(topology: Topology, vpc: Vpc, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: one application VPC (public, GWLB endpoint and application subnets "
        "per AZ), its GWLB endpoints on the inspection VPC's endpoint service, and web servers "
        "answering 'web server N in application VPC K' behind an internet-facing ALB.",
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
    role, profile = add_role(builder, "Web")
    # In place before any server boots, so its first signal is allowed.
    signal_policy(builder, "Web", "WebSignalPolicy", role=Ref(role))
    add_web(builder, vpc, Ref(profile))
    # The servers' signals cross the appliances, so those must be in place.
    return builder.done(
        after=(naming.stack_id("Appliances"),),
        stack_id=network_stack(vpc),
        file=naming.nested_file(CONCERN),
        prefix=vpc.prefix,
    )


def _endpoint_ref(route: Route):
    return Ref(naming.endpoint_id(route.target.az))

"""Dual-stack in a nested template: the one DualStack condition (from the master's IpAddressType),
each VPC's Amazon-provided /56, a /64 per subnet, the IPv6 routes of the model's Ipv6Plan and the
internet gateway's edge route table. Every IPv6 resource and property goes through here."""

from __future__ import annotations

from collections.abc import Callable

from troposphere import Cidr, Equals, GetAtt, If, Ref, Select, cloudformation, ec2

from core import naming
from generator import ipv6
from generator.model import Route, Subnet, TargetKind, Tier, Vpc
from generator.stacks.base import VPC_ID, NestedBuilder, network_stack
from generator.stacks.routes import ROUTE_PROPERTY, TARGET_WORD

DUAL_STACK = naming.DUAL_STACK_CONDITION
NO_VALUE = Ref("AWS::NoValue")
# Tiers whose instances take an IPv6 address at launch: the bastion and the web servers.
ADDRESSED_TIERS = (Tier.PUBLIC, Tier.APPLICATION)


def offered(builder: NestedBuilder) -> bool:
    """Whether the set offers dual-stack at all (generator.ipv6.ARCHITECTURES)."""
    return ipv6.offered(builder.topology)


def condition(builder: NestedBuilder) -> str:
    """The template's one condition, from the master's IpAddressType, declared on first use."""
    if DUAL_STACK not in builder.template.conditions:
        chosen = builder.master(naming.IP_ADDRESS_TYPE_PARAMETER)
        builder.template.add_condition(DUAL_STACK, Equals(chosen, "dualstack"))
    return DUAL_STACK


def when_dual_stack(builder: NestedBuilder, value, otherwise=NO_VALUE) -> If:
    """`value` with dual-stack, else `otherwise` (no property or list item by default)."""
    return If(condition(builder), value, otherwise)


def ip_address_type(builder: NestedBuilder) -> dict:
    """A load balancer's or endpoint's IpAddressType property, where dual-stack is offered."""
    if not offered(builder):
        return {}
    return {"IpAddressType": when_dual_stack(builder, "dualstack", "ipv4")}


def supported_types(builder: NestedBuilder) -> dict:
    """An endpoint service's SupportedIpAddressTypes property, where dual-stack is offered."""
    if not offered(builder):
        return {}
    types = when_dual_stack(builder, ["ipv4", "ipv6"], ["ipv4"])
    return {"SupportedIpAddressTypes": types}


def vpc_block(builder: NestedBuilder, vpc: Vpc, name: str = ""):
    """The VPC's /56: its attribute here, or the output of the stack that builds it (as input
    `name` where the template takes several VPCs' blocks)."""
    if vpc.name in builder.local:
        return Select(0, GetAtt(VPC_ID, "Ipv6CidrBlocks"))
    # A shared template's text may not name the VPC it is instantiated for.
    whose = "this application VPC" if vpc == builder.generic else f"the {vpc.label}"
    return builder.output_of_stack(
        network_stack(vpc),
        naming.VPC_IPV6_OUTPUT,
        what=f"IPv6 block of {whose} ('' with ipv4).",
        name=name,
    )


def subnet_block(builder: NestedBuilder, subnet: Subnet) -> Select:
    """A subnet's /64: its allocation index among the /64s of its VPC's /56 (use it under the
    condition only: with ipv4 there is no /56)."""
    vpc = builder.topology.vpc(subnet.vpc)
    count = len(builder.topology.subnets_of(vpc.name))
    return Select(subnet.index, Cidr(vpc_block(builder, vpc), count, 128 - ipv6.SUBNET_PREFIX6))


def add_vpc_block(builder: NestedBuilder, vpc: Vpc) -> None:
    """The /56 under the condition, and a free wait-condition handle that depends on it only when
    it exists: subnets depend on the handle (a DependsOn may not name a conditional resource)."""
    if not offered(builder):
        return
    template = builder.template
    template.add_resource(
        ec2.VPCCidrBlock(
            naming.VPC_IPV6_BLOCK_ID,
            Condition=condition(builder),
            VpcId=Ref(VPC_ID),
            AmazonProvidedIpv6CidrBlock=True,
        )
    )
    template.add_resource(
        cloudformation.WaitConditionHandle(
            naming.IPV6_READY_ID,
            Metadata={"Ipv6Block": when_dual_stack(builder, Ref(naming.VPC_IPV6_BLOCK_ID), "")},
        )
    )
    builder.output(
        naming.VPC_IPV6_OUTPUT,
        when_dual_stack(builder, vpc_block(builder, vpc), ""),
        "IPv6 block (/56) of the VPC; empty with IpAddressType ipv4.",
    )


def subnet_properties(builder: NestedBuilder, subnet: Subnet) -> dict:
    """A subnet's IPv6 properties, and the dependency that makes its /56 exist first."""
    if not offered(builder):
        return {}
    props = {
        "Ipv6CidrBlock": when_dual_stack(builder, subnet_block(builder, subnet)),
        "DependsOn": naming.IPV6_READY_ID,
    }
    if subnet.tier in ADDRESSED_TIERS:
        props["AssignIpv6AddressOnCreation"] = when_dual_stack(builder, True)
    return props


def route_id(table_subnet: Subnet | None, route: Route) -> str:
    """Logical ID of an IPv6 route of a subnet's table, or of the edge table (None)."""
    target = naming.route_target_word(TARGET_WORD[route.target.kind], route.target.az)
    if route.destination_subnet is not None:
        destination = naming.ipv6_block_word(route.destination_subnet)
    else:
        destination = naming.IPV6_INTERNET_WORD
    if table_subnet is None:
        return naming.edge_route_id(target, destination)
    return naming.route_id(table_subnet, target, destination)


def _route(builder: NestedBuilder, logical: str, table_ref, route: Route, target_ref, **extra):
    destination = (
        subnet_block(builder, route.destination_subnet)
        if route.destination_subnet is not None
        else route.destination
    )
    return ec2.Route(
        logical,
        Condition=condition(builder),
        RouteTableId=table_ref,
        DestinationIpv6CidrBlock=destination,
        **{ROUTE_PROPERTY[route.target.kind]: target_ref(route)},
        **extra,
    )


def add_routes(
    builder: NestedBuilder,
    vpc: Vpc,
    kind: TargetKind,
    table_ref: Callable[[Subnet], object],
    target_ref: Callable[[Route], object],
) -> None:
    """The IPv6 routes of `vpc`'s subnet tables whose target is of `kind`."""
    extra = {}
    if kind is TargetKind.INTERNET_GATEWAY and vpc.name in builder.local:
        extra["DependsOn"] = "InternetGatewayAttachment"
    for table in ipv6.plan(builder.topology).tables:
        if table.subnet.vpc != vpc.name:
            continue
        for route in table.routes:
            if route.target.kind is kind:
                logical = route_id(table.subnet, route)
                table_id = table_ref(table.subnet)
                builder.template.add_resource(
                    _route(builder, logical, table_id, route, target_ref, **extra)
                )


def add_edge_table(
    builder: NestedBuilder, vpc: Vpc, vpc_id, gateway, target_ref: Callable[[Route], object]
) -> None:
    """The internet gateway's route table: each workload subnet's /64 to its AZ's endpoint, so
    what enters from the internet (replies and unsolicited traffic alike) is inspected first."""
    edges = [e for e in ipv6.plan(builder.topology).edges if e.vpc == vpc.name]
    if not edges:
        return
    (edge,) = edges
    template = builder.template
    template.add_resource(
        ec2.RouteTable(
            naming.EDGE_TABLE_ID,
            Condition=condition(builder),
            VpcId=vpc_id,
            Tags=builder.tags(builder.vpc_label(vpc), "internet gateway route table"),
        )
    )
    template.add_resource(
        ec2.GatewayRouteTableAssociation(
            naming.EDGE_ASSOCIATION_ID,
            Condition=condition(builder),
            GatewayId=gateway,
            RouteTableId=Ref(naming.EDGE_TABLE_ID),
        )
    )
    for route in edge.routes:
        template.add_resource(
            _route(builder, route_id(None, route), Ref(naming.EDGE_TABLE_ID), route, target_ref)
        )

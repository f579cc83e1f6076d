"""The dual-stack part of the topology: IPv6 routes per subnet table and per internet gateway edge
table, derived from the IPv4 model. Pure data; templates apply it under one condition."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache

from generator.model import Route, RouteTable, Subnet, Target, TargetKind, Tier, Topology, Vpc

# Where the model serves dual-stack; tgw-centralized's transit gateway would need IPv6 routes and
# attachments of its own, which this plan does not make: its sets offer no IpAddressType.
ARCHITECTURES = ("single-vpc", "separated-vpc")
ANYWHERE6 = "::/0"
SUBNET_PREFIX6 = 64  # AWS gives every dual-stack subnet a /64 of its VPC's /56
# Amazon provides each VPC's /56 at launch; pages and offline readers show documentation-range
# stand-ins (RFC 3849): VPC n (from 1, in model order) is 2001:db8:n00::/56.
DOC_BLOCK = "2001:db8:{n}00::/56"


@dataclass(frozen=True)
class EdgeTable:
    """The route table of a VPC's internet gateway: traffic entering from the internet."""

    vpc: str
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class Ipv6Plan:
    tables: tuple[RouteTable, ...]  # each subnet's IPv6 routes (subnets without any left out)
    edges: tuple[EdgeTable, ...]


def vpc_block(topology: Topology, vpc: Vpc) -> str:
    """The stand-in for a VPC's Amazon-provided /56."""
    return DOC_BLOCK.format(n=topology.vpcs.index(vpc) + 1)


def subnet_block(topology: Topology, subnet: Subnet) -> str:
    """The stand-in for a subnet's /64: the one at its allocation index within the VPC's /56, as
    the templates' Fn::Cidr selects it."""
    parent = ipaddress.IPv6Network(vpc_block(topology, topology.vpc(subnet.vpc)))
    start = int(parent.network_address) + (subnet.index << (128 - SUBNET_PREFIX6))
    return str(ipaddress.IPv6Network((start, SUBNET_PREFIX6)))


def offered(topology: Topology) -> bool:
    return topology.architecture in ARCHITECTURES


@cache
def plan(topology: Topology) -> Ipv6Plan:
    """IPv6 routes that mirror the IPv4 design, with the internet gateway in place of the NAT
    gateways: every flow to or from a workload crosses its AZ's endpoint both ways, and what
    enters from the internet meets the gateway's edge table first."""
    tables = []
    edges = []
    if not offered(topology):
        return Ipv6Plan((), ())
    for vpc in topology.application_vpcs:
        for subnet in topology.subnets_of(vpc.name):
            routes = _routes(topology, subnet)
            if routes:
                tables.append(RouteTable(subnet, routes))
        apps = topology.tier(Tier.APPLICATION, vpc.name)
        edges.append(EdgeTable(vpc.name, tuple(_via_endpoint(topology, s, s.az) for s in apps)))
    return Ipv6Plan(tuple(tables), tuple(edges))


def _via_endpoint(topology: Topology, destination: Subnet, az: int) -> Route:
    target = Target(TargetKind.GWLB_ENDPOINT, destination.vpc, az)
    return Route(subnet_block(topology, destination), target, destination)


def _routes(topology: Topology, subnet: Subnet) -> tuple[Route, ...]:
    vpc, az = subnet.vpc, subnet.az
    internet = Target(TargetKind.INTERNET_GATEWAY, vpc)
    if subnet.tier is Tier.PUBLIC:
        # ALB nodes and the bastion: out directly; to each workload through this AZ's endpoint.
        apps = topology.tier(Tier.APPLICATION, vpc)
        return (
            Route(ANYWHERE6, internet),
            *(_via_endpoint(topology, app, az) for app in apps),
        )
    if subnet.tier is Tier.ENDPOINT:
        # What the appliance hands back leaves by the gateway; no egress-only gateway, whose
        # replies could not be steered through the endpoint.
        return (Route(ANYWHERE6, internet),)
    if subnet.tier is Tier.APPLICATION:
        endpoint = Target(TargetKind.GWLB_ENDPOINT, vpc, az)
        public = topology.tier(Tier.PUBLIC, vpc)
        return (
            Route(ANYWHERE6, endpoint),
            *(_via_endpoint(topology, p, p.az) for p in public),
        )
    return ()  # appliance subnets: Geneve stays IPv4, the appliances need no IPv6 route

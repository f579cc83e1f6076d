"""What AWS would refuse in a set, or break at create time, judged on the set model: each finding
carries the resource's label and the error code and words AWS gives, so a set that could never
launch is refused offline for the reason a real launch would give."""

from __future__ import annotations

import ipaddress
from collections import Counter

from verify import validate_services as services
from verify import validate_transit
from verify.model import SetModel
from verify.refusal import Refusal

# Route targets AWS accepts for a route more specific than the local route (middlebox routing).
MIDDLEBOX_TARGETS = ("gwlbe", "eni", "instance")


def problems(net: SetModel) -> list[Refusal]:
    """Every refusal in the set, in a stable order."""
    found: list[Refusal] = []
    checks = (
        _references,
        _subnets,
        _associations,
        _routes,
        services.target_groups,
        services.endpoints,
        services.albs,
        services.groups,
        services.listeners,
        services.network_acls,
        validate_transit.problems,
    )
    for check in checks:
        found += check(net)
    return found


# What AWS says when an ID names nothing, by what the ID should name.
NOT_FOUND = {
    "vpc": "InvalidVpcID.NotFound",
    "subnet": "InvalidSubnetID.NotFound",
    "table": "InvalidRouteTableID.NotFound",
    "igw": "InvalidInternetGatewayID.NotFound",
    "nat": "InvalidNatGatewayID.NotFound",
    "gwlbe": "InvalidVpcEndpointId.NotFound",
    "security group": "InvalidGroup.NotFound",
}


def _references(net: SetModel) -> list[Refusal]:
    """IDs that name no resource of the set (a removed resource, a typo, an unknown import)."""
    found = []

    def need(label: str, kind: str, ident: object, pool: dict) -> None:
        if ident not in pool:
            found.append(Refusal(label, NOT_FOUND[kind], f"the {kind} ID {ident!r} does not exist"))

    for subnet in net.subnets.values():
        need(subnet.label, "vpc", subnet.vpc, net.vpcs)
    for table, vpc in net.table_vpc.items():
        need(net.label(table), "vpc", vpc, net.vpcs)
    for subnet, table in net.table_of_subnet.items():
        need(net.label(table), "subnet", subnet, net.subnets)
        need(net.label(subnet), "table", table, net.routes)
    pools = {"igw": net.igws, "nat": net.nats, "gwlbe": net.endpoints}
    for table, routes in net.routes.items():
        if table not in net.table_vpc:
            found.append(Refusal(net.label(table), NOT_FOUND["table"], "no such route table"))
        for route in routes:
            if route.kind in pools:
                need(net.label(route.id), route.kind, route.target, pools[route.kind])
    for nat in net.nats.values():
        need(nat.label, "subnet", nat.subnet, net.subnets)
    for endpoint in net.endpoints.values():
        need(endpoint.label, "subnet", endpoint.subnet, net.subnets)
    for igw in net.igws.values():
        need(igw.label, "vpc", igw.vpc, net.vpcs)
    for host in net.hosts.values():
        need(host.name, "subnet", host.subnet, net.subnets)
        for group in host.security_groups:
            need(host.name, "security group", group, net.security_groups)
    for lb in [*net.albs.values(), *net.gwlbs.values()]:
        for subnet in lb.subnets:
            need(lb.name, "subnet", subnet, net.subnets)
    for alb in net.albs.values():
        for group in alb.security_groups:
            need(alb.name, "security group", group, net.security_groups)
    return found


def _subnets(net: SetModel) -> list[Refusal]:
    found = []
    by_vpc: dict[str, list] = {}
    for subnet in net.subnets.values():
        vpc = net.vpcs.get(subnet.vpc)
        block = ipaddress.ip_network(subnet.cidr)
        if vpc is not None and block.version != ipaddress.ip_network(vpc.cidr).version:
            continue
        if vpc is not None and not block.subnet_of(ipaddress.ip_network(vpc.cidr)):
            found.append(
                Refusal(
                    subnet.label,
                    "InvalidSubnet.Range",
                    f"The CIDR '{subnet.cidr}' is invalid: it is outside VPC {vpc.label} "
                    f"({vpc.cidr})",
                )
            )
        for other in by_vpc.get(subnet.vpc, []):
            if block.overlaps(ipaddress.ip_network(other.cidr)):
                found.append(
                    Refusal(
                        subnet.label,
                        "InvalidSubnet.Conflict",
                        f"The CIDR '{subnet.cidr}' conflicts with {other.label} ({other.cidr})",
                    )
                )
        by_vpc.setdefault(subnet.vpc, []).append(subnet)
    return found


def _associations(net: SetModel) -> list[Refusal]:
    return [
        Refusal(
            net.label(subnet),
            "Resource.AlreadyAssociated",
            f"the subnet is associated with a route table {len(ids)} times "
            f"({', '.join(net.label(i) for i in ids)}); it can have one",
        )
        for subnet, ids in net.associations.items()
        if len(ids) > 1
    ]


def _routes(net: SetModel) -> list[Refusal]:
    found = []
    for table, routes in net.routes.items():
        vpc = net.vpcs.get(net.table_vpc.get(table, ""))
        counts = Counter(r.destination for r in routes)
        for route in routes:
            label = net.label(route.id)
            if counts[route.destination] > 1:
                found.append(
                    Refusal(
                        label,
                        "RouteAlreadyExists",
                        f"The route identified by {route.destination} already exists in "
                        f"{net.label(table)}",
                    )
                )
            if vpc is not None:
                found += _against_local(net, label, route, vpc)
            found += _target_network(net, label, route, table)
    return found


def _against_local(net: SetModel, label: str, route, vpc) -> list[Refusal]:
    """A route that overlaps the VPC's own block: equal to it is the local route; more specific
    must be a whole subnet's block and point at a middlebox (AWS's more-specific routing)."""
    destination = ipaddress.ip_network(route.destination)
    local = ipaddress.ip_network(vpc.cidr)
    if destination.version != local.version or not destination.subnet_of(local):
        return []
    if destination == local:
        return [
            Refusal(
                label,
                "RouteAlreadyExists",
                f"{route.destination} is the VPC's local route",
            )
        ]
    blocks = {s.cidr for s in net.subnets.values() if s.vpc == vpc.id}
    if route.destination not in blocks:
        return [
            Refusal(
                label,
                "InvalidParameterValue",
                f"The destination CIDR block {route.destination} is more specific than the "
                f"local route {vpc.cidr} and does not match the block of a subnet in the VPC",
            )
        ]
    if route.kind not in MIDDLEBOX_TARGETS:
        return [
            Refusal(
                label,
                "InvalidParameterValue",
                f"a route to subnet block {route.destination} may target only a Gateway Load "
                f"Balancer endpoint, a network interface or an instance, not {route.kind}",
            )
        ]
    return []


def _target_network(net: SetModel, label: str, route, table: str) -> list[Refusal]:
    """The target must live in the route table's VPC."""
    table_vpc = net.table_vpc.get(table)
    if route.kind == "igw" and route.target in net.igws:
        target_vpc = net.igws[route.target].vpc
    elif route.kind == "nat" and route.target in net.nats:
        target_vpc = _vpc_of(net, net.nats[route.target].subnet)
    elif route.kind == "gwlbe" and route.target in net.endpoints:
        target_vpc = _vpc_of(net, net.endpoints[route.target].subnet)
    else:
        return []
    if table_vpc is None or target_vpc == table_vpc:
        return []
    return [
        Refusal(
            label,
            "InvalidParameterValue",
            f"route table {net.label(table)} and {net.label(route.target)} belong to "
            "different networks",
        )
    ]


def _vpc_of(net: SetModel, subnet: str) -> str | None:
    return net.subnets[subnet].vpc if subnet in net.subnets else None

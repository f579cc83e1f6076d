"""What AWS would refuse in a set, or break at create time, judged on the set model: each finding
carries the resource's label and the error code and words AWS gives, so a set that could never
launch is refused offline for the reason a real launch would give."""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass

from verify.model import SetModel

# Route targets AWS accepts for a route more specific than the local route (middlebox routing).
MIDDLEBOX_TARGETS = ("gwlbe", "eni", "instance")
FAILOVER_ATTRIBUTES = ("target_failover.on_deregistration", "target_failover.on_unhealthy")
FAILOVER_VALUES = ("rebalance", "no_rebalance")
TCP_IDLE_ATTRIBUTE = "tcp.idle_timeout.seconds"
TCP_IDLE_RANGE = (60, 6000)  # the GWLB listener's documented range
ACL_RULE_NUMBERS = (1, 32766)  # what a network ACL entry's RuleNumber may be


@dataclass(frozen=True)
class Refusal:
    resource: str  # the resource's label
    code: str  # AWS's error code
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.code}: {self.message}"


def problems(net: SetModel) -> list[Refusal]:
    """Every refusal in the set, in a stable order."""
    found: list[Refusal] = []
    checks = (
        _references,
        _subnets,
        _associations,
        _routes,
        _target_groups,
        _endpoints,
        _albs,
        _groups,
        _listeners,
        _network_acls,
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
    for lb in [*net.albs.values(), *net.gwlbs.values()]:
        for subnet in lb.subnets:
            need(lb.name, "subnet", subnet, net.subnets)
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


def _target_groups(net: SetModel) -> list[Refusal]:
    found = []
    for group in net.target_groups.values():
        values = [group.attributes.get(a) for a in FAILOVER_ATTRIBUTES]
        set_values = [v for v in values if v is not None]
        if any(v not in FAILOVER_VALUES for v in set_values):
            found.append(
                Refusal(
                    group.name,
                    "ValidationError",
                    f"target_failover values must be one of {', '.join(FAILOVER_VALUES)}",
                )
            )
        elif set_values and (len(set_values) == 1 or values[0] != values[1]):
            found.append(
                Refusal(
                    group.name,
                    "ValidationError",
                    "target_failover.on_deregistration and target_failover.on_unhealthy must "
                    f"be set together to the same value (they are {values[0]} and {values[1]})",
                )
            )
    return found


def _endpoints(net: SetModel) -> list[Refusal]:
    found = []
    for endpoint in net.endpoints.values():
        gwlb = net.gwlbs.get(endpoint.gwlb or "")
        if gwlb is None or endpoint.subnet not in net.subnets:
            continue
        zone = net.subnets[endpoint.subnet].az
        if not any(net.subnets[s].az == zone for s in gwlb.subnets if s in net.subnets):
            found.append(
                Refusal(
                    endpoint.label,
                    "InvalidParameter",
                    f"The VPC endpoint service of {gwlb.name} does not support the "
                    f"availability zone of subnet {net.label(endpoint.subnet)}",
                )
            )
    return found


def _albs(net: SetModel) -> list[Refusal]:
    found = []
    for alb in net.albs.values():
        zones = {net.subnets[s].az for s in alb.subnets if s in net.subnets}
        if len(zones) < 2:
            found.append(
                Refusal(
                    alb.label,
                    "ValidationError",
                    "At least two subnets in two different Availability Zones must be specified",
                )
            )
    return found


def _groups(net: SetModel) -> list[Refusal]:
    return [
        Refusal(
            group.name,
            "ValidationError",
            f"Desired capacity:{group.desired} must be between the specified min size:"
            f"{group.min_size} and max size:{group.max_size}",
        )
        for group in net.groups.values()
        if not group.min_size <= group.desired <= group.max_size
    ]


def _listeners(net: SetModel) -> list[Refusal]:
    found = []
    for gwlb in net.gwlbs.values():
        value = gwlb.listener_attributes.get(TCP_IDLE_ATTRIBUTE)
        if value is not None and not (
            value.isdigit() and TCP_IDLE_RANGE[0] <= int(value) <= TCP_IDLE_RANGE[1]
        ):
            found.append(
                Refusal(
                    gwlb.name,
                    "ValidationError",
                    f"{TCP_IDLE_ATTRIBUTE} must be {TCP_IDLE_RANGE[0]}-{TCP_IDLE_RANGE[1]}, "
                    f"not {value}",
                )
            )
    return found


def _network_acls(net: SetModel) -> list[Refusal]:
    found = []
    for acl in net.network_acls.values():
        seen: set[tuple[bool, int]] = set()
        for entry in acl.entries:
            way = "egress" if entry.egress else "ingress"
            if not ACL_RULE_NUMBERS[0] <= entry.number <= ACL_RULE_NUMBERS[1]:
                found.append(
                    Refusal(
                        acl.name,
                        "InvalidParameterValue",
                        f"{way} rule number {entry.number} is outside "
                        f"{ACL_RULE_NUMBERS[0]}-{ACL_RULE_NUMBERS[1]}",
                    )
                )
            if (entry.egress, entry.number) in seen:
                found.append(
                    Refusal(
                        acl.name,
                        "NetworkAclEntryAlreadyExists",
                        f"the {way} entry with rule number {entry.number} already exists",
                    )
                )
            seen.add((entry.egress, entry.number))
    return found

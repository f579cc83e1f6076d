"""IPv6 addresses and Linux routes of a dual-stack SetModel, decided before anything is built.

Subnets' /64s and VPCs' /56s are the set's own (documentation-range stand-ins when Amazon
provides them); a host takes the same offset in its /64 as in its IPv4 block. The internet and
the gateways' uplinks use other documentation-range blocks, which only exist inside the lab. Pure.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from lab.addresses import LinuxRoute, Plan, PolicyRouting
from verify.model import SetModel
from verify.routepath import RouteError, Trace
from verify.routepath6 import INTERNET_HOST6, Simulator6

INTERNET_ROUTER6, CLIENT_IP6, SERVER_IP6 = (
    "2001:db8:ffff::1",
    "2001:db8:ffff::10",
    "2001:db8:ffff::20",
)
INTERNET_PREFIX6 = 64
# Router <-> gateway links, per VPC (each VPC router is a namespace of its own).
IGW_LINK_VPC6, IGW_LINK_GW6 = "fd00:ffff::1", "fd00:ffff::2"
EIGW_LINK_VPC6, EIGW_LINK_GW6 = "fd00:fffe::1", "fd00:fffe::2"
LINK_PREFIX6 = 126


def uplink6(index: int, egress_only: bool = False) -> tuple[str, str]:
    """(internet side, gateway side) of a gateway's /64 towards the internet."""
    base = "2001:db8:fffd" if egress_only else "2001:db8:fffe"
    return f"{base}:{index:x}::1", f"{base}:{index:x}::2"


@dataclass
class Plan6:
    ip: dict[str, str] = field(default_factory=dict)  # node id -> its IPv6 address
    eigw_dev: dict[str, str] = field(default_factory=dict)  # egress-only gateway -> router dev
    eigw_index: dict[str, int] = field(default_factory=dict)


def _addressed(spec: SetModel, node_id: str, subnet: str) -> bool:
    """Instances in subnets that assign IPv6 addresses (not appliances, whose Geneve is IPv4),
    and the nodes of dual-stack load balancers."""
    if node_id in spec.hosts:
        return subnet in spec.ipv6.assigning and spec.hosts[node_id].role != "appliance"
    balancer = node_id.split("@", 1)[0]
    return balancer in spec.ipv6.dualstack and balancer in spec.albs


def plan(spec: SetModel, layout: Plan) -> Plan6:
    found = Plan6()
    for node in layout.nodes.values():
        block = spec.ipv6.blocks.get(node.subnet)
        if block is None or not _addressed(spec, node.id, node.subnet):
            continue
        v4 = ipaddress.ip_network(spec.subnets[node.subnet].cidr)
        offset = int(ipaddress.ip_address(node.ip)) - int(v4.network_address)
        found.ip[node.id] = str(ipaddress.ip_network(block)[offset])
    for index, eigw in enumerate(sorted(spec.ipv6.egress_only)):
        found.eigw_dev[eigw] = f"eo{index}"
        found.eigw_index[eigw] = index
    return found


def router_ip6(block: str) -> str:
    """The VPC router's address in a subnet's /64: its first, as for IPv4."""
    return str(ipaddress.ip_network(block)[1])


def vpcs6(spec: SetModel) -> list[str]:
    return sorted(v for v in spec.vpcs if v in spec.ipv6.blocks)


def linux_routes6(
    spec: SetModel, layout: Plan, plan6: Plan6, table: str | None, vpc: str
) -> list[LinuxRoute]:
    """A route table's IPv6 routes as Linux routes: each subnet's /64 is local unless the table
    sends exactly that block elsewhere; the rest of the /56 goes nowhere."""
    routes = [r for r in spec.routes.get(table, []) if r.version == 6] if table else []
    exact = {ipaddress.ip_network(r.destination) for r in routes}
    out = []
    for sid, subnet in sorted(spec.subnets.items()):
        block = spec.ipv6.blocks.get(sid)
        if subnet.vpc == vpc and block and ipaddress.ip_network(block) not in exact:
            out.append(LinuxRoute(block, layout.bridge[sid]))
    out.append(LinuxRoute(spec.ipv6.blocks[vpc], "blackhole"))
    for route in routes:
        if route.kind == "gwlbe":
            out.append(LinuxRoute(route.destination, layout.tun[route.target]))
        elif route.kind == "igw":
            out.append(LinuxRoute(route.destination, "igw", IGW_LINK_GW6))
        elif route.kind == "eigw":
            out.append(LinuxRoute(route.destination, plan6.eigw_dev[route.target], EIGW_LINK_GW6))
    return out


def policy_routing6(spec: SetModel, layout: Plan, plan6: Plan6, vpc: str) -> PolicyRouting:
    """As addresses.policy_routing: the table of the subnet a packet leaves, of the endpoint's
    subnet for what an endpoint hands back, the internet gateway's edge table (or the main
    table) for what enters from the internet, and the main table, never an edge table, for what
    enters through an egress-only gateway."""
    main = 90 + layout.vpc_index[vpc]
    chosen: dict[int, str | None] = {main: None}
    sources: list[tuple[str, int]] = []
    table_of: dict[str, int] = {}
    for subnet in sorted(
        (item for item in spec.subnets.values() if item.vpc == vpc), key=lambda item: item.id
    ):
        table = spec.table_of_subnet.get(subnet.id)
        number = table_of[subnet.id] = layout.table_number[table] if table else main
        chosen[number] = table
        sources.append((layout.bridge[subnet.id], number))
    for eid, endpoint in sorted(spec.endpoints.items()):
        if spec.subnets[endpoint.subnet].vpc == vpc:
            sources.append((layout.tun[eid], table_of[endpoint.subnet]))
    for igw in spec.igws.values():
        if igw.vpc == vpc:
            number = layout.table_number[igw.table] if igw.table else main
            chosen[number] = igw.table
            sources.append(("igw", number))
    for eigw, owner in sorted(spec.ipv6.egress_only.items()):
        if owner == vpc:
            sources.append((plan6.eigw_dev[eigw], main))
    tables = {n: linux_routes6(spec, layout, plan6, t, vpc) for n, t in chosen.items()}
    return PolicyRouting(tables, sources)


def internet_routes6(spec: SetModel, layout: Plan) -> list[tuple[str, str]]:
    """(block, via) on the internet's router: each VPC's /56 through its internet gateway, and
    each subnet whose way out (its table, then an endpoint's) leaves by an egress-only gateway
    through that gateway: AWS sends the replies back the way the flow left."""
    found = []
    egress = sorted(spec.ipv6.egress_only)
    for vpc in vpcs6(spec):
        found.append((spec.ipv6.blocks[vpc], uplink6(layout.vpc_index[vpc])[1]))
    walker = Simulator6(spec)
    for sid in sorted(s for s in spec.subnets if s in spec.ipv6.blocks):
        walker.egress_only_exit = None
        try:
            walker.route(INTERNET_HOST6, sid, Trace([]))
        except (RouteError, KeyError):
            continue
        if walker.egress_only_exit is not None:
            gateway = uplink6(egress.index(walker.egress_only_exit), True)[1]
            found.append((spec.ipv6.blocks[sid], gateway))
    return found

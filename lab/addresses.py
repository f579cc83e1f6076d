"""Addresses, device names and Linux routes for a SetModel, decided before anything is built. Pure.

Private addresses come from the templates' own CIDRs; public ones (Elastic IPs, NAT gateways, ALB
nodes, the internet client and server) from 198.18.0.0/15, the benchmarking range (RFC 2544),
which only ever exists inside the lab's namespaces.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from verify import transit
from verify.model import Route, SetModel

ROUTER_OFFSET = 1  # the VPC router is the subnet's first address, as in AWS
# Transit gateway attachment ENIs: AWS keeps a subnet's first four addresses (network, router,
# DNS, reserved); the fifth on are the lab's (GWLB nodes, NAT gateways, hosts).
ENI_OFFSET = 4
GWLB_NODE_OFFSET, NAT_OFFSET, ALB_NODE_OFFSET, FIRST_HOST = 5, 6, 20, 10
INTERNET_ROUTER, CLIENT_IP, SERVER_IP = "198.19.255.1", "198.19.255.10", "198.19.255.20"
# The rolling-update drill's echo servers: a second address of the internet server, so that they
# may use port 443 (open in the web servers' groups) beside its HTTPS server.
DRILL_SERVER_IP = "198.19.255.21"
IGW_LINK_VPC, IGW_LINK_GW = "169.254.0.1", "169.254.0.2"  # router <-> internet gateway, per VPC
TGW_TABLES = 10000  # a VPC router's per-AZ tables (route tables with routes to a TGW) from here


def host_ip(cidr: str, offset: int) -> str:
    net = ipaddress.IPv4Network(cidr)
    if offset >= net.num_addresses - 1:
        raise ValueError(f"{cidr} is too small for host offset {offset}")
    return str(net.network_address + offset)


def public_block(vpc_index: int) -> str:
    """Public addresses mapped by VPC number vpc_index's internet gateway."""
    return f"198.18.{vpc_index}.0/24"


def uplink(vpc_index: int) -> tuple[str, str]:
    """(internet side, gateway side) of the /30 between the internet and a VPC's gateway."""
    base = ipaddress.IPv4Address("198.19.0.0") + 4 * vpc_index
    return str(base + 1), str(base + 2)


@dataclass(frozen=True)
class Node:
    """Something with one address in a subnet: a host, a NAT gateway, an ALB or GWLB node."""

    id: str
    label: str
    subnet: str
    ip: str
    public_ip: str | None


@dataclass
class Plan:
    vpc_index: dict[str, int] = field(default_factory=dict)
    bridge: dict[str, str] = field(default_factory=dict)  # subnet -> bridge in its VPC router
    tun: dict[str, str] = field(default_factory=dict)  # endpoint -> TUN device in its router
    table_number: dict[str, int] = field(default_factory=dict)  # route table -> Linux table
    nodes: dict[str, Node] = field(default_factory=dict)


def plan(spec: SetModel) -> Plan:
    layout = Plan()
    for index, vpc in enumerate(sorted(spec.vpcs)):
        layout.vpc_index[vpc] = index
    for index, sid in enumerate(sorted(spec.subnets)):
        layout.bridge[sid] = f"s{index}"
    for index, eid in enumerate(sorted(spec.endpoints)):
        layout.tun[eid] = f"e{index}"
    for index, table in enumerate(sorted(spec.routes)):
        layout.table_number[table] = 100 + index
    used: dict[str, int] = {}
    public_next: dict[str, int] = {}

    def public(subnet: str) -> str:
        vpc = spec.subnets[subnet].vpc
        number = public_next.get(vpc, 10)
        public_next[vpc] = number + 1
        return host_ip(public_block(layout.vpc_index[vpc]), number)

    def add(node_id: str, label: str, subnet: str, offset: int | None, is_public: bool) -> None:
        if offset is None:
            offset = used.get(subnet, FIRST_HOST)
            used[subnet] = offset + 1
        ip = host_ip(spec.subnets[subnet].cidr, offset)
        layout.nodes[node_id] = Node(
            node_id, label, subnet, ip, public(subnet) if is_public else None
        )

    for gwlb in sorted(spec.gwlbs.values(), key=lambda g: g.id):
        for sid in gwlb.subnets:
            add(
                f"{gwlb.id}@{sid}",
                f"{gwlb.name} node {spec.subnets[sid].name}",
                sid,
                GWLB_NODE_OFFSET,
                False,
            )
    for nat in sorted(spec.nats.values(), key=lambda n: n.id):
        add(nat.id, nat.label, nat.subnet, NAT_OFFSET, True)
    for alb in sorted(spec.albs.values(), key=lambda a: a.id):
        for sid in alb.subnets:
            add(
                f"{alb.id}@{sid}",
                f"{alb.label} node {spec.subnets[sid].name}",
                sid,
                ALB_NODE_OFFSET,
                True,
            )
    for host in sorted(spec.hosts.values(), key=lambda h: h.id):
        add(host.id, host.name, host.subnet, None, host.public)
    return layout


@dataclass(frozen=True)
class LinuxRoute:
    destination: str
    device: str
    via: str | None = None


def eni_ip(spec: SetModel, attachment: str, subnet: str) -> str:
    """A transit gateway attachment's ENI address in a subnet (a second attachment there takes
    the next one)."""
    sharing = sorted(a.id for a in spec.tgw_attachments.values() if subnet in a.subnets)
    return host_ip(spec.subnets[subnet].cidr, ENI_OFFSET + sharing.index(attachment))


def _to_tgw(spec: SetModel, layout: Plan, route: Route, subnet: str | None) -> LinuxRoute:
    """A route to a transit gateway sends to the VPC attachment's ENI in the sending subnet's AZ,
    over that ENI subnet's bridge. With no attachment, or none in that AZ, AWS drops the packet,
    and so does the lab (subnet None: a table no subnet sends by, e.g. a gateway's)."""
    found = transit.entry(spec, subnet, route.target) if subnet is not None else None
    if found is None:
        return LinuxRoute(route.destination, "blackhole")
    attachment, eni_subnet = found
    ip = eni_ip(spec, attachment.id, eni_subnet)
    return LinuxRoute(route.destination, layout.bridge[eni_subnet], ip)


def to_tgw(spec: SetModel, table: str | None) -> bool:
    """Whether a route table sends anything to a transit gateway: its Linux table is then one per
    AZ, since the ENI a route to the TGW uses is the sending subnet's AZ's."""
    return table is not None and any(r.kind == "tgw" for r in spec.routes.get(table, []))


def linux_routes(
    spec: SetModel, layout: Plan, table: str, vpc: str, sender: str | None = None
) -> list[LinuxRoute]:
    """A route table as Linux routes: AWS's local route becomes one route per subnet of the VPC,
    left out where the table routes that subnet's exact block (or a block holding it, more
    specific than the VPC) elsewhere; longest prefix match then decides as AWS does. Routes to a
    transit gateway take the ENI in the AZ of `sender` (a subnet using the table)."""
    routes: list[Route] = [r for r in spec.routes.get(table, []) if r.version == 4]
    vpc_net = ipaddress.IPv4Network(spec.vpcs[vpc].cidr)
    out = []
    for sid, subnet in sorted(spec.subnets.items()):
        if subnet.vpc != vpc:
            continue
        net = ipaddress.IPv4Network(subnet.cidr)
        overridden = any(
            vpc_net.prefixlen < ipaddress.IPv4Network(r.destination).prefixlen <= net.prefixlen
            and net.subnet_of(ipaddress.IPv4Network(r.destination))
            for r in routes
        )
        if not overridden:
            out.append(LinuxRoute(subnet.cidr, layout.bridge[sid]))
    # The rest of the VPC's block is local too: it goes nowhere, whatever broader routes say.
    out.append(LinuxRoute(str(vpc_net), "blackhole"))
    for route in routes:
        if route.kind == "gwlbe":
            out.append(LinuxRoute(route.destination, layout.tun[route.target]))
        elif route.kind == "nat":
            node = layout.nodes[route.target]
            out.append(LinuxRoute(route.destination, layout.bridge[node.subnet], node.ip))
        elif route.kind == "igw":
            out.append(LinuxRoute(route.destination, "igw", IGW_LINK_GW))
        elif route.kind == "tgw":
            out.append(_to_tgw(spec, layout, route, sender))
    return out


@dataclass
class PolicyRouting:
    tables: dict[int, list[LinuxRoute]]  # Linux table number -> its routes
    sources: list[tuple[str, int]]  # (incoming device, table number), in rule order


def policy_routing(spec: SetModel, layout: Plan, vpc: str) -> PolicyRouting:
    """A VPC router's tables and rules: traffic is looked up in the table of the subnet it
    leaves (by the bridge it came in on), of the endpoint's subnet for what an endpoint hands
    back, and of the gateway's own table, when one is associated, for what enters from the
    internet. Subnets without an association, and the gateway without one, use the VPC's main
    table, which holds the local route only."""
    main = 90 + layout.vpc_index[vpc]
    chosen: dict[int, tuple[str | None, str | None]] = {main: (None, None)}
    sources: list[tuple[str, int]] = []
    table_of: dict[str, int] = {}
    zones = sorted({item.az for item in spec.subnets.values()})
    for subnet in sorted(
        (item for item in spec.subnets.values() if item.vpc == vpc), key=lambda item: item.id
    ):
        table = spec.table_of_subnet.get(subnet.id)
        number = layout.table_number[table] if table else main
        if to_tgw(spec, table):  # one Linux table per AZ: TGW routes take that AZ's ENI
            number = TGW_TABLES + len(zones) * (number - 100) + zones.index(subnet.az)
        table_of[subnet.id] = number
        chosen.setdefault(number, (table, subnet.id))
        sources.append((layout.bridge[subnet.id], number))
    for eid, endpoint in sorted(spec.endpoints.items()):
        if spec.subnets[endpoint.subnet].vpc == vpc:
            sources.append((layout.tun[eid], table_of[endpoint.subnet]))
    for igw in spec.igws.values():
        if igw.vpc == vpc:
            number = layout.table_number[igw.table] if igw.table else main
            chosen.setdefault(number, (igw.table, None))
            sources.append(("igw", number))
    tables = {n: linux_routes(spec, layout, t, vpc, s) for n, (t, s) in chosen.items()}
    return PolicyRouting(tables, sources)

"""The transit gateway as the lab builds it, decided before anything is built (pure): each
attachment ENI's devices and address, the TGW's Linux tables per (route table, entry AZ, flow-hash
bucket) with the rules that pick them, and the route a VPC subnet's route to the TGW becomes.

AWS semantics come from verify.transit: association, static and propagated routes, AZ affinity
and appliance mode. Appliance mode's flow hash is the kernel's symmetric hash (nftables `symhash`),
one bucket per packet, the same for both directions of a flow: the bucket picks the exit AZ."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field

from lab.addresses import ROUTER_OFFSET, LinuxRoute, eni_ip, host_ip
from verify import transit
from verify.model import SetModel

FIRST_TABLE, DROP_TABLE = 100, 99
RULE_PREF = 1000
DROP_PREF = 30000  # after every association: what enters from an unassociated attachment


@dataclass(frozen=True)
class Eni:
    """One attachment ENI: a veth whose TGW end holds the address and whose VPC end is a port of
    the subnet's bridge in the VPC router."""

    attachment: str
    subnet: str
    az: str
    device: str  # the TGW namespace's end
    port: str  # the VPC router's end, a port of the subnet's bridge
    ip: str
    gateway: str  # the subnet's router: the next hop into the VPC
    prefix: int


@dataclass
class TransitPlan:
    enis: dict[tuple[str, str], Eni] = field(default_factory=dict)  # (attachment, AZ) -> ENI
    buckets: int = 1  # the flow hash's range, marks 1..buckets
    tables: dict[int, list[LinuxRoute]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # table number -> what it stands for
    rules: list[tuple[str, int, int]] = field(default_factory=list)  # (device, mark, table)


def plan(spec: SetModel) -> TransitPlan:
    layout = TransitPlan()
    index = 0
    for att in sorted(spec.tgw_attachments.values(), key=lambda a: a.id):
        for az in transit.attachment_azs(spec, att):
            subnet = transit.eni_subnet(spec, att, az)
            cidr = spec.subnets[subnet].cidr
            layout.enis[(att.id, az)] = Eni(
                att.id,
                subnet,
                az,
                f"a{index}",
                f"t{index}",
                eni_ip(spec, att.id, subnet),
                host_ip(cidr, ROUTER_OFFSET),
                int(cidr.split("/")[1]),
            )
            index += 1
    counts = {len(transit.attachment_azs(spec, a)) for a in spec.tgw_attachments.values()}
    # Every attachment's AZ count divides the range, so each of its AZs gets an equal share.
    layout.buckets = math.lcm(*counts) if counts else 1
    numbers: dict[tuple[str, str, int], int] = {}
    for (att_id, az), eni in sorted(layout.enis.items(), key=lambda item: item[1].device):
        table = transit.table_of(spec, att_id)
        if table is None:
            continue  # AWS drops what enters the TGW from an unassociated attachment
        for bucket in range(1, layout.buckets + 1):
            key = (table, az, bucket)
            if key not in numbers:
                number = numbers[key] = FIRST_TABLE + len(numbers)
                layout.names[number] = f"{spec.label(table)} from {az} bucket {bucket}"
                layout.tables[number] = _routes(spec, layout, table, az, bucket)
            layout.rules.append((eni.device, bucket, numbers[key]))
    return layout


def _routes(spec: SetModel, layout: TransitPlan, table: str, entry_az: str, bucket: int):
    """One TGW route table as seen by packets that entered in entry_az with this flow-hash
    bucket: each destination leaves by the attachment ENI verify.transit allows, the bucket
    choosing among several (appliance mode; or no ENI in the entry AZ)."""
    routes: list[LinuxRoute] = []
    for route in transit.effective_routes(spec, table):
        att = spec.tgw_attachments.get(route.attachment or "")
        azs = transit.exit_azs(spec, att, entry_az) if att and not route.blackhole else []
        if not azs:
            routes.append(LinuxRoute(route.destination, "blackhole"))
            continue
        eni = layout.enis[(att.id, azs[(bucket - 1) % len(azs)])]
        routes.append(LinuxRoute(route.destination, eni.device, eni.gateway))
    if not any(route.destination == "0.0.0.0/0" for route in routes):
        routes.append(LinuxRoute("0.0.0.0/0", "blackhole"))  # no match: dropped, silently
    return routes


def ip_lines(layout: TransitPlan) -> list[str]:
    """`ip -batch` lines for the TGW namespace's tables and rules (the ENIs exist already)."""
    lines = []
    for number, routes in sorted({**layout.tables, DROP_TABLE: []}.items()):
        for route in routes or [LinuxRoute("0.0.0.0/0", "blackhole")]:
            if route.device == "blackhole":
                lines.append(f"route add blackhole {route.destination} table {number}")
            else:
                lines.append(
                    f"route add {route.destination} via {route.via} dev {route.device} "
                    f"onlink table {number}"
                )
    for pref, (device, mark, number) in enumerate(layout.rules, start=RULE_PREF):
        lines.append(f"rule add iif {device} fwmark {mark} lookup {number} pref {pref}")
    lines.append(f"rule add lookup {DROP_TABLE} pref {DROP_PREF}")
    return lines


def via_tgw(spec: SetModel, subnet: str, address: str) -> bool:
    """Whether a subnet's route table sends an address to a transit gateway (longest prefix
    match; the VPC's own block is the local route): the pairs the test plan probes across VPCs."""
    addr = ipaddress.IPv4Address(address)
    vpc = spec.vpcs[spec.subnets[subnet].vpc]
    candidates = [(vpc.cidr, "local")] + [
        (route.destination, route.kind)
        for route in spec.routes.get(spec.table_of_subnet.get(subnet, ""), [])
        if route.version == 4
    ]
    matching = [
        (ipaddress.IPv4Network(d), k) for d, k in candidates if addr in ipaddress.IPv4Network(d)
    ]
    return bool(matching) and max(matching, key=lambda m: m[0].prefixlen)[1] == "tgw"

"""The transit gateway's part of ARCHITECTURE.md (tgw-centralized): its node and attachments in
the diagram, its route tables with their associations, propagations and static routes, and what
it bills."""

from __future__ import annotations

from core import naming
from generator.model import Tier, Topology

NODE = "TransitGateway"


def diagram_lines(topology: Topology) -> tuple[list[str], list[str]]:
    """(node lines, edge lines): the gateway, and each VPC's transit subnets attached to it."""
    transit = topology.transit
    if transit is None:
        return [], []
    nodes = [f'  {NODE}[["transit gateway<br/>default association and propagation off"]]']
    edges = []
    for attachment in transit.attachments:
        mode = " appliance mode" if attachment.appliance_mode else ""
        for subnet in attachment.subnets:
            node = naming.qualified_subnet_id(subnet)
            edges.append(f"  {node} ===|attachment{mode}| {NODE}")
    return nodes, edges


def route_tables(topology: Topology) -> str:
    """One table per transit gateway route table: what is associated with it, what it learns
    and what it routes where."""
    transit = topology.transit
    if transit is None:
        return ""
    out = [
        "Each attachment is associated with one table, which decides where what enters the "
        "gateway through it goes. The inspection VPC's attachment has appliance mode on: the "
        "gateway keeps both directions of a flow on one AZ's interface in the inspection VPC, "
        "chosen by a flow hash, whatever AZs the two ends are in."
    ]
    for table in transit.tables:
        associated = [a.vpc for a in transit.attachments if a.table == table.name]
        learned = [a for a in transit.attachments if table.name in a.propagates_to]
        rows = ["| destination | target | how |", "|---|---|---|"]
        for destination, vpc in table.static:
            rows.append(f"| {destination} | {_label(topology, vpc)} attachment | static |")
        for attachment in learned:
            vpc = topology.vpc(attachment.vpc)
            rows.append(f"| {vpc.cidr} | {vpc.label} attachment | propagated |")
        who = ", ".join(_label(topology, v) for v in associated)
        out.append(
            f"### {naming.transit_table_id(table.name)}\n\nAssociated: {who}.\n\n" + "\n".join(rows)
        )
    return "\n\n".join(out)


def _label(topology: Topology, vpc: str) -> str:
    return topology.vpc(vpc).label


def billable_rows(topology: Topology) -> dict[str, int]:
    """Billable transit gateway parts: one attachment per VPC, each billed hourly, and the data
    each attachment sends into the gateway, per GB."""
    transit = topology.transit
    if transit is None:
        return {}
    return {
        "transit gateway VPC attachment (hourly and per GB processed)": len(transit.attachments)
    }


def billable_note(topology: Topology) -> str:
    azs = topology.az_count
    transit_subnets = len(topology.tier(Tier.TRANSIT, topology.inspection_vpc.name))
    return (
        " The transit gateway bills each attachment hourly and the data every attachment sends "
        "into it per GB: east-west traffic between spokes is processed twice (spoke to "
        "inspection, inspection to spoke) and crosses the GWLB endpoint once each way. Each "
        f"further spoke adds one attachment ({transit_subnets} transit subnets, free) and "
        f"{azs} web servers; it adds no NAT gateway, endpoint or ALB of its own."
    )

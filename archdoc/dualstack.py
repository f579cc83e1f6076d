"""The dual-stack section of ARCHITECTURE.md: what IpAddressType=dualstack adds and costs, the IPv6
route tables from the topology model (documentation-range stand-ins for Amazon's blocks), and the
IPv6 route paths traced over the rendered templates with that launch value."""

from __future__ import annotations

from core import naming
from generator import ipv6
from generator.model import Route, Topology
from verify import reader, routepath
from verify.evaluate import evaluate
from verify.files import from_templates

TARGETS = {"igw": "internet gateway", "gwlbe": "GWLB endpoint"}


def section(topology: Topology, parsed: dict[str, dict]) -> str:
    """'' for a set without the IpAddressType parameter."""
    master = parsed.get(naming.MASTER_FILE, {})
    if naming.IP_ADDRESS_TYPE_PARAMETER not in master.get("Parameters", {}):
        return ""
    values = {naming.IP_ADDRESS_TYPE_PARAMETER: "dualstack"}
    net = reader.read(evaluate(from_templates(parsed), values))
    flows = [f for f in routepath.standard_flows(net) if "IPv6" in f.name]
    return "\n\n".join(
        [
            "## Dual-stack (IpAddressType=dualstack)",
            _intro() + _separated_note(topology),
            "### IPv6 route tables\n\n" + _tables(topology),
            "### IPv6 route paths\n\n"
            "Traced over the rendered templates with `--parameter IpAddressType=dualstack`; "
            "Amazon's blocks are read as the documentation-range stand-ins above.\n\n"
            + routepath.table(flows, net),
        ]
    )


def _intro() -> str:
    return (
        "The master parameter `IpAddressType` (`ipv4` by default, or `dualstack`) is chosen at "
        "launch from this one set; every nested template turns it into one condition, "
        "`DualStack`, that decides each IPv6 resource and property. With `dualstack`, each VPC "
        "gets an Amazon-provided /56 and each subnet a /64; the GWLB, its endpoint service and "
        "endpoints, and the ALB are dual-stack; the web servers and the bastion take an IPv6 "
        "address. IPv6 workload traffic crosses the same endpoints as IPv4, both ways: a "
        "workload's `::/0` goes to its AZ's endpoint, the endpoint subnets' `::/0` to the "
        "internet gateway (never an egress-only gateway, whose replies could not be steered "
        "back through the endpoint), and the internet gateway's own route table sends each "
        "workload subnet's /64 to that AZ's endpoint, so replies and unsolicited traffic meet "
        "the appliance first. The Geneve header stays IPv4.\n\n"
        "Cost: IPv6 addresses are free and no public IPv4 address is added; the GWLB, endpoint "
        "and NAT charges are unchanged (IPv6 egress uses the internet gateway, not the NAT "
        "gateways), and IPv6 traffic is billed per GB at the endpoint and the GWLB like IPv4."
    )


def _separated_note(topology: Topology) -> str:
    if topology.inspection_vpc.role.serves_applications:
        return (
            "\n\nThe appliances' policy learns the VPC's /56 at launch (its `internal_cidrs`), "
            "so IPv6 is judged as IPv4 is: out and in-VPC flows pass, nothing opens from outside."
        )
    return (
        "\n\n**Known gap (separated-vpc):** the appliances launch before the application VPCs, "
        "so their policy cannot know the application VPCs' /56s: the shipped default-drop policy "
        "drops the workloads' IPv6 until those /56s are added to its `internal_cidrs` and the "
        "appliances reload it (`docs/appliance.md`). The routes above already inspect it."
    )


def _target(route: Route) -> str:
    label = TARGETS[route.target.kind.value]
    return label if route.target.az is None else f"{label} {route.target.az + 1}"


def _rows(topology: Topology, vpc_name: str, routes: tuple[Route, ...]) -> str:
    vpc = topology.vpc(vpc_name)
    rows = [
        "| destination | target |",
        "|---|---|",
        f"| {ipv6.vpc_block(topology, vpc)} ({vpc.label}) | local |",
    ]
    for route in routes:
        destination = route.destination
        if route.destination_subnet is not None:
            destination += f" ({naming.subnet_label(route.destination_subnet)})"
        rows.append(f"| {destination} | {_target(route)} |")
    return "\n".join(rows)


def _tables(topology: Topology) -> str:
    plan = ipv6.plan(topology)
    out = []
    for table in plan.tables:
        subnet = table.subnet
        block = ipv6.subnet_block(topology, subnet)
        title = f"#### {naming.qualified_subnet_id(subnet)}: {naming.subnet_label(subnet)}"
        out.append(f"{title}, {block}\n\n" + _rows(topology, subnet.vpc, table.routes))
    for edge in plan.edges:
        vpc = topology.vpc(edge.vpc)
        prefix = naming.prefixed(vpc.prefix, naming.EDGE_TABLE_ID)
        title = f"#### {prefix}: the internet gateway's edge table ({vpc.label})"
        out.append(f"{title}\n\n" + _rows(topology, edge.vpc, edge.routes))
    return "\n\n".join(out)

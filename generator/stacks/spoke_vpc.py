"""Nested-SpokeVpc (tgw-centralized): one spoke VPC, instantiated once per spoke from the same
template. Its application and transit subnets, its transit gateway attachment, its web servers
and a role of their own. No internet gateway and no NAT: every packet that leaves the VPC goes
to the transit gateway and through the inspection VPC."""

from __future__ import annotations

from troposphere import Ref, Select, Split, ec2

from core import naming
from generator.model import ComponentKind, Tier, Topology, Vpc, VpcRole
from generator.stacks.base import Nested, NestedBuilder, network_stack
from generator.stacks.network import add_network
from generator.stacks.security import icmp_echo, per_subnet, rule
from generator.stacks.ssm_role import add_role, signal_policy
from generator.stacks.web import HTTP, add_servers

CONCERN = "SpokeVpc"
SPOKE_CIDRS_PARAM = "SpokeCidrs"


def build(topology: Topology, vpc: Vpc, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: one spoke VPC (application and transit gateway subnets per AZ) "
        "attached to the transit gateway, with web servers answering 'web server N in "
        "application VPC K'. Everything it sends leaves through the inspection VPC.",
        catalogue,
        topology,
        local=(vpc.name,),
        generic=vpc,
    )
    add_network(builder, vpc)
    _add_security_group(builder, vpc)
    role, profile = add_role(builder, "Web")
    # In place before any server boots, so its first signal is allowed.
    signal_policy(builder, "Web", "WebSignalPolicy", role=Ref(role))
    # A server's first packets need its VPC attached, placed in the spokes' table and known to
    # the inspection VPC's table (for the replies).
    transit = topology.transit
    assert transit is not None
    attachment = transit.attachment(vpc.name)
    path = (
        naming.TRANSIT_ASSOCIATION_ID,
        *(naming.transit_propagation_id(t) for t in attachment.propagates_to),
    )
    add_servers(builder, vpc, Ref(profile), after=path)
    # The servers' signals cross the inspection VPC's endpoints, appliances and NAT gateways.
    return builder.done(
        after=(naming.stack_id("Appliances"), naming.stack_id("InspectionRoutes")),
        stack_id=network_stack(vpc),
        file=naming.nested_file(CONCERN),
        prefix=vpc.prefix,
    )


def _spoke_cidr(builder: NestedBuilder, index: int):
    """Spoke `index`'s block, from one input listing every spoke's, so that each spoke's
    template text is the same."""
    spokes = builder.topology.vpcs_of(VpcRole.APPLICATION)
    names = tuple(naming.vpc_cidr_param(v) for v in spokes)
    listed = builder.master_list(
        SPOKE_CIDRS_PARAM, names, "IPv4 blocks of every spoke VPC, comma-separated, in order."
    )
    return Select(index, Split(",", listed))


def _add_security_group(builder: NestedBuilder, vpc: Vpc) -> None:
    """HTTP from the ALB's nodes and the bastion (the ingress VPC's public subnets) and from
    every spoke, ping from the bastion's subnet and from every spoke. Security groups of other
    VPCs cannot be referenced across a transit gateway, so every source is a block."""
    topology = builder.topology
    (ingress,) = topology.vpcs_of(VpcRole.INGRESS)
    public = topology.tier(Tier.PUBLIC, ingress.name)
    bastion_subnet = topology.one(ComponentKind.BASTION).subnets[0]
    spokes = topology.vpcs_of(VpcRole.APPLICATION)
    east_west_in, east_west_out = [], []
    for index, spoke in enumerate(spokes):
        block = _spoke_cidr(builder, index)
        east_west_in += [
            rule("tcp", HTTP, block, f"HTTP from spoke {spoke.number} (east-west)"),
            icmp_echo(block, f"Ping from spoke {spoke.number} (east-west)"),
        ]
        east_west_out += [
            rule("tcp", HTTP, block, f"HTTP to spoke {spoke.number} (east-west)"),
        ]
    builder.template.add_resource(
        ec2.SecurityGroup(
            "WebSecurityGroup",
            GroupDescription="Web servers: HTTP from the ALB and the spokes, through the GWLB",
            VpcId=Ref("Vpc"),
            SecurityGroupIngress=[
                *per_subnet(
                    builder,
                    "tcp",
                    HTTP,
                    public,
                    lambda where: f"HTTP from the ALB node in the ingress VPC's {where}",
                ),
                icmp_echo(builder.subnet_cidr(bastion_subnet), "Ping from the bastion's subnet"),
                *east_west_in,
            ],
            SecurityGroupEgress=[
                rule("tcp", 443, "0.0.0.0/0", "HTTPS out (via the inspection VPC) for SSM"),
                icmp_echo("0.0.0.0/0", "Ping out (via the inspection VPC)"),
                *east_west_out,
                # make smoke asks the ALB from here in China, where port 80 of an
                # internet-facing ALB answers only after an ICP filing.
                *per_subnet(
                    builder,
                    "tcp",
                    HTTP,
                    public,
                    lambda where: f"HTTP to the ALB node in the ingress VPC's {where}",
                ),
            ],
            Tags=builder.tags(builder.vpc_label(vpc), "web server security group"),
        )
    )

"""Nested-IngressVpc (tgw-centralized): the VPC the internet enters by. Its public subnets hold
the internet-facing ALB (and the bastion, Nested-Bastion), its transit subnets its attachment;
the ALB's targets are the spokes' web servers by address, reached through the transit gateway
and the inspection VPC both ways."""

from __future__ import annotations

from troposphere import Ref, ec2
from troposphere import elasticloadbalancingv2 as elb

from core import naming
from generator.model import ComponentKind, Topology, Vpc, VpcRole
from generator.stacks.base import Nested, NestedBuilder, network_stack
from generator.stacks.network import add_network
from generator.stacks.security import rule
from generator.stacks.web import HTTP, add_load_balancer

CONCERN = "IngressVpc"


def build(topology: Topology, vpc: Vpc, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: ingress VPC attached to the transit gateway, with the internet-facing "
        "ALB whose targets are the spokes' web servers, inspected both ways.",
        catalogue,
        topology,
        local=(vpc.name,),
    )
    add_network(builder, vpc)
    spokes = topology.vpcs_of(VpcRole.APPLICATION)
    builder.template.add_resource(
        ec2.SecurityGroup(
            "AlbSecurityGroup",
            GroupDescription="ALB: HTTP from the internet, HTTP to the spoke web servers",
            VpcId=Ref("Vpc"),
            SecurityGroupIngress=[rule("tcp", HTTP, "0.0.0.0/0", "HTTP from the internet")],
            SecurityGroupEgress=[
                rule("tcp", HTTP, builder.vpc_cidr(s), f"HTTP to the web servers of {s.label}")
                for s in spokes
            ],
            Tags=builder.tags("ingress VPC", "ALB security group"),
        )
    )
    # Addresses outside the ALB's VPC are registered for every zone ("all").
    targets = [
        elb.TargetDescription(
            Id=_server_address(builder, spoke, az), Port=HTTP, AvailabilityZone="all"
        )
        for spoke in spokes
        for az in topology.azs
    ]
    add_load_balancer(builder, vpc, Ref("Vpc"), targets, "ip")
    return builder.done(
        stack_id=network_stack(vpc), file=naming.nested_file(CONCERN), prefix=vpc.prefix
    )


def _server_address(builder: NestedBuilder, spoke: Vpc, az: int) -> Ref:
    """Web server `az` of `spoke`'s private address, from that spoke's stack."""
    server = builder.topology.placed(ComponentKind.WEB_SERVER, spoke.name)[az]
    output = naming.resource_output(
        naming.web_server_id(server.subnets[0].az), naming.PRIVATE_IP_OUTPUT
    )
    return builder.output_of_stack(
        network_stack(spoke),
        output,
        what=f"Private IP of web server {server.number} of {spoke.label}.",
        name=naming.prefixed_output(spoke.prefix, output),
    )

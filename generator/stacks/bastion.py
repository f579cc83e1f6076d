"""Nested-Bastion: a Windows Server bastion with an Elastic IP, RDP from one block only."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, ec2

from core import naming
from generator.model import ComponentKind, Tier, Topology, VpcRole
from generator.stacks.base import Nested, NestedBuilder
from generator.stacks.instances import WINDOWS_ROOT_DEVICE, encrypted_root, imdsv2
from generator.stacks.ipv6_network import subnet_block
from generator.stacks.ipv6_security import ANYWHERE6, icmp6_echo, per_subnet6, rule6
from generator.stacks.security import icmp_echo, per_subnet, rule
from generator.stacks.ssm_role import instance_profile

CONCERN = "Bastion"
RDP = 3389


def build(topology: Topology, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN, "GWLB quickstart: Windows bastion with an Elastic IP and RDP.", catalogue, topology
    )
    bastion = topology.one(ComponentKind.BASTION)
    (subnet,) = bastion.subnets
    vpc = topology.vpc(bastion.vpc)
    egress = [rule("tcp", 443, "0.0.0.0/0", "HTTPS out for Session Manager and updates")]
    if topology.transit is not None:
        # Every spoke, one rule per VPC: per subnet, twenty spokes would pass the group's limit.
        for spoke in topology.vpcs_of(VpcRole.APPLICATION):
            block = builder.vpc_cidr(spoke)
            egress += [
                icmp_echo(block, f"Ping the web servers of {spoke.label}"),
                rule("tcp", 80, block, f"HTTP to the web servers of {spoke.label}, inspected"),
            ]
    else:
        egress += [
            icmp_echo(builder.subnet_cidr(s), f"Ping the web server in {naming.subnet_label(s)}")
            for s in topology.tier(Tier.APPLICATION, vpc.name)
        ]
        egress += per_subnet(
            builder,
            "tcp",
            80,
            topology.tier(Tier.APPLICATION, vpc.name),
            lambda where: f"HTTP to the web server in {where}, through the GWLB",
        )
    apps = topology.tier(Tier.APPLICATION, vpc.name)
    egress += [
        *rule6(builder, "tcp", 443, ANYWHERE6, "HTTPS out over IPv6"),
        *(
            rule
            for s in apps
            for rule in icmp6_echo(
                builder,
                subnet_block(builder, s),
                f"IPv6 ping to the web server in {naming.subnet_label(s)}",
            )
        ),
        *per_subnet6(
            builder, "tcp", 80, apps, lambda where: f"HTTP over IPv6 to the web server in {where}"
        ),
    ]
    builder.template.add_resource(
        ec2.SecurityGroup(
            "BastionSecurityGroup",
            GroupDescription="Bastion: RDP from the allowed block only",
            VpcId=builder.vpc_ref(vpc),
            SecurityGroupIngress=[
                rule("tcp", RDP, builder.master("BastionAllowedCidr"), "RDP from the allowed block")
            ],
            SecurityGroupEgress=egress,
            Tags=builder.tags("bastion security group"),
        )
    )
    builder.template.add_resource(
        ec2.Instance(
            "Bastion",
            ImageId=builder.master("WindowsAmiId"),
            InstanceType=builder.master("BastionInstanceType"),
            KeyName=builder.master("KeyPairName"),
            SubnetId=builder.subnet_ref(subnet),
            SecurityGroupIds=[Ref("BastionSecurityGroup")],
            IamInstanceProfile=instance_profile(builder, "Bastion"),
            MetadataOptions=imdsv2(),
            BlockDeviceMappings=encrypted_root(WINDOWS_ROOT_DEVICE),
            Tags=builder.tags("bastion"),
        )
    )
    builder.template.add_resource(
        ec2.EIP(
            "BastionEip",
            Domain="vpc",
            InstanceId=Ref("Bastion"),
            Tags=builder.tags("bastion address"),
        )
    )
    builder.output("BastionPublicIp", Ref("BastionEip"), "Connect with RDP to this address.")
    builder.output("BastionInstanceId", Ref("Bastion"), "Instance id of the bastion.")
    builder.output("BastionPrivateIp", GetAtt("Bastion", "PrivateIp"), "Private IP of the bastion.")
    builder.output(
        "BastionSessionCommand",
        Sub("aws ssm start-session --region ${AWS::Region} --target ${Bastion}"),
        "Opens a Session Manager session on the bastion.",
    )
    return builder.done()

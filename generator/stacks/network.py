"""Nested-Network: VPC, subnets per tier and AZ, route tables, internet and NAT gateways and their
routes. Routes through GWLB endpoints live in Nested-InspectionRoutes, after the endpoints exist."""

from __future__ import annotations

from troposphere import GetAtt, GetAZs, Ref, Select, ec2

from generator import naming
from generator.model import TargetKind, Tier, Topology
from generator.stacks.base import Nested, NestedBuilder
from generator.stacks.routes import add_routes, cidr_ref

CONCERN = "Network"


def build(topology: Topology, catalogue: dict) -> Nested:
    b = NestedBuilder(
        CONCERN,
        "GWLB quickstart: VPC, subnets, route tables, internet gateway, one NAT gateway per AZ.",
        catalogue,
    )
    vpc = topology.vpcs[0]
    _add_vpc(b, vpc.name)
    _add_subnets(b, topology)
    _add_gateways(b, topology)
    _add_routes(b, topology)
    return b.done()


def _add_vpc(b: NestedBuilder, vpc_name: str) -> None:
    t = b.template
    t.add_resource(
        ec2.VPC(
            vpc_name,
            CidrBlock=b.master(f"{vpc_name}Cidr"),
            EnableDnsHostnames=True,
            EnableDnsSupport=True,
            Tags=b.tags("VPC"),
        )
    )
    t.add_resource(ec2.InternetGateway("InternetGateway", Tags=b.tags("internet gateway")))
    t.add_resource(
        ec2.VPCGatewayAttachment(
            "InternetGatewayAttachment",
            VpcId=Ref(vpc_name),
            InternetGatewayId=Ref("InternetGateway"),
        )
    )
    b.output("VpcId", Ref(vpc_name), "ID of the VPC.")


def _add_subnets(b: NestedBuilder, topology: Topology) -> None:
    t = b.template
    for subnet in topology.subnets:
        sid = naming.subnet_id(subnet)
        t.add_resource(
            ec2.Subnet(
                sid,
                VpcId=Ref(subnet.vpc),
                CidrBlock=b.master(naming.subnet_cidr_param(subnet)),
                AvailabilityZone=Select(subnet.az, GetAZs("")),
                MapPublicIpOnLaunch=False,
                Tags=b.tags(naming.subnet_label(subnet)),
            )
        )
        rt = naming.route_table_id(subnet)
        t.add_resource(
            ec2.RouteTable(
                rt,
                VpcId=Ref(subnet.vpc),
                Tags=b.tags(naming.subnet_label(subnet), "route table"),
            )
        )
        t.add_resource(
            ec2.SubnetRouteTableAssociation(
                naming.association_id(subnet), SubnetId=Ref(sid), RouteTableId=Ref(rt)
            )
        )
        b.output(f"{sid}Id", Ref(sid), f"ID of the {naming.subnet_label(subnet)}.")
        b.output(f"{rt}Id", Ref(rt), f"Route table of the {naming.subnet_label(subnet)}.")
        b.output(
            f"{sid}Az",
            GetAtt(sid, "AvailabilityZone"),
            f"Availability Zone of the {naming.subnet_label(subnet)}.",
        )


def _add_gateways(b: NestedBuilder, topology: Topology) -> None:
    t = b.template
    for az in topology.azs:
        public = naming.subnet_id(topology.subnet(Tier.PUBLIC, az))
        t.add_resource(
            ec2.EIP(
                naming.nat_eip_id(az),
                Domain="vpc",
                DependsOn="InternetGatewayAttachment",
                Tags=b.tags(f"NAT gateway {az + 1} address"),
            )
        )
        t.add_resource(
            ec2.NatGateway(
                naming.nat_id(az),
                AllocationId=GetAtt(naming.nat_eip_id(az), "AllocationId"),
                SubnetId=Ref(public),
                Tags=b.tags(f"NAT gateway {az + 1}"),
            )
        )


def _add_routes(b: NestedBuilder, topology: Topology) -> None:
    def target(route):
        if route.target.kind is TargetKind.INTERNET_GATEWAY:
            return Ref("InternetGateway")
        return Ref(naming.nat_id(route.target.az))

    for table in topology.route_tables:
        add_routes(
            b.template,
            table,
            Ref(naming.route_table_id(table.subnet)),
            {TargetKind.INTERNET_GATEWAY, TargetKind.NAT_GATEWAY},
            target,
            cidr_ref,
            depends_on={TargetKind.INTERNET_GATEWAY: "InternetGatewayAttachment"},
        )

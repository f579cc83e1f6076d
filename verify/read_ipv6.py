"""The set reader's part for IPv6: each VPC's blocks (its VPCCidrBlock resources, evaluated), each
subnet's /64, and egress-only internet gateways with the VPC they are attached to."""

from __future__ import annotations

from verify.read_context import ReadContext


def ipv6(reader: ReadContext) -> None:
    model = reader.model
    for *_, p in reader.each("AWS::EC2::VPCCidrBlock"):
        vpc = reader.ident(p, "VpcId")
        if vpc in model.vpcs and vpc not in model.ipv6.blocks:
            stack = reader.stack_of(vpc)
            _, logical = reader.resource(vpc)
            blocks = stack.eval({"Fn::GetAtt": [logical, "Ipv6CidrBlocks"]})
            if blocks:
                model.ipv6.blocks[vpc] = reader.cidr(blocks[0], "Ipv6CidrBlocks")
    for _, rid, p in reader.each("AWS::EC2::Subnet"):
        if p.get("Ipv6CidrBlock") is not None:
            model.ipv6.blocks[rid] = reader.cidr(p["Ipv6CidrBlock"], "Ipv6CidrBlock")
            if str(p.get("AssignIpv6AddressOnCreation", "")).lower() == "true":
                model.ipv6.assigning.add(rid)
    for _, rid, p in reader.each("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        if str(p.get("IpAddressType", "ipv4")).startswith("dualstack"):
            model.ipv6.dualstack.add(rid)
    for _, rid, p in reader.each("AWS::EC2::EgressOnlyInternetGateway"):
        model.ipv6.egress_only[rid] = reader.ident(p, "VpcId")

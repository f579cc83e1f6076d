"""Copies of a dual-stack set with its IPv6 inspection broken, for the lab's must-fail tests."""

from __future__ import annotations

from pathlib import Path

from lab_mutations import _save

from core import cfn_yaml


def drop_ipv6_endpoint_routes(directory: Path) -> list[str]:
    """Every IPv6 route to a GWLB endpoint (the subnets' and the gateway's edge table's) gone,
    as when an IaC tool drops them: the names removed."""
    path = directory / "Nested-InspectionRoutes.yml"
    body = cfn_yaml.load(path)
    gone = [
        name
        for name, res in body["Resources"].items()
        if res["Type"] == "AWS::EC2::Route"
        and "DestinationIpv6CidrBlock" in res["Properties"]
        and "VpcEndpointId" in res["Properties"]
    ]
    for name in gone:
        del body["Resources"][name]
    _save(path, body)
    return gone


def egress_through_egress_only_gateway(directory: Path) -> list[str]:
    """What the appliances hand back leaves by an egress-only internet gateway instead of the
    internet gateway: the endpoint subnets' ::/0 routes name it. Its replies cannot meet an
    edge route table. The routes changed."""
    path = directory / "Nested-Network.yml"
    body = cfn_yaml.load(path)
    resources = body["Resources"]
    resources["EgressOnlyGateway"] = {
        "Type": "AWS::EC2::EgressOnlyInternetGateway",
        "Condition": "DualStack",
        "Properties": {"VpcId": {"Ref": "Vpc"}},
    }
    changed = []
    for name, res in resources.items():
        props = res.get("Properties", {})
        if (
            res["Type"] == "AWS::EC2::Route"
            and name.startswith("EndpointSubnet")
            and props.get("DestinationIpv6CidrBlock") == "::/0"
        ):
            del props["GatewayId"]
            props["EgressOnlyInternetGatewayId"] = {"Ref": "EgressOnlyGateway"}
            res.pop("DependsOn", None)
            changed.append(name)
    _save(path, body)
    return changed


def forget_application_vpc_block(directory: Path, number: int) -> str:
    """The appliances' dual-stack policy without application VPC `number`'s /56, as when they
    are launched before that VPC has one: to them its workloads' IPv6 is neither internal nor
    outbound. The text left in the policy's internal list."""
    path = directory / "Nested-Appliances.yml"
    body = cfn_yaml.load(path)
    data = body["Resources"]["ApplianceLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    (choice,) = data["UserData"]["Fn::Base64"]["Fn::Sub"][1]["Ipv6Internal"].values()
    text, blocks = choice[1]["Fn::Sub"]
    variable = f"Block{number}"
    assert blocks.pop(variable) == {"Ref": f"App{number}VpcIpv6Block"}
    choice[1]["Fn::Sub"][0] = text.replace(f',"${{{variable}}}"', "")
    _save(path, body)
    return choice[1]["Fn::Sub"][0]

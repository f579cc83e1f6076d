"""AWS's refusals, each shown on a committed set with one thing changed the way a user or a bad
change would, and valid equivalents (other spellings, other names) that must be accepted."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from core import cfn_yaml
from verify import files, reader, routepath, validate
from verify.errors import SetError
from verify.evaluate import evaluate

SINGLE = cfn_yaml.load_set(Path(__file__).resolve().parents[2] / "output" / "aws" / "single-vpc")


def _set() -> dict[str, dict]:
    return copy.deepcopy(SINGLE)


def _resources(templates: dict, file: str) -> dict:
    return templates[file]["Resources"]


def _refusals(templates: dict, parameters: dict | None = None) -> list[str]:
    model = reader.read(evaluate(files.from_templates(templates), parameters))
    return [str(r) for r in validate.problems(model)]


def test_the_committed_set_is_accepted():
    assert _refusals(_set()) == []


def test_a_route_more_specific_than_local_must_be_a_whole_subnet():
    templates = _set()
    route = _resources(templates, "Nested-InspectionRoutes.yml")[
        "ApplicationSubnet1ToPublicSubnet1ViaGwlbe1"
    ]
    route["Properties"]["DestinationCidrBlock"] = "10.0.1.0/25"  # half of a subnet
    (refusal,) = _refusals(templates)
    assert refusal.startswith("ApplicationSubnet1ToPublicSubnet1ViaGwlbe1: InvalidParameterValue:")
    assert "does not match the block of a subnet" in refusal


def test_a_subnet_route_may_not_point_at_a_nat_gateway():
    templates = _set()
    route = _resources(templates, "Nested-InspectionRoutes.yml")[
        "ApplicationSubnet1ToPublicSubnet1ViaGwlbe1"
    ]
    props = route["Properties"]
    del props["VpcEndpointId"]
    props["NatGatewayId"] = {"Ref": "GwlbEndpoint1Id"}  # any id: the kind is what AWS refuses
    found = _refusals(templates)
    assert any("may target only a Gateway Load Balancer endpoint" in f for f in found), found


def test_two_routes_to_one_destination_in_one_table_are_refused():
    templates = _set()
    routes = _resources(templates, "Nested-InspectionRoutes.yml")
    routes["Again"] = copy.deepcopy(routes["ApplicationSubnet1ToInternetViaGwlbe1"])
    found = _refusals(templates)
    assert any(f.startswith("Again: RouteAlreadyExists:") for f in found), found


def test_failover_attributes_must_match():
    templates = _set()
    tg = _resources(templates, "Nested-GWLB.yml")["ApplianceTargetGroup"]["Properties"]
    for attribute in tg["TargetGroupAttributes"]:
        if attribute["Key"] == "target_failover.on_deregistration":
            attribute["Value"] = "no_rebalance"
    (refusal,) = _refusals(templates)
    assert refusal.startswith("ApplianceTargetGroup: ValidationError: target_failover")


def test_an_endpoint_needs_a_gwlb_node_in_its_zone():
    templates = _set()
    gwlb = _resources(templates, "Nested-GWLB.yml")["GatewayLoadBalancer"]["Properties"]
    gwlb["Subnets"] = gwlb["Subnets"][:1]
    found = _refusals(templates)
    assert any(f.startswith("GwlbEndpoint2: InvalidParameter:") for f in found), found


def test_a_route_to_a_removed_gateway_is_a_template_error():
    templates = _set()
    del _resources(templates, "Nested-Network.yml")["NatGateway1"]
    with pytest.raises(SetError) as caught:
        _refusals(templates)
    assert str(caught.value) == (
        "Nested-Network.yml: Template format error: Unresolved resource dependencies "
        "[NatGateway1] in the Resources block of the template"
    )


def test_a_route_to_an_id_of_nothing_is_not_found():
    templates = _set()
    route = _resources(templates, "Nested-Network.yml")["ApplianceSubnet1ToInternetViaNat1"]
    route["Properties"]["NatGatewayId"] = "nat-0123456789abcdef0"  # an id from another stack
    found = _refusals(templates)
    assert any(
        f.startswith("ApplianceSubnet1ToInternetViaNat1: InvalidNatGatewayID.NotFound")
        for f in found
    ), found


def test_a_security_group_that_is_not_one_is_not_found():
    """The appliances' group turned into another kind of resource (a property test found the
    lab tracing back on this): their launch template still names it, and EC2 says
    InvalidGroup.NotFound."""
    templates = _set()
    group = _resources(templates, "Nested-Appliances.yml")["ApplianceSecurityGroup"]
    group["Type"] = "AWS::EC2::PlacementGroup"
    group["Properties"] = {"Strategy": "spread"}
    found = _refusals(templates)
    members = [f for f in found if "InvalidGroup.NotFound" in f]
    assert [f.split(":")[0] for f in members] == ["ApplianceGroup1", "ApplianceGroup2"], found


def test_an_alb_needs_two_zones():
    templates = _set()
    alb = _resources(templates, "Nested-Web.yml")["ApplicationLoadBalancer"]["Properties"]
    alb["Subnets"] = alb["Subnets"][:1]
    found = _refusals(templates)
    assert any("At least two subnets in two different Availability Zones" in f for f in found)


def test_a_route_behind_a_false_condition_is_absent_and_a_parameter_can_bring_it_back():
    templates = _set()
    body = templates["Nested-InspectionRoutes.yml"]
    body["Parameters"]["WithReturnRoute"] = {"Type": "String", "Default": "no"}
    body.setdefault("Conditions", {})["ReturnRoute"] = {
        "Fn::Equals": [{"Ref": "WithReturnRoute"}, "yes"]
    }
    route = body["Resources"]["ApplicationSubnet1ToPublicSubnet1ViaGwlbe1"]
    route["Condition"] = "ReturnRoute"
    model = reader.read(evaluate(files.from_templates(templates)))
    ids = {r.id for rs in model.routes.values() for r in rs}
    assert "InspectionRoutesStack/ApplicationSubnet1ToPublicSubnet1ViaGwlbe1" not in ids
    # Without the exact-subnet return route, the ALB's replies from web server 1 bypass endpoint 1.
    assert any("ALB node in PublicSubnet1 -> WebServer1" in p for p in routepath.problems(model))


def test_an_undefined_condition_is_one_line():
    templates = _set()
    _resources(templates, "Nested-Web.yml")["WebServer1"]["Condition"] = "Nowhere"
    with pytest.raises(SetError, match=r"^Nested-Web.yml: WebServer1: condition 'Nowhere'"):
        reader.read(evaluate(files.from_templates(templates)))


def test_equivalent_spellings_and_names_read_the_same():
    templates = _set()
    subnet = _resources(templates, "Nested-Network.yml")["ApplicationSubnet1"]["Properties"]
    subnet["CidrBlock"] = {"Fn::Sub": ["${Net}", {"Net": {"Ref": "ApplicationSubnet1Cidr"}}]}
    routes = _resources(templates, "Nested-InspectionRoutes.yml")
    routes["RenamedRoute"] = routes.pop("ApplicationSubnet1ToInternetViaGwlbe1")
    original = reader.read(evaluate(files.from_templates(_set())))
    model = reader.read(evaluate(files.from_templates(templates)))
    assert validate.problems(model) == []
    assert {s.cidr for s in model.subnets.values()} == {s.cidr for s in original.subnets.values()}
    assert routepath.problems(model) == []


def test_other_cidrs_given_at_launch_are_accepted():
    given = {"VpcCidr": "172.20.0.0/16"}
    given.update(
        {
            f"{t}Subnet{i}Cidr": f"172.20.{n * 2 + i}.0/24"
            for n, t in enumerate(["Public", "Endpoint", "Appliance", "Application"])
            for i in (1, 2)
        }
    )
    assert _refusals(_set(), given) == []
    model = reader.read(evaluate(files.from_templates(_set()), given))
    assert routepath.problems(model) == []
    assert {v.cidr for v in model.vpcs.values()} == {"172.20.0.0/16"}


def test_a_desired_size_outside_the_group_is_refused():
    found = _refusals(_set(), {"ApplianceDesiredSize": "9"})
    assert found == [
        "ApplianceGroup: ValidationError: Desired capacity:9 must be between the specified "
        "min size:2 and max size:4"
    ]


def test_a_flow_idle_timeout_outside_the_listeners_range_is_refused():
    found = _refusals(_set(), {"FlowIdleTimeout": "30"})
    assert found == [
        "GatewayLoadBalancer: ValidationError: tcp.idle_timeout.seconds must be 60-6000, not 30"
    ]


def _with_acl(entries: list[tuple[int, bool]]) -> dict:
    templates = _set()
    resources = _resources(templates, "Nested-Network.yml")
    resources["LockedAcl"] = {
        "Type": "AWS::EC2::NetworkAcl",
        "Properties": {"VpcId": {"Ref": "Vpc"}},
    }
    for index, (number, egress) in enumerate(entries):
        resources[f"LockedAclEntry{index}"] = {
            "Type": "AWS::EC2::NetworkAclEntry",
            "Properties": {
                "NetworkAclId": {"Ref": "LockedAcl"},
                "RuleNumber": number,
                "Egress": egress,
                "Protocol": -1,
                "RuleAction": "allow",
                "CidrBlock": "0.0.0.0/0",
            },
        }
    return templates


def test_network_acl_rule_numbers_are_unique_per_direction_and_in_range():
    assert _refusals(_with_acl([(100, False), (100, True)])) == []
    assert _refusals(_with_acl([(100, False), (100, False)])) == [
        "LockedAcl: NetworkAclEntryAlreadyExists: the ingress entry with rule number 100 "
        "already exists"
    ]
    assert _refusals(_with_acl([(32767, True)])) == [
        "LockedAcl: InvalidParameterValue: egress rule number 32767 is outside 1-32766"
    ]

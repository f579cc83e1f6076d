"""What AWS refuses (or accepts and then drops) in transit gateway wiring, and what the contract
requires across stacks, each shown on the hand-written TGW set with one thing changed; and values
the reader cannot use, as one line."""

from __future__ import annotations

import pytest
import yaml

from tests.verify.tgw_fixture import MASTER, SPOKE, TGW_SET, model, templates
from verify import contract, files, routepath, validate
from verify.errors import SetError


def _refusals(changed: dict) -> list[str]:
    return [str(r) for r in validate.problems(model(changed))]


def _master(changed: dict) -> dict:
    return changed[MASTER]["Resources"]


def test_the_set_is_accepted():
    assert _refusals(templates()) == []


def test_an_attachment_associated_with_two_tables_is_refused():
    changed = templates()
    _master(changed)["SecondAssociation"] = {
        "Type": "AWS::EC2::TransitGatewayRouteTableAssociation",
        "Properties": {
            "TransitGatewayAttachmentId": {"Ref": "InspectionAttachment"},
            "TransitGatewayRouteTableId": {"Ref": "SpokesTable"},
        },
    }
    assert _refusals(changed) == [
        "InspectionAttachment: Resource.AlreadyAssociated: associated with 2 route tables "
        "(InspectionTable, SpokesTable); an attachment can have one"
    ]


def test_default_association_left_on_collides_with_every_explicit_association():
    changed = templates()
    _master(changed)["Tgw"]["Properties"]["DefaultRouteTableAssociation"] = "enable"
    found = _refusals(changed)
    assert len(found) == 4  # inspection, ingress and the two spokes are all associated
    assert found[0] == (
        "InspectionAttachment: Resource.AlreadyAssociated: associated with 2 route tables "
        "(the default route table of Tgw, InspectionTable); an attachment can have one"
    )


def test_an_unassociated_attachment_drops_what_enters_the_tgw_from_it():
    changed = templates()
    del _master(changed)["IngressAssociation"]
    assert _refusals(changed) == [
        "IngressAttachment: AcceptedButDrops: associated with no route table and Tgw has "
        "default association disabled: every packet entering the TGW from it is dropped"
    ]


def test_two_attachment_subnets_in_one_az_are_refused_and_the_empty_az_cannot_reach_the_tgw():
    changed = templates()
    subnet = _master(changed)["IngressTransitSubnet2"]["Properties"]
    subnet["AvailabilityZone"] = {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert _refusals(changed) == [
        "IngressAttachment: DuplicateSubnetsInSameZone: 2 subnets in az0: an attachment takes "
        "one subnet per AZ",
        "FrontToSpokes: AcceptedButDrops: FrontSubnet2 routes to Tgw from az1, where "
        "IngressAttachment has no subnet: its resources cannot reach the transit gateway",
    ]


def test_a_subnet_route_from_an_az_without_an_attachment_subnet_is_flagged():
    changed = templates()
    _master(changed)["IngressAttachment"]["Properties"]["SubnetIds"] = [
        {"Ref": "IngressTransitSubnet1"}
    ]
    assert _refusals(changed) == [
        "FrontToSpokes: AcceptedButDrops: FrontSubnet2 routes to Tgw from az1, where "
        "IngressAttachment has no subnet: its resources cannot reach the transit gateway",
    ]


def test_a_route_to_a_tgw_the_vpc_is_not_attached_to_is_refused():
    changed = templates()
    for name in ("IngressAttachment", "IngressAssociation", "IngressPropagation"):
        del _master(changed)[name]
    del _master(changed)["FrontToSpokes"]["DependsOn"]
    assert _refusals(changed) == [
        "FrontToSpokes: InvalidParameterValue: route table FrontTable and network gateway Tgw "
        "belong to different networks (the VPC has no attachment to it)"
    ]


def test_a_tgw_route_to_another_gateways_attachment_is_refused():
    changed = templates()
    resources = _master(changed)
    resources["OtherTgw"] = {"Type": "AWS::EC2::TransitGateway", "Properties": {}}
    resources["OtherAttachment"] = {
        "Type": "AWS::EC2::TransitGatewayVpcAttachment",
        "Properties": {
            "TransitGatewayId": {"Ref": "OtherTgw"},
            "VpcId": {"Ref": "InspectionVpc"},
            "SubnetIds": [{"Ref": "TransitSubnet1"}, {"Ref": "TransitSubnet2"}],
        },
    }
    route = resources["SpokesToInspection"]["Properties"]
    route["TransitGatewayAttachmentId"] = {"Ref": "OtherAttachment"}
    assert _refusals(changed) == [
        "SpokesToInspection: InvalidTransitGatewayAttachmentID.NotFound: OtherAttachment is "
        "sent by SpokesTable, a route table of another transit gateway"
    ]


def test_a_blackhole_route_with_an_attachment_is_refused_and_one_without_drops():
    changed = templates()
    route = _master(changed)["IngressToInspection"]["Properties"]
    route["Blackhole"] = True
    assert _refusals(changed) == [
        "IngressToInspection: InvalidParameterCombination: a transit gateway route names either "
        "an attachment or Blackhole: true"
    ]
    del route["TransitGatewayAttachmentId"]
    assert _refusals(changed) == []
    # Accepted, and the ingress flows die in the ingress table's blackhole.
    assert routepath.problems(model(changed)) == [
        "IngressTable has a blackhole route to 10.11.0.10: dropped"
    ]


def test_the_cli_refuses_before_tracing(tmp_path, capsys):
    changed = templates()
    del _master(changed)["IngressAssociation"]
    for name, body in changed.items():
        (tmp_path / name).write_text(yaml.safe_dump(body))
    assert routepath.main([str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "REFUSED BY AWS: IngressAttachment: AcceptedButDrops: associated with no route table "
        "and Tgw has default association disabled: every packet entering the TGW from it is "
        "dropped\n"
    )


@pytest.mark.parametrize(
    ("file", "resource", "key", "value", "words"),
    [
        (
            MASTER,
            "InspectionAttachment",
            "Options",
            {"ApplianceModeSupport": "on"},
            "master.yaml: InspectionAttachment: ApplianceModeSupport is 'on', not enable or "
            "disable",
        ),
        (
            SPOKE,
            "Attachment",
            "TransitGatewayId",
            {"Fn::ImportValue": "shared-tgw"},
            "spoke.yaml: Attachment: TransitGatewayId is '<Fn::ImportValue>', not a resource of "
            "this set",
        ),
        (
            MASTER,
            "Tgw",
            "DefaultRouteTablePropagation",
            "yes",
            "master.yaml: Tgw: DefaultRouteTablePropagation is 'yes', not enable or disable",
        ),
        (
            MASTER,
            "SpokesToInspection",
            "DestinationCidrBlock",
            {"Fn::ImportValue": "range"},
            "master.yaml: SpokesToInspection: DestinationCidrBlock is '<Fn::ImportValue>', "
            "which cannot be evaluated offline",
        ),
    ],
)
def test_a_value_the_reader_cannot_use_is_one_line(file, resource, key, value, words):
    changed = templates()
    changed[file]["Resources"][resource]["Properties"][key] = value
    with pytest.raises(SetError) as caught:
        model(changed)
    assert str(caught.value) == words


def test_the_fixture_directory_is_what_the_tests_change():
    assert sorted(p.name for p in TGW_SET.iterdir()) == [MASTER, SPOKE]


def _contract(changed: dict) -> list[str]:
    return contract.check_set(files.from_templates(changed, MASTER))


def test_the_contract_holds_for_the_tgw_set():
    assert _contract(templates()) == []


def test_a_route_to_the_tgw_not_ordered_after_the_attachment_breaks_the_contract():
    changed = templates()
    del changed[SPOKE]["Resources"]["ApplicationDefault"]["DependsOn"]
    del _master(changed)["Endpoint2ToIngress"]["DependsOn"]
    assert _contract(changed) == [
        f"{file}: {route}: routes to the transit gateway but is not ordered after {attachment}: "
        "CloudFormation may create it first, and AWS refuses a route to a TGW the VPC is not "
        "attached to yet"
        for file, route, attachment in [
            (MASTER, "Endpoint2ToIngress", "InspectionAttachment"),
            (SPOKE, "ApplicationDefault", "App1Attachment"),
            (SPOKE, "ApplicationDefault", "App2Attachment"),
        ]
    ]


def test_an_attachment_whose_cidr_nothing_routes_back_breaks_the_contract():
    changed = templates()
    del _master(changed)["IngressPropagation"]
    assert _contract(changed) == [
        "IngressAttachment: no other attachment's TGW route table routes 10.1.0.0/16 to it: "
        "nothing can reach its VPC through the transit gateway"
    ]

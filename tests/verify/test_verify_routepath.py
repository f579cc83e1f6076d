"""The route-path verifier over the rendered templates: every flow crosses one GWLB endpoint,
the same one each way; and the verifier catches the designs that do not."""

import copy

import pytest

from core.naming import MASTER_FILE
from tests.set_helpers import COMMITTED, SETS, load_set
from verify import reader, routepath


def _flows(templates):
    net = reader.from_templates(templates)
    return routepath.standard_flows(net), net


@pytest.mark.parametrize(("partition", "architecture"), SETS)
def test_committed_sets_inspect_every_flow_symmetrically(partition, architecture):
    templates = load_set(COMMITTED / partition / architecture)
    flows, net = _flows(templates)
    # 2 AZs: 2 egress flows, 2 x 2 ALB node/web server pairs, 2 bastion flows
    assert len(flows) == 8
    assert routepath.problems(net) == []
    for flow in flows:
        assert len(flow.forward.endpoints) == 1
        assert flow.forward.endpoints == flow.back.endpoints


def test_three_azs_cover_every_pair_cross_zone_included(three_az):
    flows, net = _flows(load_set(three_az))
    assert len(flows) == 3 + 9 + 3
    assert routepath.problems(net) == []
    alb = [f for f in flows if f.name.startswith("ALB node in PublicSubnet1 ->")]
    # Traffic entering at the ALB node of AZ 1 uses endpoint 1 whatever the web server's AZ.
    assert {f.forward.endpoints[0].split("/")[1] for f in alb} == {"GwlbEndpoint1"}
    assert {f.back.endpoints[0].split("/")[1] for f in alb} == {"GwlbEndpoint1"}


def test_egress_goes_out_and_back_through_the_same_az_nat_and_endpoint():
    flows, _ = _flows(load_set(COMMITTED / "aws" / "single-vpc"))
    egress = next(f for f in flows if f.name == "WebServer2 -> internet")
    assert egress.forward.hops == [
        "from:ApplicationSubnet2",
        "GwlbEndpoint2",
        "appliance:ApplianceSubnet2",
        "NatGateway2",
        "InternetGateway",
        "internet",
    ]
    assert egress.back.hops == [
        "internet",
        "NatGateway2",
        "GwlbEndpoint2",
        "appliance:ApplianceSubnet2",
        "deliver:ApplicationSubnet2",
    ]


def _drop_routes(templates, keep):
    """A copy of the set without the inspection routes for which keep(route table, cidr) fails."""
    changed = copy.deepcopy(templates)
    body = changed["Nested-InspectionRoutes.yml"]
    for name, res in list(body["Resources"].items()):
        props = res["Properties"]
        if "DestinationCidrBlock" not in props:
            continue  # IPv6 routes and the gateway's edge table: ipv4 sets leave them out
        if not keep(props["RouteTableId"]["Ref"], props["DestinationCidrBlock"]):
            del body["Resources"][name]
    return changed


def test_the_replaced_quickstarts_routes_fail():
    """Without the exact-subnet routes between public and application subnets (the original
    design), ALB and bastion traffic bypasses the GWLB and egress replies come back around it;
    the verifier must say so."""
    templates = load_set(COMMITTED / "aws-cn" / "single-vpc")
    original = _drop_routes(templates, lambda table, cidr: cidr == "0.0.0.0/0")
    found = routepath.problems(reader.from_templates(original))
    assert len(found) == 8
    egress = [p for p in found if "-> internet" in p]
    assert egress == [
        "WebServer1 -> internet: endpoint out ['GwlbEndpoint1'], back ['none']",
        "WebServer2 -> internet: endpoint out ['GwlbEndpoint2'], back ['none']",
    ]
    others = [p for p in found if p not in egress]
    assert all(p.endswith("endpoint out ['none'], back ['none']") for p in others)


def test_replies_through_the_own_az_endpoint_are_caught_as_asymmetric():
    """Routing replies to a public subnet through the application subnet's own AZ endpoint breaks
    cross-zone symmetry: GWLB would see only one direction of those flows."""
    templates = load_set(COMMITTED / "aws" / "single-vpc")
    body = templates["Nested-InspectionRoutes.yml"]
    for res in body["Resources"].values():
        if res["Type"] != "AWS::EC2::Route" or "Condition" in res:
            continue  # IPv6 routes and the edge table: only with dualstack
        props = res["Properties"]
        table = props["RouteTableId"]["Ref"]
        if table.startswith("ApplicationSubnet"):
            az = table[len("ApplicationSubnet")]
            props["VpcEndpointId"] = {"Ref": f"GwlbEndpoint{az}Id"}
    found = routepath.problems(reader.from_templates(templates))
    assert sorted(found) == [
        "ALB node in PublicSubnet1 -> WebServer2: endpoint out ['GwlbEndpoint1'], "
        "back ['GwlbEndpoint2']",
        "ALB node in PublicSubnet2 -> WebServer1: endpoint out ['GwlbEndpoint2'], "
        "back ['GwlbEndpoint1']",
        "Bastion -> WebServer2: endpoint out ['GwlbEndpoint1'], back ['GwlbEndpoint2']",
    ]


def test_appliance_egress_through_an_endpoint_is_caught():
    templates = load_set(COMMITTED / "aws" / "single-vpc")
    # Send appliance subnet 1's default route to GWLB endpoint 1 instead of its NAT gateway.
    del templates["Nested-Network.yml"]["Resources"]["ApplianceSubnet1ToInternetViaNat1"]
    routes = templates["Nested-InspectionRoutes.yml"]["Resources"]
    routes["Bad"] = {
        "Type": "AWS::EC2::Route",
        "Properties": {
            "RouteTableId": {"Ref": "ApplianceSubnet1RouteTableId"},
            "DestinationCidrBlock": "0.0.0.0/0",
            "VpcEndpointId": {"Ref": "GwlbEndpoint1Id"},
        },
    }
    params = templates[MASTER_FILE]["Resources"]["InspectionRoutesStack"]["Properties"]
    params["Parameters"]["ApplianceSubnet1RouteTableId"] = {
        "Fn::GetAtt": ["NetworkStack", "Outputs.ApplianceSubnet1RouteTableId"]
    }
    found = routepath.problems(reader.from_templates(templates))
    assert any("appliance" in p for p in found), found


def test_cli_prints_the_table_and_exits_0(capsys):
    assert routepath.main([str(COMMITTED / "aws" / "single-vpc")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 2 + 8 + 2  # header, 8 flows, 2 appliance egress flows
    assert "| Bastion -> WebServer2 |" in out


def test_cli_on_an_empty_folder_says_so_in_one_line(tmp_path, capsys):
    assert routepath.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path}: holds no CloudFormation template\n"

"""The set reader and the route-path verifier on the hand-written transit gateway set: two spoke
VPCs, an inspection VPC and an ingress VPC (ALB with IP targets in the spokes, a bastion). Every
expectation is worked out from AWS's TGW semantics: with appliance mode on the inspection
attachment each flow crosses one endpoint both ways whatever the flow hash picks; without it AZ
affinity sends each direction of a cross-AZ flow through its own sender's AZ endpoint."""

from __future__ import annotations

from tests.verify.tgw_fixture import TGW_SET, model, templates
from verify import routepath

WEB = ["App1WebServer1", "App1WebServer2", "App2WebServer1", "App2WebServer2"]


def test_the_reader_sees_the_gateway_its_attachments_tables_and_routes():
    net = model()
    (tgw,) = net.transit_gateways.values()
    assert (tgw.default_association, tgw.default_propagation) == (False, False)
    modes = {a.label: a.appliance_mode for a in net.tgw_attachments.values()}
    # The ingress VPC uses the older attachment type, without Options: appliance mode is off.
    assert modes == {
        "InspectionAttachment": True,
        "IngressAttachment": False,
        "App1Attachment": False,
        "App2Attachment": False,
    }
    tables = {net.label(a): [net.label(t) for t in ts] for a, ts in net.tgw_associations.items()}
    assert tables == {
        "InspectionAttachment": ["InspectionTable"],
        "IngressAttachment": ["IngressTable"],
        "App1Attachment": ["SpokesTable"],
        "App2Attachment": ["SpokesTable"],
    }
    by_label = {
        net.label(t): [net.label(a) for a in ats] for t, ats in net.tgw_propagations.items()
    }
    assert sorted(by_label["InspectionTable"]) == [
        "App1Attachment",
        "App2Attachment",
        "IngressAttachment",
    ]
    static = {
        net.label(t): [(r.destination, r.blackhole) for r in rs] for t, rs in net.tgw_routes.items()
    }
    assert static == {
        "SpokesTable": [("0.0.0.0/0", False)],
        "InspectionTable": [],
        "IngressTable": [("0.0.0.0/0", False)],
    }
    # ALB IP targets passed across stacks as GetAtt WebServerN.PrivateIp are the web servers.
    assert sorted(net.label(h.id) for h in net.hosts_of("web")) == WEB


def test_with_appliance_mode_every_flow_is_inspected_symmetrically_for_every_hash_choice():
    net = model()
    flows = routepath.standard_flows(net)
    names = list(dict.fromkeys(f.name for f in flows))
    # 4 egress, 2 ALB nodes x 4 web servers, bastion x 4, and 8 ordered east-west pairs
    assert len(names) == 4 + 8 + 4 + 8
    assert len(flows) == 2 * len(names)  # each flow once per AZ the flow hash may pick
    assert routepath.problems(net) == []
    runs = [f for f in flows if f.name == "App1WebServer1 -> App2WebServer2"]
    assert [(f.forward.endpoints, f.back.endpoints) for f in runs] == [
        (["Master/Endpoint1"], ["Master/Endpoint1"]),
        (["Master/Endpoint2"], ["Master/Endpoint2"]),
    ]
    # The reply leaves the TGW for the inspection VPC in the AZ the request took (AZ 2 here),
    # though it entered the TGW in the web server's own AZ 2 and the request in AZ 1.
    assert runs[1].forward.hops == [
        "from:App1ApplicationSubnet1",
        "App1TransitSubnet1",
        "tgw:SpokesTable",
        "TransitSubnet2",
        "Endpoint2",
        "appliance:ApplianceSubnet2",
        "TransitSubnet2",
        "tgw:InspectionTable",
        "App2TransitSubnet2",
        "deliver:App2ApplicationSubnet2",
    ]
    assert runs[1].back.hops[:4] == [
        "from:App2ApplicationSubnet2",
        "App2TransitSubnet2",
        "tgw:SpokesTable",
        "TransitSubnet2",
    ]


def test_egress_goes_out_and_back_through_the_hash_chosen_azs_endpoint_and_nat():
    flows = routepath.standard_flows(model())
    egress = [f for f in flows if f.name == "App2WebServer1 -> internet"]
    assert [f.forward.nat for f in egress] == ["Master/Nat1", "Master/Nat2"]
    assert egress[1].back.hops == [
        "internet",
        "Nat2",
        "Endpoint2",
        "appliance:ApplianceSubnet2",
        "TransitSubnet2",
        "tgw:InspectionTable",
        "App2TransitSubnet2",
        "deliver:App2ApplicationSubnet1",
    ]


# Without appliance mode, AZ affinity: the request enters the inspection VPC in the client's AZ,
# the reply in the server's. Every client/server pair in different AZs crosses two endpoints.
ASYMMETRIC = sorted(
    f"{client} -> {server}: endpoint out ['Endpoint{out}'], back ['Endpoint{back}']"
    for client, server, out, back in [
        ("ALB node in FrontSubnet1", "App1WebServer2", 1, 2),
        ("ALB node in FrontSubnet1", "App2WebServer2", 1, 2),
        ("ALB node in FrontSubnet2", "App1WebServer1", 2, 1),
        ("ALB node in FrontSubnet2", "App2WebServer1", 2, 1),
        ("Bastion", "App1WebServer2", 1, 2),  # the bastion is in AZ 1
        ("Bastion", "App2WebServer2", 1, 2),
        ("App1WebServer1", "App2WebServer2", 1, 2),
        ("App1WebServer2", "App2WebServer1", 2, 1),
        ("App2WebServer1", "App1WebServer2", 1, 2),
        ("App2WebServer2", "App1WebServer1", 2, 1),
    ]
)


def test_without_appliance_mode_cross_az_flows_cross_two_endpoints():
    net = model(ApplianceMode="disable")
    assert sorted(routepath.problems(net)) == ASYMMETRIC
    # AZ affinity leaves the TGW no choice: one run per flow.
    flows = routepath.standard_flows(net)
    assert len(flows) == 24
    same_az = next(f for f in flows if f.name == "App1WebServer2 -> App2WebServer2")
    assert same_az.forward.endpoints == same_az.back.endpoints == ["Master/Endpoint2"]


def test_cli_exits_0_with_appliance_mode_and_1_without(capsys):
    assert routepath.main([str(TGW_SET)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(
        "24 flows (48 runs over every TGW choice): 24 inspected symmetrically for every "
        "choice, 0 not"
    )
    assert "| App1WebServer1 -> App2WebServer2 [flow hash to InspectionAttachment: az1] |" in out
    assert routepath.main([str(TGW_SET), "--parameter", "ApplianceMode=disable"]) == 1
    captured = capsys.readouterr()
    assert captured.out.rstrip().endswith("14 inspected symmetrically for every choice, 10 not")
    lines = captured.err.splitlines()
    assert len(lines) == 10
    assert all(line.startswith("NOT INSPECTED SYMMETRICALLY: ") for line in lines)


def test_one_flow_hash_choice_asymmetric_makes_the_flow_fail():
    """A flow is symmetric only if it is for every choice: send the NAT subnet 2 replies through
    endpoint 1, and egress through AZ 2 (only) comes back through the other endpoint."""
    changed = templates()
    routes = changed["master.yaml"]["Resources"]
    routes["Nat2ToSpokes"]["Properties"]["VpcEndpointId"] = {"Ref": "Endpoint1"}
    found = routepath.problems(model(changed))
    # The az0 runs stay symmetric (endpoint 1 both ways); the az1 runs do not.
    assert sorted(found) == [
        f"{web} -> internet [flow hash to InspectionAttachment: az1]: endpoint out "
        "['Endpoint2'], back ['Endpoint1']"
        for web in WEB
    ]

"""separated-vpc: an inspection VPC serving N application VPCs. The model (VPC-scoped routes and
placements), one shared application VPC template, the route paths of every VPC, and
CloudFormation's limits at the largest variant."""

import copy
import ipaddress

import pytest

from core import cfn_yaml, naming
from generator import topology
from generator.model import ComponentKind, TargetKind, Tier, VpcRole
from generator.options import Options
from tests.set_helpers import COMMITTED, SEPARATED_SETS, load_set, resources
from verify import contract, reader, routepath

SEPARATED = "separated-vpc"


def _model(apps=3, azs=3):
    return topology.build(Options(architecture=SEPARATED, app_vpcs=apps, az_count=azs))


def test_vpcs_have_roles_and_disjoint_blocks():
    model = _model()
    assert [(v.name, v.role, v.cidr) for v in model.vpcs] == [
        ("InspectionVpc", VpcRole.INSPECTION, "10.0.0.0/16"),
        ("App1Vpc", VpcRole.APPLICATION, "10.1.0.0/16"),
        ("App2Vpc", VpcRole.APPLICATION, "10.2.0.0/16"),
        ("App3Vpc", VpcRole.APPLICATION, "10.3.0.0/16"),
    ]
    for subnet in model.subnets:
        block = ipaddress.IPv4Network(subnet.cidr)
        assert block.subnet_of(ipaddress.IPv4Network(model.vpc(subnet.vpc).cidr))
    tiers = {v.name: {s.tier for s in model.subnets_of(v.name)} for v in model.vpcs}
    assert tiers["InspectionVpc"] == {Tier.PUBLIC, Tier.APPLIANCE}
    assert tiers["App2Vpc"] == {Tier.PUBLIC, Tier.ENDPOINT, Tier.APPLICATION}


def test_derived_subnets_are_the_vpc_blocks_first_slices_in_allocation_order():
    # The order Fn::Cidr hands out blocks in the template: tier by tier, AZ by AZ.
    model = _model(apps=1, azs=2)
    got = [(naming.subnet_id(s), s.index, s.cidr) for s in model.subnets_of("App1Vpc")]
    assert got == [
        ("PublicSubnet1", 0, "10.1.0.0/24"),
        ("PublicSubnet2", 1, "10.1.1.0/24"),
        ("EndpointSubnet1", 2, "10.1.2.0/24"),
        ("EndpointSubnet2", 3, "10.1.3.0/24"),
        ("ApplicationSubnet1", 4, "10.1.4.0/24"),
        ("ApplicationSubnet2", 5, "10.1.5.0/24"),
    ]


def test_every_route_stays_in_its_own_vpc():
    model = _model()
    for table in model.route_tables:
        for route in table.routes:
            assert route.target.vpc == table.subnet.vpc
            if route.destination_subnet is not None:
                assert route.destination_subnet.vpc == table.subnet.vpc
    # The appliances' own egress leaves by the inspection VPC's NAT gateways.
    for az in range(3):
        table = next(
            t
            for t in model.route_tables
            if t.subnet == model.subnet(Tier.APPLIANCE, az, "InspectionVpc")
        )
        ((route,),) = [table.routes]
        assert (route.destination, route.target.kind, route.target.vpc, route.target.az) == (
            "0.0.0.0/0",
            TargetKind.NAT_GATEWAY,
            "InspectionVpc",
            az,
        )


def test_components_sit_where_the_architecture_puts_them():
    model = _model(apps=2, azs=2)
    where = {
        (c.kind, c.vpc, tuple(naming.subnet_id(s) for s in c.subnets)) for c in model.components
    }
    assert (ComponentKind.GWLB, "InspectionVpc", ("ApplianceSubnet1", "ApplianceSubnet2")) in where
    assert (ComponentKind.BASTION, "App1Vpc", ("PublicSubnet1",)) in where
    for vpc in ("App1Vpc", "App2Vpc"):
        assert (ComponentKind.GWLB_ENDPOINT, vpc, ("EndpointSubnet2",)) in where
        assert (ComponentKind.ALB, vpc, ("PublicSubnet1", "PublicSubnet2")) in where
        assert (ComponentKind.WEB_SERVER, vpc, ("ApplicationSubnet1",)) in where
    assert not model.placed(ComponentKind.GWLB_ENDPOINT, "InspectionVpc")
    assert len(model.placed(ComponentKind.NAT_GATEWAY)) == 2 * 3
    with pytest.raises(ValueError, match="name the VPC"):
        model.tier(Tier.PUBLIC)


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("App10AlbUrl", ("App10", "AlbUrl")),
        ("InspectionVpcCidr", ("Inspection", "VpcCidr")),
        ("InspectionNetworkStack", ("Inspection", "NetworkStack")),
        ("InspectionRoutesStack", ("", "InspectionRoutesStack")),  # a single-vpc concern
        ("WebServer2Id", ("", "WebServer2Id")),
    ],
)
def test_master_level_names_parse_back(name, parsed):
    assert naming.parse_prefixed(name) == parsed
    assert naming.prefixed(*parsed) == name


def test_every_application_vpc_is_two_stacks_of_two_shared_templates():
    templates = load_set(COMMITTED / "aws" / SEPARATED)
    stacks = resources(templates["CN-GWLB.yml"], "AWS::CloudFormation::Stack")
    by_file = {}
    for logical, stack in stacks.items():
        by_file.setdefault(stack["Properties"]["TemplateURL"], []).append(logical)
    assert by_file["Nested-AppVpc.yml"] == ["App1VpcStack"]
    assert by_file["Nested-AppWeb.yml"] == ["App1WebStack"]
    network = stacks["App1VpcStack"]["Properties"]["Parameters"]
    assert network["VpcCidr"] == {"Ref": "App1VpcCidr"}
    assert network["VpcNumber"] == "1"
    assert network["EndpointServiceName"] == {
        "Fn::GetAtt": ["GWLBStack", "Outputs.EndpointServiceName"]
    }
    # The network waits for nothing but the endpoint service; the appliances take its /56.
    assert "DependsOn" not in stacks["App1VpcStack"]
    appliances = stacks["AppliancesStack"]["Properties"]["Parameters"]
    assert appliances["App1VpcIpv6Block"] == {
        "Fn::GetAtt": ["App1VpcStack", "Outputs.VpcIpv6Block"]
    }
    # The servers' signals cross the appliances; their subnets come from the VPC's stack.
    web = stacks["App1WebStack"]
    assert web["DependsOn"] == ["AppliancesStack"]
    assert web["Properties"]["Parameters"]["ApplicationSubnet2Id"] == {
        "Fn::GetAtt": ["App1VpcStack", "Outputs.ApplicationSubnet2Id"]
    }
    assert web["Properties"]["Parameters"]["VpcNumber"] == "1"


def test_four_application_vpcs_share_the_template_with_their_own_inputs(tmp_path):
    from templates import main

    assert main(["--output", str(tmp_path), "--architecture", SEPARATED, "--app-vpcs", "4"]) == 0
    master = load_set(tmp_path / "aws" / SEPARATED)["CN-GWLB.yml"]
    stacks = resources(master, "AWS::CloudFormation::Stack")
    for k in range(1, 5):
        params = stacks[f"App{k}VpcStack"]["Properties"]["Parameters"]
        assert (params["VpcCidr"], params["VpcNumber"]) == ({"Ref": f"App{k}VpcCidr"}, str(k))
        params = stacks[f"App{k}WebStack"]["Properties"]["Parameters"]
        assert (params["VpcCidr"], params["VpcNumber"]) == ({"Ref": f"App{k}VpcCidr"}, str(k))
        assert params["VpcId"] == {"Fn::GetAtt": [f"App{k}VpcStack", "Outputs.VpcId"]}
        assert master["Parameters"][f"App{k}VpcCidr"]["Default"] == f"10.{k}.0.0/16"
        assert f"App{k}AlbUrl" in master["Outputs"]
    groups = [
        g["Label"]["default"]
        for g in master["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    ]
    assert groups == [
        "Availability Zones",
        "Access",
        "Network",  # IpAddressType: ipv4 or dualstack, for every VPC at once
        "Inspection VPC",
        *(f"Application VPC {k}" for k in range(1, 5)),
        "Instances",
        "Appliance fleet",
    ]
    # Only application VPC 1 has the bastion; the others say how to reach their servers.
    assert "Session Manager" in master["Outputs"]["App3WebServer1SessionCommand"]["Description"]
    assert "bastion is in application VPC 1" in master["Outputs"]["App3AlbUrl"]["Description"]
    assert "bastion is in" not in master["Outputs"]["App1AlbUrl"]["Description"]


@pytest.mark.parametrize(("partition", "architecture"), SEPARATED_SETS)
def test_application_vpc_templates_build_its_network_endpoints_and_servers(partition, architecture):
    templates = load_set(COMMITTED / partition / architecture)
    body = templates["Nested-AppVpc.yml"]
    endpoints = resources(body, "AWS::EC2::VPCEndpoint")
    assert sorted(endpoints) == ["GwlbEndpoint1", "GwlbEndpoint2"]
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["ServiceName"] == {"Ref": "EndpointServiceName"}
    # Subnet blocks are slices of the VPC's own block, so the console asks for one CIDR.
    subnet = body["Resources"]["ApplicationSubnet2"]["Properties"]
    assert subnet["CidrBlock"] == {"Fn::Select": [5, {"Fn::Cidr": [{"Ref": "VpcCidr"}, 6, 8]}]}
    assert not resources(body, "AWS::EC2::Instance")
    web = templates["Nested-AppWeb.yml"]
    assert sorted(resources(web, "AWS::EC2::Instance")) == ["WebServer1", "WebServer2"]
    assert not resources(web, "AWS::EC2::Subnet") and not resources(web, "AWS::EC2::Route")
    server = web["Resources"]["WebServer2"]["Properties"]
    assert server["SubnetId"] == {"Ref": "ApplicationSubnet2Id"}
    page = server["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "      web server 2 in application VPC ${VpcNumber}\n" in page
    # The servers of this VPC have a role of their own, allowed to signal this stack only.
    (policy,) = resources(web, "AWS::IAM::Policy").values()
    assert policy["Properties"]["Roles"] == [{"Ref": "WebRole"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Ref": "AWS::StackId"}
    assert server["IamInstanceProfile"] == {"Ref": "WebInstanceProfile"}


def test_the_inspection_vpc_has_no_endpoint_and_its_own_egress():
    templates = load_set(COMMITTED / "aws-cn" / SEPARATED)
    assert not resources(templates["Nested-GWLB.yml"], "AWS::EC2::VPCEndpoint")
    network = templates["Nested-InspectionNetwork.yml"]
    assert len(resources(network, "AWS::EC2::NatGateway")) == 2
    assert len(resources(network, "AWS::EC2::InternetGateway")) == 1
    roles = resources(templates["Nested-SSMRole.yml"], "AWS::IAM::Role")
    assert sorted(roles) == ["ApplianceRole", "BastionRole"]


@pytest.mark.parametrize(("partition", "architecture"), SEPARATED_SETS)
def test_committed_sets_inspect_every_flow_symmetrically(partition, architecture):
    net = reader.load(COMMITTED / partition / architecture)
    flows = routepath.standard_flows(net)
    assert len(flows) == 2 + 4 + 2  # egress, ALB node x web server, bastion x web server
    assert routepath.problems(net) == []
    for flow in routepath.appliance_egress(net):
        assert flow.forward.endpoints == [] and flow.back.endpoints == []
        assert flow.forward.hops[1].startswith("InspectionNatGateway")


def test_the_large_variant_keeps_the_contract_and_inspects_every_flow(large):
    assert contract.check_directory(large) == []
    net = reader.load(large)
    flows = routepath.standard_flows(net)
    # per VPC: 3 egress + 3 x 3 ALB node/web server pairs; the bastion reaches VPC 1's three
    assert len(flows) == 10 * (3 + 9) + 3
    assert routepath.problems(net) == []
    vpcs = {f.name.split("WebServer")[0].split()[-1] for f in flows if "-> internet" in f.name}
    assert vpcs == {f"App{k}" for k in range(1, 11)}
    bastion = [f for f in flows if f.name.startswith("Bastion")]
    assert {f.name.split("-> ")[1][:4] for f in bastion} == {"App1"}
    # Cross-zone ALB flows keep the ALB node's endpoint both ways in every VPC.
    cross = next(f for f in flows if f.name == "ALB node in App7PublicSubnet3 -> App7WebServer1")
    assert [e.split("/")[1] for e in cross.forward.endpoints + cross.back.endpoints] == [
        "GwlbEndpoint3",
        "GwlbEndpoint3",
    ]


def test_the_large_variant_fits_cloudformations_quotas_with_room(large):
    templates = cfn_yaml.load_set(large)
    master = templates["CN-GWLB.yml"]
    # zones, access, IP address type, inspection, 10 VPCs, instances, appliance fleet
    assert len(master["Parameters"]) == 1 + 2 + 1 + 1 + 10 + 5 + 6
    assert len(master["Outputs"]) <= 150
    # SSM role, inspection network, GWLB, appliances, bastion; two stacks per application VPC
    assert len(master["Resources"]) == 5 + 2 * 10
    # Nested-AppVpc over three AZs holds the most: its network, endpoints and routes, with those
    # that exist only with dualstack (its /56, the IPv6 routes, the gateway's edge table).
    # CloudFormation allows 500.
    assert max(len(t["Resources"]) for t in templates.values()) <= 120
    # Room for the S3 URLs publish writes in: 25 stacks x 1,024 characters at the most.
    assert (large / "CN-GWLB.yml").stat().st_size + 25 * 1024 <= 100_000


def test_routes_of_one_application_vpc_removed_are_caught():
    """The replaced quickstart's routing in application VPC 1: no exact-subnet routes between
    public and application subnets, so ALB and bastion traffic bypasses the GWLB."""
    templates = load_set(COMMITTED / "aws" / SEPARATED)
    changed = copy.deepcopy(templates)
    body = changed["Nested-AppVpc.yml"]["Resources"]
    for name in [n for n, r in body.items() if r["Type"] == "AWS::EC2::Route"]:
        if body[name]["Properties"].get("DestinationCidrBlock", "0.0.0.0/0") != "0.0.0.0/0":
            del body[name]
    found = routepath.problems(reader.from_templates(changed))
    assert len(found) == 8
    assert "Bastion -> App1WebServer2: endpoint out ['none'], back ['none']" in found


def test_an_endpoint_in_an_az_without_a_gwlb_node_is_caught():
    templates = load_set(COMMITTED / "aws" / SEPARATED)
    gwlb = templates["Nested-GWLB.yml"]["Resources"]["GatewayLoadBalancer"]["Properties"]
    gwlb["Subnets"] = gwlb["Subnets"][:1]  # the GWLB in AZ 1 only; endpoint 2 stays in AZ 2
    assert routepath.problems(reader.from_templates(templates)) == [
        "App1GwlbEndpoint2 is in an AZ where the GWLB has no node"
    ]


def test_an_endpoint_on_another_service_is_caught():
    templates = load_set(COMMITTED / "aws-cn" / SEPARATED)
    endpoint = templates["Nested-AppVpc.yml"]["Resources"]["GwlbEndpoint1"]["Properties"]
    endpoint["ServiceName"] = {"Fn::Sub": "cn.com.amazonaws.${AWS::Region}.s3"}
    assert routepath.problems(reader.from_templates(templates)) == [
        "App1GwlbEndpoint1 names no endpoint service of this set"
    ]


def test_application_servers_wait_for_their_signal_policy_only_in_their_own_template():
    """Their inspected path and the gateway are built by the VPC's stack, which the master
    completes first; inside Nested-AppWeb the servers need only their signal policy."""
    body = load_set(COMMITTED / "aws" / SEPARATED)["Nested-AppWeb.yml"]["Resources"]
    assert body["WebServer2"]["DependsOn"] == ["WebSignalPolicy"]
    assert "DependsOn" not in body["ApplicationLoadBalancer"]

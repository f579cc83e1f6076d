"""tgw-centralized as generated: the model (VPC roles, tiers, routes per tier, the transit
gateway's tables and attachments), the templates that render it, and CloudFormation's quotas at
the largest variant (20 spokes over 3 AZs)."""

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from core import cfn_yaml, naming
from generator import topology
from generator.cli import main
from generator.model import ComponentKind, TargetKind, Tier, VpcRole
from generator.options import Options
from tests.set_helpers import COMMITTED, REPO, load_set, resources
from verify import contract, reader, routepath

TGW = "tgw-centralized"
TGW_SETS = [("aws", TGW), ("aws-cn", TGW)]


def _model(apps=2, azs=2):
    return topology.build(Options(architecture=TGW, app_vpcs=apps, az_count=azs))


def test_vpcs_are_inspection_spokes_and_ingress_on_disjoint_blocks():
    model = _model(apps=3)
    roles = [(v.name, v.role) for v in model.vpcs]
    assert roles == [
        ("InspectionVpc", VpcRole.INSPECTION),
        ("App1Vpc", VpcRole.APPLICATION),
        ("App2Vpc", VpcRole.APPLICATION),
        ("App3Vpc", VpcRole.APPLICATION),
        ("IngressVpc", VpcRole.INGRESS),
    ]
    blocks = [ipaddress.ip_network(v.cidr) for v in model.vpcs]
    assert all(not a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_each_vpc_has_its_tiers_and_a_transit_subnet_per_az():
    model = _model(azs=3)
    tiers = {v.name: sorted({s.tier.value for s in model.subnets_of(v.name)}) for v in model.vpcs}
    assert tiers["InspectionVpc"] == ["Appliance", "Endpoint", "Public", "Transit"]
    assert tiers["App1Vpc"] == ["Application", "Transit"]
    assert tiers["IngressVpc"] == ["Public", "Transit"]
    for vpc in model.vpcs:
        assert [s.az for s in model.tier(Tier.TRANSIT, vpc.name)] == [0, 1, 2]


def _routes(model, vpc, tier, az=0):
    table = next(
        t
        for t in model.route_tables
        if (t.subnet.vpc, t.subnet.tier, t.subnet.az) == (vpc, tier, az)
    )
    return {(r.destination, r.target.kind, r.target.az) for r in table.routes}


def test_routes_per_tier_turn_every_path_in_the_inspection_vpc():
    model = _model()
    gwlbe, tgw, nat, igw = (
        TargetKind.GWLB_ENDPOINT,
        TargetKind.TRANSIT_GATEWAY,
        TargetKind.NAT_GATEWAY,
        TargetKind.INTERNET_GATEWAY,
    )
    spokes = {"10.1.0.0/16", "10.2.0.0/16"}
    # What arrives from the transit gateway meets the endpoint of its own AZ.
    assert _routes(model, "InspectionVpc", Tier.TRANSIT, 1) == {("0.0.0.0/0", gwlbe, 1)}
    # After the endpoint: other VPCs through the gateway, the internet through this AZ's NAT.
    assert _routes(model, "InspectionVpc", Tier.ENDPOINT, 1) == {
        ("0.0.0.0/0", nat, 1),
        *((b, tgw, None) for b in spokes | {"10.200.0.0/16"}),
    }
    # Replies from the internet to a spoke go back through the endpoint of the NAT's AZ.
    assert _routes(model, "InspectionVpc", Tier.PUBLIC, 1) == {
        ("0.0.0.0/0", igw, None),
        *((b, gwlbe, 1) for b in spokes),
    }
    assert _routes(model, "InspectionVpc", Tier.APPLIANCE, 0) == {("0.0.0.0/0", nat, 0)}
    assert _routes(model, "App2Vpc", Tier.APPLICATION, 1) == {("0.0.0.0/0", tgw, None)}
    assert _routes(model, "App2Vpc", Tier.TRANSIT, 1) == set()
    assert _routes(model, "IngressVpc", Tier.PUBLIC, 0) == {
        ("0.0.0.0/0", igw, None),
        *((b, tgw, None) for b in spokes),
    }


def test_transit_tables_send_spokes_and_ingress_to_inspection_only():
    transit = _model(apps=3).transit
    tables = {t.name: t.static for t in transit.tables}
    assert tables == {
        "Spokes": (("0.0.0.0/0", "InspectionVpc"),),
        "Inspection": (),
        "Ingress": (("0.0.0.0/0", "InspectionVpc"),),
    }
    by_vpc = {a.vpc: (a.table, a.propagates_to, a.appliance_mode) for a in transit.attachments}
    assert by_vpc == {
        "InspectionVpc": ("Inspection", (), True),
        "App1Vpc": ("Spokes", ("Inspection",), False),
        "App2Vpc": ("Spokes", ("Inspection",), False),
        "App3Vpc": ("Spokes", ("Inspection",), False),
        "IngressVpc": ("Ingress", ("Inspection",), False),
    }


def test_spokes_have_no_internet_gateway_nat_or_alb_of_their_own():
    model = _model()
    for kind in (ComponentKind.INTERNET_GATEWAY, ComponentKind.NAT_GATEWAY, ComponentKind.ALB):
        assert {c.vpc for c in model.placed(kind)} <= {"InspectionVpc", "IngressVpc"}
    assert model.one(ComponentKind.ALB).vpc == "IngressVpc"
    assert model.one(ComponentKind.BASTION).vpc == "IngressVpc"
    assert {c.vpc for c in model.placed(ComponentKind.WEB_SERVER)} == {"App1Vpc", "App2Vpc"}


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--app-vpcs", "21"], "out of range 1-20"),
        (["--ingress-vpc-cidr", "10.2.0.0/16"], "overlap"),
        (["--subnet-cidr", "PublicSubnet1=10.0.9.0/24"], "derives each VPC's subnets"),
    ],
)
def test_bad_options_are_one_line(tmp_path, capsys, argv, words):
    assert main(["--output", str(tmp_path), "--architecture", TGW, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and words in err
    assert not any(tmp_path.iterdir())


def test_ingress_vpc_cidr_belongs_to_tgw_only(tmp_path, capsys):
    argv = ["--output", str(tmp_path), "--architecture", "separated-vpc"]
    assert main([*argv, "--ingress-vpc-cidr", "10.9.0.0/16"]) == 2
    assert "needs --architecture tgw-centralized" in capsys.readouterr().err


@pytest.mark.parametrize(("partition", "architecture"), TGW_SETS)
def test_gateway_tables_attachments_and_appliance_mode_as_rendered(partition, architecture):
    templates = load_set(COMMITTED / partition / architecture)
    (gateway,) = resources(templates["Nested-TransitGateway.yml"], "AWS::EC2::TransitGateway")
    props = templates["Nested-TransitGateway.yml"]["Resources"][gateway]["Properties"]
    # Without these, AWS would associate and propagate every attachment in a default table,
    # and spokes would reach each other around the inspection VPC.
    assert props["DefaultRouteTableAssociation"] == "disable"
    assert props["DefaultRouteTablePropagation"] == "disable"
    modes = {}
    for name in ("Nested-InspectionNetwork.yml", "Nested-SpokeVpc.yml", "Nested-IngressVpc.yml"):
        body = templates[name]
        (attachment,) = resources(body, "AWS::EC2::TransitGatewayVpcAttachment").values()
        modes[name] = attachment["Properties"]["Options"]["ApplianceModeSupport"]
        assert len(resources(body, "AWS::EC2::TransitGatewayRouteTableAssociation")) == 1
        # Every route to the gateway waits for the VPC's attachment, or AWS refuses it.
        for logical, route in resources(body, "AWS::EC2::Route").items():
            if "TransitGatewayId" in route["Properties"]:
                assert route["DependsOn"] == naming.TRANSIT_ATTACHMENT_ID, logical
    assert modes == {
        "Nested-InspectionNetwork.yml": "enable",
        "Nested-SpokeVpc.yml": "disable",
        "Nested-IngressVpc.yml": "disable",
    }


def test_every_spoke_is_one_stack_of_one_template_and_the_alb_targets_their_servers():
    templates = load_set(COMMITTED / "aws" / TGW)
    stacks = resources(templates["CN-GWLB.yml"], "AWS::CloudFormation::Stack")
    spokes = {
        k for k, s in stacks.items() if s["Properties"]["TemplateURL"] == "Nested-SpokeVpc.yml"
    }
    assert spokes == {"App1VpcStack", "App2VpcStack"}
    ingress = resources(
        templates["Nested-IngressVpc.yml"], "AWS::ElasticLoadBalancingV2::TargetGroup"
    )
    (group,) = ingress.values()
    assert group["Properties"]["TargetType"] == "ip"
    targets = group["Properties"]["Targets"]
    assert {t["Id"]["Ref"] for t in targets} == {
        f"App{k}WebServer{z}PrivateIp" for k in (1, 2) for z in (1, 2)
    }
    assert {t["AvailabilityZone"] for t in targets} == {"all"}
    params = stacks["IngressVpcStack"]["Properties"]["Parameters"]
    assert params["App2WebServer1PrivateIp"] == {
        "Fn::GetAtt": ["App2VpcStack", "Outputs.WebServer1PrivateIp"]
    }


@pytest.fixture(scope="module")
def largest(tmp_path_factory):
    out = tmp_path_factory.mktemp("tgw-large")
    argv = ["--architecture", TGW, "--app-vpcs", "20", "--az-count", "3", "--partition", "aws-cn"]
    assert main(["--output", str(out), *argv]) == 0
    return out / "aws-cn" / TGW


def test_twenty_spokes_over_three_zones_fit_cloudformations_quotas(largest):
    templates = cfn_yaml.load_set(largest)
    master = templates["CN-GWLB.yml"]
    # zones, access, 22 VPC blocks, instances, appliance fleet
    assert len(master["Parameters"]) == 1 + 2 + 22 + 5 + 6
    # per spoke server its id and its Session Manager command; bastion, appliances, ALB, service
    assert len(master["Outputs"]) == 20 * 3 * 2 + 4 + 2 + 1 + 1
    assert len(master["Resources"]) == 8 + 20
    for name, body in templates.items():
        assert len(body.get("Resources", {})) <= 500, name
        assert len(body.get("Parameters", {})) <= 200, name
        assert len(body.get("Outputs", {})) <= 200, name
    # Room for the S3 URLs publish writes in: 28 stacks x 1,024 characters at the most.
    assert (largest / "CN-GWLB.yml").stat().st_size + 28 * 1024 <= 1_000_000
    ingress = templates["Nested-IngressVpc.yml"]
    (group,) = resources(ingress, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert len(group["Properties"]["Targets"]) == 60
    # Security groups stay within 60 rules a direction.
    for name, body in templates.items():
        for logical, sg in resources(body, "AWS::EC2::SecurityGroup").items():
            for direction in ("SecurityGroupIngress", "SecurityGroupEgress"):
                assert len(sg["Properties"].get(direction, [])) <= 60, (name, logical)


@pytest.mark.slow
def test_cfn_lint_finds_nothing_in_the_largest_variant(largest):
    # .cfnlintrc's three regions: us-east-1, cn-north-1, cn-northwest-1.
    files = sorted(map(str, largest.glob("*.yml")))
    lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(lint), "--", *files], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_twenty_spokes_keep_the_contract_and_inspect_every_flow_symmetrically(largest):
    assert contract.check_directory(largest) == []
    net = reader.load(largest)
    assert routepath.problems(net) == []
    flows = routepath.standard_flows(net)
    east_west = [f for f in flows if "WebServer" in f.name.split(" -> ")[0]]
    east_west = [f for f in east_west if "WebServer" in f.name.split(" -> ")[1]]
    # every ordered pair of servers in different spokes: 60 servers, 57 in other spokes each,
    # each pair once per AZ the flow hash can choose
    pairs = {f.name for f in east_west}
    assert len(pairs) == 60 * 57
    assert all(f.inspected_symmetrically for f in flows)

"""The set reader: the evaluator's intrinsics, and the model of a committed set."""

from pathlib import Path

import pytest

from core import cfn_yaml
from verify import reader
from verify.cidr import cidr_blocks
from verify.evaluate import Stack

COMMITTED = Path(__file__).resolve().parents[2] / "output"
SETS = sorted(p.parent for p in COMMITTED.glob("*/single-vpc/CN-GWLB.yml"))
SEPARATED = sorted(p.parent for p in COMMITTED.glob("*/separated-vpc/CN-GWLB.yml"))


@pytest.mark.parametrize(
    ("block", "count", "bits", "expected"),
    [
        ("10.0.0.0/16", 3, 8, ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]),
        ("10.1.0.0/24", 2, 6, ["10.1.0.0/26", "10.1.0.64/26"]),
        ("192.168.0.0/30", 1, 2, ["192.168.0.0/30"]),
    ],
)
def test_fn_cidr_blocks(block, count, bits, expected):
    assert cidr_blocks(block, count, bits) == expected


def test_fn_cidr_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="holds only 4"):
        cidr_blocks("10.0.0.0/24", 5, 6)


def test_select_of_cidr_resolves_through_parameters():
    body = {"Resources": {}}
    stack = Stack("S", "s.yml", body, {"Block": "10.9.0.0/16"})
    value = {"Fn::Select": [2, {"Fn::Cidr": [{"Ref": "Block"}, 4, 8]}]}
    assert stack.eval(value) == "10.9.2.0/24"
    joined = {"Fn::Join": ["-", ["a", {"Ref": "Block"}]]}
    assert stack.eval(joined) == "a-10.9.0.0/16"


@pytest.mark.parametrize("directory", SETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_model_of_a_committed_set_matches_its_templates(directory):
    spec = reader.load(directory)
    gwlb_body = cfn_yaml.load(directory / "Nested-GWLB.yml")["Resources"]
    tg_props = gwlb_body["ApplianceTargetGroup"]["Properties"]
    (gwlb,) = spec.gwlbs.values()
    tg = spec.target_groups[gwlb.target_group]
    assert tg.protocol == "GENEVE"
    assert tg.health.path == tg_props["HealthCheckPath"]
    assert tg.health.interval == tg_props["HealthCheckIntervalSeconds"]
    assert tg.health.unhealthy == tg_props["UnhealthyThresholdCount"]
    assert tg.health.healthy == tg_props["HealthyThresholdCount"]
    assert gwlb.cross_zone is True
    assert len(spec.endpoints) == 2
    assert all(e.gwlb == gwlb.id for e in spec.endpoints.values())
    roles = sorted(h.role for h in spec.hosts.values())
    assert roles == ["appliance", "appliance", "other", "web", "web"]
    # Appliances spread over the appliance subnets, one per AZ.
    azs = {spec.subnets[h.subnet].az for h in spec.hosts_of("appliance")}
    assert len(azs) == 2
    # Every route of the templates is in the model, in the table it names (the IPv6 routes
    # are there only with dualstack, their condition).
    body = cfn_yaml.load(directory / "Nested-Network.yml")["Resources"]
    written = [
        k for k, r in body.items() if r["Type"] == "AWS::EC2::Route" and "Condition" not in r
    ]
    routes = [r for rs in spec.routes.values() for r in rs]
    assert sorted(r.id for r in routes if r.id.startswith("NetworkStack/")) == sorted(
        f"NetworkStack/{k}" for k in written
    )


@pytest.mark.parametrize("directory", SEPARATED, ids=lambda p: p.parent.name)
def test_model_of_a_separated_set_spans_vpcs(directory):
    """Endpoints in the application VPC, their GWLB and appliances in the inspection VPC."""
    spec = reader.load(directory)
    assert len(spec.vpcs) >= 2
    (gwlb,) = spec.gwlbs.values()
    gwlb_vpcs = {spec.subnets[s].vpc for s in gwlb.subnets}
    endpoint_vpcs = {spec.subnets[e.subnet].vpc for e in spec.endpoints.values()}
    assert len(gwlb_vpcs) == 1 and not gwlb_vpcs & endpoint_vpcs
    assert {spec.subnets[h.subnet].vpc for h in spec.hosts_of("appliance")} == gwlb_vpcs
    assert {spec.subnets[h.subnet].vpc for h in spec.hosts_of("web")} <= endpoint_vpcs
    names = [h.name for h in spec.hosts.values()]
    assert len(names) == len(set(names))


def test_gateway_route_table_association_is_read(tmp_path):
    """A set with an edge association (added to a committed set) names the gateway's table."""
    import shutil

    import yaml

    directory = tmp_path / "set"
    shutil.copytree(SETS[0], directory)
    path = directory / "Nested-Network.yml"
    body = cfn_yaml.load(path)
    body["Resources"]["EdgeTable"] = {
        "Type": "AWS::EC2::RouteTable",
        "Properties": {"VpcId": {"Ref": "Vpc"}},
    }
    body["Resources"]["EdgeAssociation"] = {
        "Type": "AWS::EC2::GatewayRouteTableAssociation",
        "Properties": {
            "GatewayId": {"Ref": "InternetGateway"},
            "RouteTableId": {"Ref": "EdgeTable"},
        },
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False, width=1000))
    (igw,) = reader.load(directory).igws.values()
    assert igw.table == "NetworkStack/EdgeTable"


@pytest.mark.parametrize("directory", SETS + SEPARATED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_zones_chosen_at_launch_place_every_subnet(directory):
    """AvailabilityZones empty: the region's order (Fn::GetAZs); given: exactly those zones,
    AZ 1 first, in every VPC of the set."""
    default = reader.load(directory)
    assert {s.az for s in default.subnets.values()} == {"az0", "az1"}
    chosen = reader.load(directory, parameters={"AvailabilityZones": "use1-az6,use1-az4"})
    by_name = {s.id: s.az for s in chosen.subnets.values()}
    assert {
        s.id: {"az0": "use1-az6", "az1": "use1-az4"}[s.az] for s in default.subnets.values()
    } == (by_name)

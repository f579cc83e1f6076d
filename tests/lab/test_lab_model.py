"""The lab's pure parts: evaluation extras, the model of a set, addresses and Linux routes."""

from pathlib import Path

import pytest

from core import cfn_yaml
from generator import deployed
from lab import addresses as A
from lab.model import Endpoint, Igw, LabSpec, Nat, Route, Subnet, load_spec

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
    assert deployed.cidr_blocks(block, count, bits) == expected


def test_fn_cidr_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="holds only 4"):
        deployed.cidr_blocks("10.0.0.0/24", 5, 6)


def test_select_of_cidr_resolves_through_parameters():
    body = {"Resources": {}}
    stack = deployed.Stack("S", body, {"Block": "10.9.0.0/16"})
    value = {"Fn::Select": [2, {"Fn::Cidr": [{"Ref": "Block"}, 4, 8]}]}
    assert stack.eval(value) == "10.9.2.0/24"
    joined = {"Fn::Join": ["-", ["a", {"Ref": "Block"}]]}
    assert stack.eval(joined) == "a-10.9.0.0/16"


@pytest.mark.parametrize("directory", SETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_model_of_a_committed_set_matches_its_templates(directory):
    spec = load_spec(directory)
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
    # The route tables agree with the shared evaluator's view.
    net = deployed.load_network(directory)
    ours = {
        t: sorted((r.destination, r.kind, r.target) for r in rs) for t, rs in spec.routes.items()
    }
    theirs = {t: sorted(rs) for t, rs in net.routes.items()}
    assert {t: r for t, r in ours.items() if r} == theirs


@pytest.mark.parametrize("directory", SEPARATED, ids=lambda p: p.parent.name)
def test_model_of_a_separated_set_spans_vpcs(directory):
    """Endpoints in the application VPC, their GWLB and appliances in the inspection VPC."""
    spec = load_spec(directory)
    assert len(spec.vpcs) >= 2
    (gwlb,) = spec.gwlbs.values()
    gwlb_vpcs = {spec.subnets[s].vpc for s in gwlb.subnets}
    endpoint_vpcs = {spec.subnets[e.subnet].vpc for e in spec.endpoints.values()}
    assert len(gwlb_vpcs) == 1 and not gwlb_vpcs & endpoint_vpcs
    assert {spec.subnets[h.subnet].vpc for h in spec.hosts_of("appliance")} == gwlb_vpcs
    assert {spec.subnets[h.subnet].vpc for h in spec.hosts_of("web")} <= endpoint_vpcs
    names = [h.name for h in spec.hosts.values()]
    assert len(names) == len(set(names))


def _tiny(two_vpcs: bool = False) -> LabSpec:
    spec = LabSpec()
    spec.vpcs = {"N/Vpc": "10.0.0.0/16"}
    spec.subnets = {
        "N/A": Subnet("N/A", "A", "10.0.1.0/24", "az0", "N/Vpc"),
        "N/B": Subnet("N/B", "B", "10.0.2.0/24", "az0", "N/Vpc"),
        "N/E": Subnet("N/E", "E", "10.0.3.0/24", "az0", "N/Vpc"),
    }
    spec.endpoints = {"G/E1": Endpoint("G/E1", "E1", "N/E", "G/Gwlb")}
    spec.nats = {"N/Nat": Nat("N/Nat", "Nat", "N/B")}
    spec.routes = {
        "N/TA": [Route("10.0.2.0/24", "gwlbe", "G/E1"), Route("0.0.0.0/0", "nat", "N/Nat")],
        "N/TE": [Route("10.0.0.0/8", "nat", "N/Nat"), Route("10.0.1.128/25", "gwlbe", "G/E1")],
    }
    spec.table_of_subnet = {"N/A": "N/TA", "N/E": "N/TE"}
    if two_vpcs:
        spec.vpcs["M/Vpc"] = "10.1.0.0/16"
        spec.subnets["M/C"] = Subnet("M/C", "C", "10.1.0.0/24", "az0", "M/Vpc")
        spec.nats["M/Nat"] = Nat("M/Nat", "Nat", "M/C")
    return spec


def test_exact_subnet_route_replaces_the_local_route_for_that_subnet():
    spec = _tiny()
    plan = A.plan(spec)
    routes = A.linux_routes(spec, plan, "N/TA", "N/Vpc")
    dests = {r.destination: r for r in routes}
    assert dests["10.0.2.0/24"].device == plan.tun["G/E1"]  # not B's bridge
    assert dests["10.0.1.0/24"].device == plan.bridge["N/A"]
    assert dests["10.0.3.0/24"].device == plan.bridge["N/E"]
    assert dests["10.0.0.0/16"].device == "blackhole"  # the VPC's unused space stays local
    nat = dests["0.0.0.0/0"]
    assert (nat.device, nat.via) == (plan.bridge["N/B"], plan.nodes["N/Nat"].ip)


def test_broader_routes_never_beat_local_and_narrower_ones_split_a_subnet():
    spec = _tiny()
    plan = A.plan(spec)
    dests = {r.destination: r for r in A.linux_routes(spec, plan, "N/TE", "N/Vpc")}
    # 10.0.0.0/8 is less specific than the VPC: every subnet keeps its local route.
    assert {dests[s.cidr].device for s in spec.subnets.values()} == {
        plan.bridge[s] for s in spec.subnets
    }
    assert dests["10.0.1.128/25"].device == plan.tun["G/E1"]


def test_two_vpcs_get_their_own_routers_public_blocks_and_local_routes():
    spec = _tiny(two_vpcs=True)
    plan = A.plan(spec)
    assert sorted(plan.vpc_index.values()) == [0, 1]
    publics = {n.id: n.public_ip for n in plan.nodes.values()}
    assert publics["N/Nat"].startswith("198.18.") and publics["M/Nat"].startswith("198.18.")
    assert publics["N/Nat"].rsplit(".", 1)[0] != publics["M/Nat"].rsplit(".", 1)[0]
    routes = A.linux_routes(spec, plan, None, "M/Vpc")
    assert [r.destination for r in routes] == ["10.1.0.0/24", "10.1.0.0/16"]


def test_host_addresses_stay_inside_their_subnets():
    spec = load_spec(SETS[0])
    plan = A.plan(spec)
    seen = set()
    for node in plan.nodes.values():
        cidr = spec.subnets[node.subnet].cidr
        assert A.host_ip(cidr, 0) < node.ip  # never the network address
        assert node.ip not in seen
        seen.add(node.ip)
    with pytest.raises(ValueError, match="too small"):
        A.host_ip("10.0.0.0/28", 15)


def test_each_way_in_looks_up_its_own_table():
    spec = _tiny()
    spec.igws = {"N/Igw": Igw("N/Igw", "Igw", "N/Vpc", None)}
    plan = A.plan(spec)
    rules = A.policy_routing(spec, plan, "N/Vpc")
    by_dev = dict(rules.sources)
    assert by_dev[plan.bridge["N/A"]] == plan.table_number["N/TA"]
    # What endpoint E1 hands back follows the endpoint subnet's table.
    assert by_dev[plan.tun["G/E1"]] == plan.table_number["N/TE"]
    # No association: the subnet B and the gateway use the main table, the local route only.
    main = by_dev[plan.bridge["N/B"]]
    assert by_dev["igw"] == main
    assert {r.device for r in rules.tables[main]} == {*plan.bridge.values(), "blackhole"}


def test_a_gateway_route_table_steers_what_enters_from_the_internet():
    spec = _tiny()
    spec.routes["N/Edge"] = [Route("10.0.1.0/24", "gwlbe", "G/E1")]
    spec.igws = {"N/Igw": Igw("N/Igw", "Igw", "N/Vpc", "N/Edge")}
    plan = A.plan(spec)
    rules = A.policy_routing(spec, plan, "N/Vpc")
    edge = dict(rules.sources)["igw"]
    assert edge == plan.table_number["N/Edge"]
    routes = {r.destination: r.device for r in rules.tables[edge]}
    assert routes["10.0.1.0/24"] == plan.tun["G/E1"]
    assert routes["10.0.2.0/24"] == plan.bridge["N/B"]


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
    (igw,) = load_spec(directory).igws.values()
    assert igw.table == "NetworkStack/EdgeTable"

"""The lab's address plan and Linux routes, on small hand-made set models."""

from pathlib import Path

import pytest

from lab import addresses
from verify import reader
from verify.model import Endpoint, Igw, Nat, Route, SetModel, Subnet, Vpc

COMMITTED = Path(__file__).resolve().parents[2] / "output"
SETS = sorted(p.parent for p in COMMITTED.glob("*/single-vpc/CN-GWLB.yml"))


def _tiny(two_vpcs: bool = False) -> SetModel:
    spec = SetModel()
    spec.vpcs = {"N/Vpc": Vpc("N/Vpc", "Vpc", "10.0.0.0/16")}
    spec.subnets = {
        "N/A": Subnet("N/A", "A", "A", "10.0.1.0/24", "az0", "N/Vpc"),
        "N/B": Subnet("N/B", "B", "B", "10.0.2.0/24", "az0", "N/Vpc"),
        "N/E": Subnet("N/E", "E", "E", "10.0.3.0/24", "az0", "N/Vpc"),
    }
    spec.endpoints = {"G/E1": Endpoint("G/E1", "E1", "E1", "N/E", "service", "G/Gwlb")}
    spec.nats = {"N/Nat": Nat("N/Nat", "Nat", "N/Nat", "N/B")}
    spec.routes = {
        "N/TA": [
            Route("r", "10.0.2.0/24", "gwlbe", "G/E1"),
            Route("r", "0.0.0.0/0", "nat", "N/Nat"),
        ],
        "N/TE": [
            Route("r", "10.0.0.0/8", "nat", "N/Nat"),
            Route("r", "10.0.1.128/25", "gwlbe", "G/E1"),
        ],
    }
    spec.table_of_subnet = {"N/A": "N/TA", "N/E": "N/TE"}
    if two_vpcs:
        spec.vpcs["M/Vpc"] = Vpc("M/Vpc", "MVpc", "10.1.0.0/16")
        spec.subnets["M/C"] = Subnet("M/C", "C", "C", "10.1.0.0/24", "az0", "M/Vpc")
        spec.nats["M/Nat"] = Nat("M/Nat", "Nat", "M/Nat", "M/C")
    return spec


def test_exact_subnet_route_replaces_the_local_route_for_that_subnet():
    spec = _tiny()
    plan = addresses.plan(spec)
    routes = addresses.linux_routes(spec, plan, "N/TA", "N/Vpc")
    dests = {r.destination: r for r in routes}
    assert dests["10.0.2.0/24"].device == plan.tun["G/E1"]  # not B's bridge
    assert dests["10.0.1.0/24"].device == plan.bridge["N/A"]
    assert dests["10.0.3.0/24"].device == plan.bridge["N/E"]
    assert dests["10.0.0.0/16"].device == "blackhole"  # the VPC's unused space stays local
    nat = dests["0.0.0.0/0"]
    assert (nat.device, nat.via) == (plan.bridge["N/B"], plan.nodes["N/Nat"].ip)


def test_broader_routes_never_beat_local_and_narrower_ones_split_a_subnet():
    spec = _tiny()
    plan = addresses.plan(spec)
    dests = {r.destination: r for r in addresses.linux_routes(spec, plan, "N/TE", "N/Vpc")}
    # 10.0.0.0/8 is less specific than the VPC: every subnet keeps its local route.
    assert {dests[s.cidr].device for s in spec.subnets.values()} == {
        plan.bridge[s] for s in spec.subnets
    }
    assert dests["10.0.1.128/25"].device == plan.tun["G/E1"]


def test_two_vpcs_get_their_own_routers_public_blocks_and_local_routes():
    spec = _tiny(two_vpcs=True)
    plan = addresses.plan(spec)
    assert sorted(plan.vpc_index.values()) == [0, 1]
    publics = {n.id: n.public_ip for n in plan.nodes.values()}
    assert publics["N/Nat"].startswith("198.18.") and publics["M/Nat"].startswith("198.18.")
    assert publics["N/Nat"].rsplit(".", 1)[0] != publics["M/Nat"].rsplit(".", 1)[0]
    routes = addresses.linux_routes(spec, plan, None, "M/Vpc")
    assert [r.destination for r in routes] == ["10.1.0.0/24", "10.1.0.0/16"]


def test_host_addresses_stay_inside_their_subnets():
    spec = reader.load(SETS[0])
    plan = addresses.plan(spec)
    seen = set()
    for node in plan.nodes.values():
        cidr = spec.subnets[node.subnet].cidr
        assert addresses.host_ip(cidr, 0) < node.ip  # never the network address
        assert node.ip not in seen
        seen.add(node.ip)
    with pytest.raises(ValueError, match="too small"):
        addresses.host_ip("10.0.0.0/28", 15)


def test_each_way_in_looks_up_its_own_table():
    spec = _tiny()
    spec.igws = {"N/Igw": Igw("N/Igw", "Igw", "Igw", "N/Vpc", None)}
    plan = addresses.plan(spec)
    rules = addresses.policy_routing(spec, plan, "N/Vpc")
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
    spec.routes["N/Edge"] = [Route("r", "10.0.1.0/24", "gwlbe", "G/E1")]
    spec.igws = {"N/Igw": Igw("N/Igw", "Igw", "Igw", "N/Vpc", "N/Edge")}
    plan = addresses.plan(spec)
    rules = addresses.policy_routing(spec, plan, "N/Vpc")
    edge = dict(rules.sources)["igw"]
    assert edge == plan.table_number["N/Edge"]
    routes = {r.destination: r.device for r in rules.tables[edge]}
    assert routes["10.0.1.0/24"] == plan.tun["G/E1"]
    assert routes["10.0.2.0/24"] == plan.bridge["N/B"]

"""The route-path verifier over the committed tgw-centralized sets: every flow (egress, ALB nodes
and the bastion to each web server, east-west between spokes in every AZ pairing) crosses one GWLB
endpoint, the same both ways, whatever AZ the inspection attachment's flow hash picks. With
appliance mode turned off, AZ affinity splits every cross-AZ flow over two endpoints."""

from __future__ import annotations

import copy

import pytest

from tests.set_helpers import COMMITTED, load_set
from verify import reader, routepath

PARTITIONS = ("aws", "aws-cn")
TGW = "tgw-centralized"
SPOKE_WEB = ["App1WebServer1", "App1WebServer2", "App2WebServer1", "App2WebServer2"]


def _without_appliance_mode(templates: dict[str, dict]) -> dict[str, dict]:
    changed = copy.deepcopy(templates)
    for body in changed.values():
        for resource in body.get("Resources", {}).values():
            options = resource.get("Properties", {}).get("Options", {})
            if "ApplianceModeSupport" in options:
                options["ApplianceModeSupport"] = "disable"
    return changed


@pytest.mark.parametrize("partition", PARTITIONS)
def test_every_flow_of_the_committed_set_is_inspected_symmetrically(partition):
    net = reader.from_templates(load_set(COMMITTED / partition / TGW))
    flows = routepath.standard_flows(net)
    names = list(dict.fromkeys(f.name for f in flows))
    east_west = [f"{a} -> {b}" for a in SPOKE_WEB for b in SPOKE_WEB if a[:4] != b[:4]]
    assert [n for n in names if "-> internet" in n] == [f"{w} -> internet" for w in SPOKE_WEB]
    assert [n for n in names if n in east_west] == east_west
    assert len(names) == 4 + 2 * 4 + 4 + 8  # egress, 2 ALB nodes, bastion, east-west
    assert len(flows) == 2 * len(names)  # each flow under both AZs the flow hash may pick
    assert all(f.inspected_symmetrically for f in flows)
    assert routepath.problems(net) == []


@pytest.mark.parametrize("partition", PARTITIONS)
def test_without_appliance_mode_the_cross_az_rows_cross_two_endpoints(partition):
    templates = _without_appliance_mode(load_set(COMMITTED / partition / TGW))
    found = routepath.problems(reader.from_templates(templates))
    # AZ affinity: each direction enters the inspection VPC in its sender's AZ. The ALB node and
    # the bastion (public subnet 1) in AZ n, web server m != n: endpoint n out, m back.
    expected = [
        f"{client} -> {server}: endpoint out ['GwlbEndpoint{out}'], back ['GwlbEndpoint{back}']"
        for client, server, out, back in [
            ("ALB node in IngressPublicSubnet1", "App1WebServer2", 1, 2),
            ("ALB node in IngressPublicSubnet1", "App2WebServer2", 1, 2),
            ("ALB node in IngressPublicSubnet2", "App1WebServer1", 2, 1),
            ("ALB node in IngressPublicSubnet2", "App2WebServer1", 2, 1),
            ("Bastion", "App1WebServer2", 1, 2),
            ("Bastion", "App2WebServer2", 1, 2),
            ("App1WebServer1", "App2WebServer2", 1, 2),
            ("App1WebServer2", "App2WebServer1", 2, 1),
            ("App2WebServer1", "App1WebServer2", 1, 2),
            ("App2WebServer2", "App1WebServer1", 2, 1),
        ]
    ]
    assert sorted(found) == sorted(expected)


def test_three_azs_every_pairing_symmetric_and_six_cross_az_east_west_pairs_per_spoke_pair(
    variants,
):
    templates = load_set(variants[f"aws-{TGW}-3az"])
    net = reader.from_templates(templates)
    flows = routepath.standard_flows(net)
    names = set(f.name for f in flows)
    # 6 web servers: 6 egress, 3 ALB nodes x 6, bastion x 6, 6 x 3 ordered cross-VPC pairs
    assert len(names) == 6 + 18 + 6 + 18
    assert len(flows) == 3 * len(names)
    assert routepath.problems(net) == []
    off = routepath.problems(reader.from_templates(_without_appliance_mode(templates)))
    east_west = [p for p in off if p.startswith("App")]
    # Of the 18 ordered cross-VPC pairs, those whose web servers share an AZ (6) stay symmetric.
    assert len(east_west) == 12

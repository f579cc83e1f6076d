"""The lab end to end on the committed sets (root): every set passes with security groups and
network ACLs enforced, the large transfers and the readiness paths; what the groups refuse is
BLOCKED and named; a deny-all policy and a broken appliance fail."""

import json
import re
from pathlib import Path

import pytest
from lab_mutations import copy_set, swallowing_appliance
from lab_run import REPO, by_result, needs_root, run

from core import cfn_yaml

SETS = sorted(p.parent for p in (REPO / "output").glob("*/single-vpc/CN-GWLB.yml"))
pytestmark = needs_root


def _egress_allows(directory: Path, template: str, group: str, proto: str, port: int) -> bool:
    """Read straight from the template: does the group let proto/port out to anywhere?"""
    props = cfn_yaml.load(directory / template)["Resources"][group]["Properties"]
    for rule in props.get("SecurityGroupEgress", [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]):
        if rule.get("CidrIp") != "0.0.0.0/0" or rule["IpProtocol"] not in (proto, "-1"):
            continue
        low, high = int(rule.get("FromPort", -1)), int(rule.get("ToPort", -1))
        if proto == "icmp" and low in (-1, port) or proto == "tcp" and low <= port <= high:
            return True
    return False


@pytest.mark.parametrize("directory", SETS, ids=lambda p: p.parent.name)
def test_committed_set_passes_the_whole_plan(capsys, directory):
    # The failure and rolling-update drills (steps 5-6) do not depend on the partition: they
    # run on the aws set, and the aws-cn set runs the data path (steps 0-4) to save CI time.
    drill = directory.parent.name == "aws"
    code, table, text = run(capsys, directory, *(() if drill else ("--no-drill",)))
    assert code == 0, text
    assert by_result(table, "FAIL") == []
    steps = {r["step"].split()[0] for r in table}
    assert steps == {"0", "1", "2", "3", "4", "5", "6"} if drill else {"0", "1", "2", "3", "4"}
    assert "network ACLs in routers" in text
    # Egress: each web server through its own AZ's endpoint, the same one back; what the web
    # servers' group refuses out is BLOCKED, named, and never reached the GWLB.
    status = {r["flow"].split(" (signals")[0]: r for r in table if r["step"] == "1 egress"}
    expected = {
        "ICMP": _egress_allows(directory, "Nested-Web.yml", "WebSecurityGroup", "icmp", 8),
        "HTTP :80": _egress_allows(directory, "Nested-Web.yml", "WebSecurityGroup", "tcp", 80),
        "HTTPS :443": _egress_allows(directory, "Nested-Web.yml", "WebSecurityGroup", "tcp", 443),
    }
    assert expected["HTTPS :443"]  # the web servers' signal goes out over HTTPS
    for n in (1, 2):
        for probe, allowed in expected.items():
            row = status[f"WebServer{n} -> internet server ({probe})"]
            if allowed:
                assert row["result"] == "PASS"
                assert row["out"] == row["back"] == f"GwlbEndpoint{n}"
            else:
                assert row["result"] == "BLOCKED" and "WebSecurityGroup" in row["detail"]
                assert row["out"] == row["back"] == "-"
    # Readiness: every appliance and the bastion reach HTTPS out; appliances never via an endpoint.
    ready = {r["flow"].split(" ->")[0]: r for r in table if r["step"] == "1 readiness"}
    assert set(ready) == {"ApplianceGroup1", "ApplianceGroup2", "Bastion"}
    assert all(r["result"] == "PASS" and r["out"] == "-" for r in ready.values())
    # ALB: every node reached every web server, small and large, inspected by its AZ's endpoint.
    alb = [r for r in table if r["step"] == "2 ALB"]
    assert len(alb) == 12 and all(r["result"] == "PASS" for r in alb)
    for r in alb:
        az = re.search(r"PublicSubnet(\d)", r["flow"]).group(1)
        assert r["out"] == r["back"] == f"GwlbEndpoint{az}"
    big = [r for r in table if "GET 200 KB" in r["flow"]]
    assert len(big) == 6 and all("204800" in r["detail"] for r in big)
    assert "GWLB dropped 1 oversized" in text
    if drill:
        _drill_rows(directory, table)


def _drill_rows(directory: Path, table: list[dict]) -> None:
    """Steps 5-6: failover as the target group's attributes say, fail-open, rolling update."""
    groups = cfn_yaml.load(directory / "Nested-GWLB.yml")["Resources"]
    attrs = {
        a["Key"]: a["Value"]
        for res in groups.values()
        if res["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
        for a in res["Properties"].get("TargetGroupAttributes", [])
    }
    mode = attrs.get("target_failover.on_unhealthy", "no_rebalance")
    (existing,) = [r for r in table if r["flow"].startswith("existing flow")]
    assert existing["result"] == "PASS" and f"({mode}" in existing["detail"]
    # Every appliance down: GWLB fails open to the stopped ones, and the row says so.
    down = [r for r in table if "every appliance down" in r["flow"]]
    assert down and all("GWLB failed open" in r["detail"] for r in down)
    # Rolling update: each appliance replaced by a new one; every long-lived flow of each web
    # server ends on a new appliance, unbroken, its loss stated; the closing row sums it up.
    rolled = [r for r in table if r["step"] == "6 rolling update"]
    for n in (1, 2):
        (replaced,) = [r for r in rolled if r["flow"].startswith(f"replace ApplianceGroup{n} ")]
        assert replaced["result"] == "PASS" and replaced["appliance"].endswith("-new")
        for kind in ("TCP", "UDP", "ICMP"):
            (flow,) = [
                r
                for r in rolled
                if r["flow"].startswith(f"WebServer{n} -> internet") and f"({kind}" in r["flow"]
            ]
            assert flow["result"] == "PASS", flow
            assert re.search(r"-new \(\d+\)$", flow["appliance"])  # it ended on a new one
            assert ("retransmitted" if kind == "TCP" else "lost") in flow["detail"]
    assert rolled[-1]["result"] == "PASS" and "no TCP flow broke" in rolled[-1]["flow"]


def test_without_security_groups_nothing_is_blocked(capsys):
    code, table, text = run(capsys, SETS[0], "--no-security-groups", "--no-drill")
    assert code == 0, text
    assert "NOT enforced" in text and by_result(table, "BLOCKED") == []


def test_deny_all_policy_fails(capsys, tmp_path):
    policy = tmp_path / "deny.json"
    policy.write_text(json.dumps({"default": "drop", "rules": []}))
    code, table, text = run(capsys, SETS[0], "--policy", policy, "--no-drill")
    assert code == 1
    assert f"appliances run with policy {policy}" in text
    flows = [r for r in table if r["step"] in ("1 egress", "2 ALB", "3 bastion")]
    inspected = [r for r in flows if r["result"] != "BLOCKED" and "8628 bytes" not in r["flow"]]
    assert inspected and all(r["result"] == "FAIL" for r in inspected)
    # The appliances were healthy: it is the policy, not the GWLB, that stops the traffic.
    assert table[0]["result"] == "PASS"


def test_broken_appliance_fails(capsys, tmp_path):
    broken = copy_set(SETS[0], tmp_path / "set")
    swallowing_appliance(broken)
    code, table, text = run(capsys, broken, "--no-drill")
    assert code == 1
    assert table[0]["result"] == "PASS"  # it answers its health checks...
    egress = [r for r in table if r["step"] == "1 egress" and r["result"] != "BLOCKED"]
    assert egress and all(r["result"] == "FAIL" for r in egress)  # ...and returns nothing
    assert all("the appliance returned nothing" in r["detail"] for r in egress)


def test_bad_input_is_one_error_line(capsys, tmp_path):
    code, _, text = run(capsys, tmp_path)
    assert code == 2 and text.startswith("error: ") and text.count("\n") == 1
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    code, _, text = run(capsys, SETS[0], "--policy", bad)
    assert code == 2 and text.startswith(f"error: --policy {bad}: not JSON")

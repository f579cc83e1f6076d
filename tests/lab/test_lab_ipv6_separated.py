"""The lab on a dual-stack separated-vpc set of two application VPCs (aws-cn, root, --no-drill):
endpoints in the application VPCs, GWLB and appliances in the inspection VPC; each VPC's IPv4
and IPv6 are inspected through its own endpoints, which for IPv6 needs the appliances to know
every VPC's /56; a copy whose appliances miss one VPC's block fails that VPC's IPv6 rows, as
AWS would."""

from pathlib import Path

import pytest
from lab_mutations import copy_set
from lab_mutations6 import forget_application_vpc_block
from lab_run import by_result, needs_root, run

DUAL = ("--parameter", "IpAddressType=dualstack", "--no-drill")
pytestmark = needs_root


@pytest.fixture(scope="module")
def two_vpcs(tmp_path_factory) -> Path:
    from templates import main

    out = tmp_path_factory.mktemp("two-vpcs")
    argv = ["--architecture", "separated-vpc", "--app-vpcs", "2", "--partition", "aws-cn"]
    assert main(["--output", str(out), *argv]) == 0
    return out / "aws-cn" / "separated-vpc"


def _egress6(table: list[dict]) -> list[dict]:
    return [r for r in table if r["step"] == "1 egress IPv6" and "HTTP :80" not in r["flow"]]


def test_each_application_vpcs_ipv6_is_inspected_by_its_own_endpoints(capsys, two_vpcs):
    code, table, text = run(capsys, two_vpcs, *DUAL)
    assert code == 0, text
    assert "(3 VPC, 4 GWLB endpoints, 2 appliances" in text
    ipv4 = [r for r in table if r["step"] in ("1 egress", "2 ALB", "3 bastion")]
    assert {r["flow"].split(" -> ")[-1][:4] for r in ipv4 if r["step"] == "2 ALB"} == {
        "App1",
        "App2",
    }
    assert all(r["result"] == "PASS" for r in ipv4 if r["step"] == "2 ALB")
    egress = _egress6(table)
    # ICMPv6 and HTTPS from each of four web servers, each via its VPC's AZ endpoint both ways.
    assert len(egress) == 8 and all(r["result"] == "PASS" for r in egress)
    for row in egress:
        server = row["flow"].split(" ->")[0]  # App2WebServer1
        vpc, number = server.split("WebServer")
        assert row["out"] == row["back"] == f"{vpc}GwlbEndpoint{number}"
    unsolicited = [r for r in table if "unsolicited" in r["flow"]]
    assert {r["flow"].split("-> ")[1].split(" ")[0] for r in unsolicited} == {
        "App1WebServer1",
        "App1WebServer2",
        "App2WebServer1",
        "App2WebServer2",
    }
    for row in unsolicited:
        assert row["result"] == "PASS"
        assert "dropped by the appliance (rule default, in its flow log)" in row["detail"]


def test_appliances_that_miss_one_vpcs_block_fail_that_vpcs_ipv6(capsys, two_vpcs, tmp_path):
    broken = copy_set(two_vpcs, tmp_path / "set")
    assert '"${Block1}"]' in forget_application_vpc_block(broken, 2)
    code, table, _ = run(capsys, broken, *DUAL)
    assert code == 1
    failed = by_result(table, "FAIL")
    # Application VPC 2's IPv6 egress dies at the appliance's default drop; VPC 1's and all
    # IPv4 rows still pass.
    assert {r["flow"] for r in failed} == {
        r["flow"] for r in _egress6(table) if r["flow"].startswith("App2")
    }
    for row in failed:
        assert row["out"].startswith("App2GwlbEndpoint") and row["back"] == "none"
        assert "the appliance returned nothing" in row["detail"]
    assert all(r["result"] == "PASS" for r in _egress6(table) if r["flow"].startswith("App1"))

"""The lab on a dual-stack set (root, --no-drill): IPv6 egress, the ALB, the bastion and an
unsolicited SYN pass through one endpoint both ways; copies whose IPv6 is not inspected fail,
for the reason AWS gives."""

from pathlib import Path

from lab_mutations import copy_set
from lab_mutations6 import drop_ipv6_endpoint_routes, egress_through_egress_only_gateway
from lab_run import REPO, by_result, needs_root, run

SET = REPO / "output" / "aws" / "single-vpc"
DUAL = ("--parameter", "IpAddressType=dualstack", "--no-drill")
pytestmark = needs_root


def _ipv6(table: list[dict]) -> list[dict]:
    return [row for row in table if "IPv6" in row["step"]]


def test_dual_stack_single_vpc_passes_with_ipv6_rows(capsys):
    code, table, text = run(capsys, SET, *DUAL)
    assert code == 0, text
    rows = _ipv6(table)
    egress = [r for r in rows if r["step"] == "1 egress IPv6" and r["result"] == "PASS"]
    # ICMPv6 and HTTPS from each web server, each through its own AZ's endpoint both ways.
    assert len(egress) == 4
    for row in egress:
        number = row["flow"][len("WebServer")]
        assert row["out"] == row["back"] == f"GwlbEndpoint{number}"
    assert len([r for r in rows if r["step"] == "2 ALB IPv6" and r["result"] == "PASS"]) == 2
    bastion = [r for r in rows if r["step"] == "3 bastion IPv6"]
    assert bastion and all(r["result"] == "PASS" for r in bastion)
    assert any("(> 8,500)" in r["flow"] for r in bastion)
    unsolicited = [r for r in rows if "unsolicited" in r["flow"]]
    assert len(unsolicited) == 2
    for row in unsolicited:
        assert row["result"] == "PASS" and row["back"] == "-"
        assert "dropped by the appliance (rule default, in its flow log)" in row["detail"]


def test_without_the_ipv6_routes_to_the_endpoints_the_lab_fails(capsys, tmp_path: Path):
    """IPv6 routes to a GWLB endpoint left out: the web servers' IPv6 has no way out, and
    unsolicited IPv6 from the internet reaches them without crossing any appliance."""
    broken = copy_set(SET, tmp_path / "set")
    assert drop_ipv6_endpoint_routes(broken)
    code, table, _ = run(capsys, broken, *DUAL)
    assert code == 1
    failed = by_result(_ipv6(table), "FAIL")
    egress = [r for r in failed if r["step"] == "1 egress IPv6"]
    assert {r["flow"].split(" ->")[0] for r in egress} == {"WebServer1", "WebServer2"}
    unsolicited = [r for r in failed if "unsolicited" in r["flow"]]
    assert len(unsolicited) == 2
    assert all("no GWLB endpoint saw it: not inspected" in r["detail"] for r in unsolicited)
    # IPv4 is untouched.
    assert not [r for r in by_result(table, "FAIL") if "IPv6" not in r["step"]]


def test_egress_through_an_egress_only_gateway_fails(capsys, tmp_path: Path):
    """An egress-only gateway has no edge route table: the replies to the web servers' IPv6
    egress come straight back to their subnet, past the endpoint and the appliance."""
    broken = copy_set(SET, tmp_path / "set")
    assert egress_through_egress_only_gateway(broken)
    code, table, _ = run(capsys, broken, *DUAL)
    assert code == 1
    egress = [r for r in _ipv6(table) if r["step"] == "1 egress IPv6" and "ICMPv6" in r["flow"]]
    assert len(egress) == 2
    for row in egress:
        assert row["result"] == "FAIL"
        assert row["out"].startswith("GwlbEndpoint") and row["back"] == "none"
        assert "NOT inspected by one endpoint and appliance both ways" in row["detail"]

"""The lab on the tgw-centralized sets (root): the committed sets pass the whole plan with
east-west flows between the spokes in every AZ pairing, egress through the central NAT, ingress
through the ALB and the bastion, each inspected by one endpoint both ways. Without appliance mode
the flows between AZs fail, out through one endpoint and back through the other; a spoke whose
block is not propagated, or whose attachment is not associated, is cut off for that reason."""

import re
from pathlib import Path

import pytest
from lab_mutations import copy_set
from lab_run import REPO, by_result, needs_root, run
from tgw_mutations import appliance_mode_off, spokes_not_associated, spokes_not_propagated

SETS = sorted(p.parent for p in (REPO / "output").glob("*/tgw-centralized/CN-GWLB.yml"))
AWS = REPO / "output" / "aws" / "tgw-centralized"
ZONES = re.compile(r"\((az\d) -> (az\d)\)")
pytestmark = needs_root


def _east_west(table: list[dict]) -> tuple[list[dict], list[dict]]:
    """(rows between AZs, rows within one AZ) of the east-west step."""
    rows = [r for r in table if r["step"] == "3 east-west"]
    across = [r for r in rows if len(set(ZONES.search(r["flow"]).groups())) == 2]
    return across, [r for r in rows if r not in across]


@pytest.mark.parametrize("directory", SETS, ids=lambda p: p.parent.name)
def test_committed_tgw_set_passes_the_whole_plan(capsys, directory: Path):
    # The drills (steps 5-6) do not depend on the partition: the aws set runs them, the aws-cn
    # set the data path only, to save CI time.
    drill = directory.parent.name == "aws"
    code, table, text = run(capsys, directory, *(() if drill else ("--no-drill",)))
    assert code == 0, text
    assert by_result(table, "FAIL") == []
    steps = {"0", "1", "2", "3", "4", "5", "6"} if drill else {"0", "1", "2", "3", "4"}
    assert {r["step"].split()[0] for r in table} == steps
    assert "appliance mode on InspectionTransitGatewayAttachment" in text
    across, within = _east_west(table)
    # Two spokes, two web servers each: 8 ordered pairs across VPCs, ICMP and HTTP each.
    assert len(across) == len(within) == 8
    for row in across + within:
        assert row["result"] == "PASS", row
        assert row["out"] == row["back"] and row["out"].startswith("GwlbEndpoint"), row
        assert " out, " not in row["appliance"], row  # one appliance both ways
    egress = [r for r in table if r["step"] == "1 egress" and r["result"] != "BLOCKED"]
    assert len(egress) == 8 and all(r["out"] == r["back"] != "-" for r in egress)
    assert all("InspectionNatGateway" in r["detail"] for r in egress)
    alb = [r for r in table if r["step"] == "2 ALB"]
    assert len(alb) == 24 and all(r["out"] == r["back"] != "-" for r in alb)
    bastion = [r for r in table if r["step"] == "3 bastion" and "bytes" not in r["flow"]]
    assert {r["flow"].split(" (")[0] for r in bastion} == {
        f"Bastion -> App{s}WebServer{n}" for s in (1, 2) for n in (1, 2)
    }
    (big,) = [r for r in table if "8628 bytes" in r["flow"]]
    assert "the transit gateway 1" in big["detail"]


def test_appliance_mode_off_fails_between_zones_with_two_endpoints(capsys, tmp_path: Path):
    broken = copy_set(AWS, tmp_path / "set")
    appliance_mode_off(broken)
    code, table, text = run(capsys, broken, "--no-drill")
    assert code == 1
    assert "appliance mode on none" in text
    across, within = _east_west(table)
    assert len(across) == 8 and all(r["result"] == "FAIL" for r in across)
    for row in across:
        assert {row["out"], row["back"]} == {"GwlbEndpoint1", "GwlbEndpoint2"}, row
        source_az = ZONES.search(row["flow"]).group(1)
        assert row["out"] == f"GwlbEndpoint{int(source_az[-1]) + 1}"  # AZ affinity out
        assert "the reply went to another endpoint or appliance" in row["detail"]
    assert all(r["result"] == "PASS" and r["out"] == r["back"] for r in within)
    # Egress keeps its AZ both ways (the NAT gateway sits in the AZ it came through).
    egress = [r for r in table if r["step"] == "1 egress" and r["result"] != "BLOCKED"]
    assert egress and all(r["result"] == "PASS" for r in egress)


def test_spokes_not_propagated_or_associated_are_cut_off_for_that_reason(capsys, tmp_path):
    broken = copy_set(AWS, tmp_path / "unpropagated")
    spokes_not_propagated(broken)
    code, table, _ = run(capsys, broken, "--no-drill")
    assert code == 1
    spokes = [r for r in table if r["step"] in ("1 egress", "3 east-west") and "App" in r["flow"]]
    failed = [r for r in spokes if r["result"] == "FAIL"]
    assert len(failed) == 8 + 16  # every egress probe the group allows, every east-west one
    assert all("TransitInspectionRouteTable has no route to 10." in r["detail"] for r in failed)
    broken = copy_set(AWS, tmp_path / "unassociated")
    spokes_not_associated(broken)
    code, table, text = run(capsys, broken, "--no-drill")
    assert code == 1
    assert "AWS accepts, then drops: App1TransitGatewayAttachment" in text
    east_west = [r for r in table if r["step"] == "3 east-west"]
    assert len(east_west) == 16 and all(r["result"] == "FAIL" for r in east_west)
    assert all("associated with no TGW route table" in r["detail"] for r in east_west)
    ready = [r for r in table if r["step"] == "1 readiness"]
    assert ready and all(r["result"] == "PASS" for r in ready)  # the inspection VPC is intact

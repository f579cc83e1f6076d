"""Sets we did not write (root, --no-drill): a hand-written vendor set (another master name, an
S3 TemplateURL, its own layout, an appliance fetched at boot) runs with our appliance in the
vendor's place; the same set with the ALB's replies bypassing the GWLB fails, one way."""

import shutil
from pathlib import Path

from lab_mutations import drop_resources
from lab_run import by_result, needs_root, run

VENDOR = Path(__file__).resolve().parent / "sets" / "vendor"
pytestmark = needs_root


def test_a_vendor_set_passes_with_our_appliance_in_its_place(capsys):
    code, table, text = run(capsys, VENDOR, "--no-drill")
    assert code == 0, text
    (stand_in,) = [r for r in table if "not our appliance" in r["flow"]]
    assert stand_in["flow"].startswith("Vendor1:") and "allow-all" in stand_in["flow"]
    alb = [r for r in table if r["step"] == "2 ALB"]
    assert len(alb) == 6 and all(r["out"] == r["back"] == "Gwlbe" for r in alb)
    assert by_result(table, "FAIL") == []


def test_alb_replies_that_bypass_the_gwlb_fail_one_way(capsys, tmp_path):
    bypass = tmp_path / "bypass"
    shutil.copytree(VENDOR, bypass)
    # The application subnet's routes back to the ALB's subnets go: replies take the local route.
    drop_resources(bypass, "inspection.yaml", "AppToPublicA", "AppToPublicB")
    code, table, text = run(capsys, bypass, "--no-drill")
    assert code == 1
    alb = [r for r in table if r["step"] == "2 ALB"]
    assert len(alb) == 6
    for row in alb:
        assert row["result"] == "FAIL"
        assert row["out"] == "Gwlbe" and row["back"] == "none"
        assert "NOT inspected by one endpoint and appliance both ways" in row["detail"]
    egress = [r for r in table if r["step"] == "1 egress"]
    assert egress and all(r["result"] == "PASS" for r in egress)  # the rest is still sound

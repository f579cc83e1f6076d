"""The rolling-update drill must fail when the GWLB keeps flows on drained targets (root): with
target_failover no_rebalance the long-lived flows stay with the old appliances, which are
terminated, and every TCP flow breaks."""

from pathlib import Path

from lab_mutations import copy_set, edit
from lab_run import REPO, by_result, needs_root, run

SET = REPO / "output" / "aws" / "single-vpc"
pytestmark = needs_root


def _no_rebalance(directory: Path) -> None:
    """Both target_failover attributes (verify refuses them mismatched) set to no_rebalance."""

    def change(body: dict) -> None:
        for resource in body["Resources"].values():
            if resource["Type"] != "AWS::ElasticLoadBalancingV2::TargetGroup":
                continue
            for attribute in resource["Properties"].get("TargetGroupAttributes", []):
                if attribute["Key"].startswith("target_failover."):
                    attribute["Value"] = "no_rebalance"

    edit(directory, "Nested-GWLB.yml", change)


def test_no_rebalance_breaks_the_flows_of_replaced_appliances(capsys, tmp_path: Path):
    mutated = copy_set(SET, tmp_path / "set")
    _no_rebalance(mutated)
    code, table, text = run(capsys, mutated)
    assert code == 1, text
    assert {r["step"] for r in by_result(table, "FAIL")} == {"6 rolling update"}
    (existing,) = [r for r in table if r["flow"].startswith("existing flow")]
    assert existing["result"] == "PASS" and "(no_rebalance" in existing["detail"]
    rolled = [r for r in table if r["step"] == "6 rolling update"]
    replaced = [r for r in rolled if r["flow"].startswith("replace ")]
    assert len(replaced) == 2 and all(r["result"] == "PASS" for r in replaced)
    tcp = [r for r in rolled if "(TCP :" in r["flow"]]
    assert len(tcp) == 2
    for row in tcp:
        assert row["result"] == "FAIL" and "BROKE" in row["detail"]
        assert "-new" not in row["appliance"]  # pinned to the old appliance to the end
    assert rolled[-1]["result"] == "FAIL" and "TCP flows broke" in rolled[-1]["flow"]

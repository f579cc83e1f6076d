"""One lab run per class of break (root, --no-drill): a mutated copy of a committed set must FAIL
for the reason AWS would give, and valid equivalents must PASS. Independent breaks share a run,
each asserted on its own rows."""

from pathlib import Path

from lab_mutations import (
    alternative_endpoint,
    copy_set,
    deny_all_acl,
    drop_group_rules,
    drop_mtu_setting,
    drop_resources,
    drop_target,
    extra_plain_host,
    false_condition,
    rename_everywhere,
    sub_list_cidrs,
)
from lab_run import REPO, by_result, needs_root, run

from core import cfn_yaml

SET = REPO / "output" / "aws" / "single-vpc"
pytestmark = needs_root


def _find(table: list[dict], *words: str) -> list[dict]:
    return [row for row in table if all(word in row["flow"] for word in words)]


def test_mtu_and_appliance_egress(capsys, tmp_path: Path):
    """No MTU setting: the large transfers fail (full-size segments over the GWLB's 8,500 bytes)
    while small pages pass. No NAT route for the appliance subnets: their readiness signal cannot
    leave, so the stack would never complete."""
    broken = copy_set(SET, tmp_path / "set")
    drop_mtu_setting(broken)
    drop_resources(
        broken,
        "Nested-Network.yml",
        "ApplianceSubnet1ToInternetViaNat1",
        "ApplianceSubnet2ToInternetViaNat2",
    )
    code, table, text = run(capsys, broken, "--no-drill")
    assert code == 1
    large = _find(table, "GET ")
    assert len(large) == 12 and all(row["result"] == "FAIL" for row in large)
    assert any("over 8,500 bytes" in row["detail"] for row in large)
    small = [r for r in table if r["step"] == "2 ALB" and "GET" not in r["flow"]]
    assert len(small) == 4 and all(row["result"] == "PASS" for row in small)
    ready = [r for r in table if r["step"] == "1 readiness"]
    appliances = [r for r in ready if r["flow"].startswith("ApplianceGroup")]
    assert len(appliances) == 2 and all(row["result"] == "FAIL" for row in appliances)
    # AWS drops what no route matches, silently: a timeout, never "Network is unreachable".
    assert all("timed out" in row["detail"] for row in appliances)
    assert "unreachable" not in text.lower()
    assert [r["result"] for r in ready if r["flow"].startswith("Bastion")] == ["PASS"]


def test_network_acl_and_web_group(capsys, tmp_path: Path):
    """A deny-all ACL on the second application subnet and a web group that no longer admits
    the ALB: the rows name the ACL and the group that stop them."""
    broken = copy_set(SET, tmp_path / "set")
    deny_all_acl(broken, "ApplicationSubnet2")
    drop_group_rules(broken, "Nested-Web.yml", "WebSecurityGroup", "Ingress", 80)
    code, table, text = run(capsys, broken, "--no-drill")
    assert code == 1
    (signal2,) = _find(table, "WebServer2 -> internet server (HTTPS")
    assert signal2["result"] == "FAIL" and "network ACL LockedAcl" in signal2["detail"]
    (signal1,) = _find(table, "WebServer1 -> internet server (HTTPS")
    assert signal1["result"] == "PASS"
    alb = [r for r in table if r["step"] == "2 ALB"]
    assert alb and all(r["result"] == "FAIL" for r in alb)
    assert all("WebSecurityGroup: no tcp/80 in" in r["detail"] for r in _find(alb, "WebServer1"))


def test_appliance_group_without_geneve_and_a_missing_target(capsys, tmp_path: Path):
    """The appliances' group no longer admits Geneve: health checks pass, every inspected packet
    is lost. A web server left out of the ALB's target group is named as that."""
    broken = copy_set(SET, tmp_path / "set")
    drop_group_rules(broken, "Nested-Appliances.yml", "ApplianceSecurityGroup", "Ingress", 6081)
    drop_target(broken, "WebServer2")
    code, table, text = run(capsys, broken, "--no-drill")
    assert code == 1
    assert table[0]["result"] == "PASS"
    (signal1,) = _find(table, "WebServer1 -> internet server (HTTPS")
    assert signal1["result"] == "FAIL"
    assert "ApplianceSecurityGroup: no udp/6081 in" in signal1["detail"]
    (missing,) = _find(table, "ALB never reaches WebServer2")
    assert missing["result"] == "FAIL" and "not a target of WebTargetGroup" in missing["detail"]
    assert not [r for r in table if r["step"] == "3 bastion" and "WebServer2" in r["flow"]]


def test_routes_behind_a_false_condition_are_absent(capsys, tmp_path: Path):
    """The exact-subnet routes exist in the template but behind a false condition: the replies
    come back around the endpoints, as with the quickstart this one replaced."""
    broken = copy_set(SET, tmp_path / "set")
    routes = cfn_yaml.load(broken / "Nested-InspectionRoutes.yml")["Resources"]
    names = [
        n
        for n, r in routes.items()
        if r["Properties"].get("DestinationCidrBlock", "0.0.0.0/0") != "0.0.0.0/0"
    ]
    assert names
    false_condition(broken, "Nested-InspectionRoutes.yml", *names)
    code, table, text = run(capsys, broken, "--no-drill")
    assert code == 1
    one_way = [r for r in table if r["result"] == "FAIL" and r["back"] == "none"]
    assert one_way and "NOT inspected" in text


def test_valid_equivalents_pass(capsys, tmp_path: Path):
    """Other CIDRs (through --parameter), renamed ids, `!Sub ['${Net}', {Net: !Ref ...}]`
    spellings, a second endpoint in the same zone taking over, an extra ordinary host."""
    changed = copy_set(SET, tmp_path / "set")
    rename_everywhere(changed, "WebServer", "Storefront")
    sub_list_cidrs(changed)
    alternative_endpoint(changed, "GwlbEndpoint1", "SpareEndpoint1")
    extra_plain_host(changed, "WebSecurityGroup", profile=True)
    blocks = {
        "VpcCidr": "172.20.0.0/16",
        "PublicSubnet1Cidr": "172.20.10.0/24",
        "PublicSubnet2Cidr": "172.20.11.0/24",
        "EndpointSubnet1Cidr": "172.20.12.0/24",
        "EndpointSubnet2Cidr": "172.20.13.0/24",
        "ApplianceSubnet1Cidr": "172.20.14.0/24",
        "ApplianceSubnet2Cidr": "172.20.15.0/24",
        "ApplicationSubnet1Cidr": "172.20.16.0/24",
        "ApplicationSubnet2Cidr": "172.20.17.0/24",
    }
    argv = [arg for key, value in blocks.items() for arg in ("--parameter", f"{key}={value}")]
    code, table, text = run(capsys, changed, "--no-drill", *argv)
    assert code == 0, text
    assert by_result(table, "FAIL") == []
    assert "SpareEndpoint1" in {r["out"] for r in table}
    assert _find(table, "Storefront2 -> internet server (HTTPS")[0]["result"] == "PASS"
    assert not _find(table, "Worker")  # a plain host: nothing it needs, nothing probed

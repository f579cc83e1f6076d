"""The lab end to end (root): both committed sets pass; a set without the exact-subnet routes, a
deny-all policy and a broken appliance fail; bad input and signals leave nothing behind."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lab_mutations import copy_set, drop_exact_subnet_routes, swallowing_appliance

from core import cfn_yaml
from lab.cli import main
from lab.netns import unavailable

REPO = Path(__file__).resolve().parents[2]
SETS = sorted(p.parent for p in (REPO / "output").glob("*/single-vpc/CN-GWLB.yml"))
SEPARATED = REPO / "output" / "aws" / "separated-vpc"
ROW = re.compile(
    r"^\| (PASS|FAIL|BLOCKED) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|"
)

pytestmark = pytest.mark.skipif(
    bool(unavailable()) or not shutil.which("nft"),
    reason=unavailable() or "needs nftables (apt-get install -y nftables)",
)


def rows(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            keys = ("result", "step", "flow", "out", "back", "appliance")
            out.append(dict(zip(keys, (g.strip() for g in m.groups()), strict=True)))
    return out


def lab_namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [
        line.split()[0] for line in listing.splitlines() if line.startswith(f"lab{os.getpid()}-")
    ]


@pytest.fixture
def run_lab(capsys):
    def run(*argv: str) -> tuple[int, list[dict], str]:
        code = main([str(a) for a in argv])
        out = capsys.readouterr().out
        assert lab_namespaces() == []  # torn down, whatever the verdict
        return code, rows(out), out

    return run


@pytest.mark.parametrize("directory", SETS, ids=lambda p: p.parent.name)
def test_committed_set_passes_the_whole_plan(run_lab, directory):
    code, table, text = run_lab(directory)
    assert code == 0, text
    assert table and all(r["result"] == "PASS" for r in table)
    steps = {r["step"].split()[0] for r in table}
    assert steps == {"0", "1", "2", "3", "4", "5"}
    # Egress: each web server through its own AZ's endpoint, the same one back.
    egress = [r for r in table if r["step"] == "1 egress"]
    assert len(egress) == 4
    for r in egress:
        n = re.search(r"WebServer(\d)", r["flow"]).group(1)
        assert r["out"] == r["back"] == f"GwlbEndpoint{n}"
    # ALB: every node reached every web server, inspected by the node's AZ endpoint.
    alb = [r for r in table if r["step"] == "2 ALB"]
    pairs = {(re.search(r"PublicSubnet(\d)", r["flow"]).group(1), r["flow"][-1]) for r in alb}
    assert pairs == {("1", "1"), ("1", "2"), ("2", "1"), ("2", "2")}
    for r in alb:
        az = re.search(r"PublicSubnet(\d)", r["flow"]).group(1)
        assert r["out"] == r["back"] == f"GwlbEndpoint{az}"
    assert "GWLB dropped 1 oversized" in text
    # The target group's failover attribute decides what became of the stopped appliance's flow.
    groups = cfn_yaml.load(directory / "Nested-GWLB.yml")["Resources"]
    attrs = {
        a["Key"]: a["Value"]
        for res in groups.values()
        if res["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
        for a in res["Properties"].get("TargetGroupAttributes", [])
    }
    mode = attrs.get("target_failover.on_unhealthy", "no_rebalance")
    (existing,) = [r for r in table if r["flow"].startswith("existing flow")]
    assert existing["result"] == "PASS"
    assert f"({mode}" in text
    assert "lab: 0 FAIL" not in text and ", 0 FAIL; verdict in" in text


@pytest.mark.skipif(not SEPARATED.is_dir(), reason="no committed separated-vpc set")
def test_separated_set_passes_across_vpcs(run_lab):
    """Endpoints in the application VPC, GWLB and appliances in the inspection VPC."""
    code, table, text = run_lab(SEPARATED, "--no-drill")
    assert code == 0, text
    assert "(2 VPC, 2 GWLB endpoints, 2 appliances" in text
    flows = [r for r in table if r["step"] in ("1 egress", "2 ALB", "3 bastion")]
    assert len(flows) >= 14 and all(r["result"] == "PASS" for r in flows)


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


def test_security_groups_block_what_the_set_blocks(run_lab):
    """With --security-groups, what the web servers' group refuses out is BLOCKED (and the GWLB
    never sees it); whatever it allows passes, inspected, and the ALB paths pass."""
    directory = SETS[0]
    code, table, text = run_lab(directory, "--security-groups", "--no-drill")
    assert code == 0, text
    status = {r["flow"]: r["result"] for r in table}
    expected = {
        "ICMP": _egress_allows(directory, "Nested-Web.yml", "WebSecurityGroup", "icmp", 8),
        "HTTP :80": _egress_allows(directory, "Nested-Web.yml", "WebSecurityGroup", "tcp", 80),
        "HTTP :443": _egress_allows(directory, "Nested-Web.yml", "WebSecurityGroup", "tcp", 443),
    }
    assert expected["HTTP :443"]  # the web servers' signal goes out over HTTPS
    for n in (1, 2):
        for probe, allowed in expected.items():
            flow = f"WebServer{n} -> internet server ({probe})"
            assert status[flow] == ("PASS" if allowed else "BLOCKED"), flow
        assert status[f"Bastion -> WebServer{n} (HTTP :80)"] == "PASS"
    assert [r["result"] for r in table if r["step"] == "2 ALB"] == ["PASS"] * 4
    blocked = [r for r in table if r["result"] == "BLOCKED"]
    assert all(r["out"] == "-" and r["back"] == "-" for r in blocked)
    passed = [r for r in table if r["result"] == "PASS" and r["step"] in ("1 egress", "3 bastion")]
    assert all(r["out"].startswith("GwlbEndpoint") for r in passed if "bytes" not in r["flow"])


def test_replaced_quickstarts_routes_are_reachable_but_fail(run_lab, tmp_path):
    broken = copy_set(SETS[0], tmp_path / "set")
    drop_exact_subnet_routes(broken)
    code, table, text = run_lab(broken, "--no-drill")
    assert code == 1
    by_step = {}
    for r in table:
        by_step.setdefault(r["step"], []).append(r)
    # Replies from the internet come back around the endpoint: answered, not inspected back.
    for r in by_step["1 egress"]:
        assert r["result"] == "FAIL"
        assert r["out"].startswith("GwlbEndpoint") and r["back"] == "none"
    assert "NOT inspected" in text
    # ALB and bastion traffic reaches the web servers with no endpoint at all.
    assert all(r["result"] == "FAIL" for r in by_step["2 ALB"] + by_step["3 bastion"][:4])
    assert "HTTP 200 'web server 1'" in text and "HTTP 200 'web server 2'" in text


def test_deny_all_policy_fails(run_lab, tmp_path):
    policy = tmp_path / "deny.json"
    policy.write_text(json.dumps({"default": "drop", "rules": []}))
    code, table, text = run_lab(SETS[0], "--policy", policy, "--no-drill")
    assert code == 1
    assert f"appliances run with policy {policy}" in text
    flows = [r for r in table if r["step"] in ("1 egress", "2 ALB", "3 bastion")]
    assert flows and all(r["result"] == "FAIL" for r in flows if "8628 bytes" not in r["flow"])
    # The appliances were healthy: it is the policy, not the GWLB, that stops the traffic.
    assert table[0]["result"] == "PASS"


def test_broken_appliance_fails(run_lab, tmp_path):
    broken = copy_set(SETS[0], tmp_path / "set")
    swallowing_appliance(broken)
    code, table, text = run_lab(broken, "--no-drill")
    assert code == 1
    assert table[0]["result"] == "PASS"  # it answers its health checks...
    egress = [r for r in table if r["step"] == "1 egress"]
    assert egress and all(r["result"] == "FAIL" for r in egress)  # ...and returns nothing


def test_bad_input_is_one_error_line(capsys, tmp_path):
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no CN-GWLB.yml") and err.count("\n") == 1
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    assert main([str(SETS[0]), "--policy", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --policy {bad}: not JSON")
    assert lab_namespaces() == []


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def test_keep_prints_working_commands_and_sigterm_tears_everything_down():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", str(SETS[0]), "--keep", "--no-drill"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    prefix, scratch = f"lab{proc.pid}-", f"gwlb-lab-{proc.pid}-"
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("tail -f"):
                break
        commands = [line.split("#")[0].strip() for line in lines if line.startswith("ip netns")]
        curl = next(c for c in commands if "curl" in c and "198.19.255.20" in c)
        answer = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=10)
        assert answer.stdout.strip() == "internet server"
        assert _processes_mentioning(scratch)  # the appliances run from the lab's scratch root
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in listing
    assert _processes_mentioning(scratch) == []

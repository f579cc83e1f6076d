"""Smoke: the judges on written answers, the shell scripts under stub commands, and the whole
check against a moto stack whose SSM answers are scripted (moto cannot run commands)."""

from __future__ import annotations

import itertools
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from operate.smoke_judge import (
    APPLIANCE_SCRIPT,
    FLOW_LOG,
    FLOWS_METRIC,
    INTERNET_SCRIPT,
    PACKETS_METRIC,
    Application,
    alb_script,
    applications,
    judge_alb,
    judge_appliance,
    judge_internet,
    judge_targets,
)
from operate.ssm import Invocation

REPO = Path(__file__).resolve().parents[2]
SMOKE_STACK = Path(__file__).with_name("smoke_stack.yml")
# What an appliance that has seen traffic answers on /metrics (Prometheus text, our own sample).
METRICS_BUSY = """\
# TYPE gwlb_appliance_packets_received_total counter
gwlb_appliance_packets_received_total 5312
# TYPE gwlb_appliance_flows_active gauge
gwlb_appliance_flows_active 3
# TYPE gwlb_appliance_flows_created_total counter
gwlb_appliance_flows_created_total 41
"""
METRICS_IDLE = METRICS_BUSY.replace(" 5312", " 0").replace(" 41", " 0").replace(" 3\n", " 0\n")


def ok(stdout: str) -> Invocation:
    return Invocation("i-1", "Success", stdout, "")


def test_applications_from_single_and_separated_outputs():
    single = {"WebServer2Id": "i-2", "WebServer1Id": "i-1", "AlbUrl": "http://a/", "X": "y"}
    assert applications(single) == [Application("", "http://a/", {1: "i-1", 2: "i-2"})]
    separated = {
        "App10WebServer1Id": "i-10a",
        "App2WebServer1Id": "i-2a",
        "App2AlbUrl": "http://two/",
        "App10AlbUrl": "http://ten/",
        "App2WebServer2Id": "i-2b",
    }
    apps = applications(separated)
    assert [(a.prefix, a.alb_url, a.servers) for a in apps] == [
        ("App2", "http://two/", {1: "i-2a", 2: "i-2b"}),
        ("App10", "http://ten/", {1: "i-10a"}),
    ]
    assert apps[1].name(1) == "App10 web server 1"


def test_alb_judge_needs_every_server_and_no_failure():
    both = [(0, 1), (0, 2)]
    assert judge_alb(["web server 1", "web server 2"] * 3, both, 6).passed
    only_one = judge_alb(["web server 1"] * 6, both, 6)
    assert not only_one.passed and "never answered: 2" in only_one.detail
    one_failed = judge_alb(["web server 1", "web server 2", ""], both, 3)
    assert not one_failed.passed and "1 failed" in one_failed.detail
    assert one_failed.detail.startswith("2/3 answered (server:count 1:1, 2:1)")


def test_internet_judge():
    assert judge_internet(ok("http=200\nping=ok\n")) == (True, "https 200, ping ok")
    assert judge_internet(ok("http=000\nping=ok\n")) == (False, "https 000, ping ok")
    assert judge_internet(ok("http=301\nping=fail\n")) == (False, "https 301, ping failed")
    undeliverable = Invocation("i-1", "Undeliverable", "", "")
    assert judge_internet(undeliverable)[0] is False


def test_appliance_judge_reads_the_counters():
    passed, detail = judge_appliance(ok(METRICS_BUSY + "flowlog_lines=0\n"))
    assert passed and detail == "flows 41, packets 5312, flow log 0 lines"
    assert judge_appliance(ok(METRICS_IDLE + "flowlog_lines=0\n"))[0] is False
    # the flow log alone is enough (e.g. counters reset by a restart)
    assert judge_appliance(ok(METRICS_IDLE + "flowlog_lines=7\n"))[0] is True
    assert judge_appliance(ok("flowlog_lines=0\n")) == (
        False,
        "no /metrics answer on port 80 and no flow log lines",
    )


def test_the_appliance_still_serves_what_smoke_reads():
    source = "".join(p.read_text() for p in (REPO / "appliance").glob("*.py"))
    assert '"gwlb_appliance_"' in source
    for metric in (FLOWS_METRIC, PACKETS_METRIC):
        assert f'"{metric.removeprefix("gwlb_appliance_")}"' in source
    unit = (REPO / "appliance" / "install" / "gwlb-appliance.service").read_text()
    assert f"--flow-log {FLOW_LOG}" in unit


def test_target_judge():
    health = [
        {"Target": {"Id": "i-1"}, "TargetHealth": {"State": "healthy"}},
        {
            "Target": {"Id": "i-2"},
            "TargetHealth": {"State": "unhealthy", "Reason": "Target.FailedHealthChecks"},
        },
    ]
    row = judge_targets("ApplianceTargetGroup", health)
    assert not row.passed
    assert row.detail == "1/2 healthy; i-2 unhealthy (Target.FailedHealthChecks)"
    assert judge_targets("Empty", []).passed is False


@pytest.fixture
def stubs(tmp_path):
    """A PATH whose curl and ping are stubs: curl answers by the address it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in\n'
        '  http://10.0.0.1/) echo "web server 1 ($HOST_SEEN)";;\n'
        '  http://10.0.0.2/) echo "web server 2";;\n'
        '  http://127.0.0.1/metrics) cat "$METRICS";;\n'
        "  https://*) printf 'http=204\\n';;\n"
        "esac; done\n"
    )
    (bin_dir / "ping").write_text("#!/bin/sh\nexit 1\n")
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    metrics = tmp_path / "metrics"
    metrics.write_text(METRICS_BUSY)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "METRICS": str(metrics), "HOST_SEEN": "x"}


def run_sh(script, env):
    return subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=20, check=True
    ).stdout


def test_alb_script_takes_the_addresses_in_turn(stubs):
    out = run_sh(alb_script(["10.0.0.1", "10.0.0.2"], "my-alb.example", 5), stubs)
    answers = [line for line in out.splitlines() if line]
    assert [a.split(" (")[0] for a in answers] == ["web server 1", "web server 2"] * 2 + [
        "web server 1"
    ]
    assert judge_alb(answers[:4], [(0, 1), (0, 2)], 4).passed


def test_alb_judge_tells_servers_of_different_vpcs_apart():
    # One ALB in front of two spokes (tgw-centralized): server 1 of VPC 1 is not server 1 of 2.
    keys = [(1, 1), (2, 1)]
    pages = ["web server 1 in application VPC 1"] * 4
    row = judge_alb(pages, keys, 4)
    assert not row.passed and "never answered: 2.1" in row.detail
    pages += ["web server 1 in application VPC 2"] * 4
    assert judge_alb(pages, keys, 8).passed


def test_internet_script_under_stubs(stubs):
    out = run_sh(INTERNET_SCRIPT.format(url="https://example.test/", host="192.0.2.1"), stubs)
    assert judge_internet(ok(out)) == (False, "https 204, ping failed")


def test_appliance_script_under_stubs(stubs):
    out = run_sh(APPLIANCE_SCRIPT, stubs)
    assert f"{FLOWS_METRIC} 41" in out
    assert re.search(r"^flowlog_lines=\d+$", out, re.MULTILINE)


# ---- the whole smoke test against moto ----------------------------------------------------------


class ScriptedSsm:
    """SSM Run Command whose answers are written by the test, per kind of command."""

    def __init__(self, answers):
        self.answers = answers  # comment keyword -> function(instance_id, script) -> Invocation
        self.sent = []
        self.polls = 0

    def send_command(self, InstanceIds, DocumentName, Parameters, Comment, TimeoutSeconds):  # noqa: N803
        assert DocumentName == "AWS-RunShellScript"
        command_id = f"cmd-{len(self.sent)}"
        self.sent.append(
            {
                "id": command_id,
                "instances": InstanceIds,
                "script": Parameters["commands"][0],
                "comment": Comment,
            }
        )
        return {"Command": {"CommandId": command_id}}

    def get_command_invocation(self, CommandId, InstanceId):  # noqa: N803
        self.polls += 1
        sent = next(s for s in self.sent if s["id"] == CommandId)
        if self.polls % 2:  # the first look finds it still running
            return {"Status": "InProgress"}
        key = next(k for k in self.answers if k in sent["comment"])
        invocation = self.answers[key](InstanceId, sent["script"])
        return {
            "Status": invocation.status,
            "StandardOutputContent": invocation.stdout,
            "StandardErrorContent": invocation.stderr,
        }


@pytest.fixture
def smoke_stack(admin):
    """Create the stand-in stack in a region; register the web servers in their target group."""

    def make(region, prefix="", spokes=False):
        name = f"smk-{uuid.uuid4().hex[:8]}"
        cfn = admin("cloudformation", region)
        resources_part, outputs_part = SMOKE_STACK.read_text().split("Outputs:\n")
        # separated-vpc names each application VPC's outputs App<k>...
        outputs_part = outputs_part.replace("  WebServer", f"  {prefix}WebServer")
        outputs_part = outputs_part.replace("  AlbUrl", f"  {prefix}AlbUrl")
        if spokes:  # tgw-centralized: server 1 of spoke 1, server 2 of spoke 2, one ALB
            outputs_part = outputs_part.replace("  WebServer1Id", "  App1WebServer1Id")
            outputs_part = outputs_part.replace("  WebServer2Id", "  App2WebServer2Id")
            outputs_part = outputs_part.replace("  AlbUrl", "  IngressAlbUrl")
        cfn.create_stack(StackName=name, TemplateBody=f"{resources_part}Outputs:\n{outputs_part}")
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        outputs = {o["OutputKey"].removeprefix(prefix): o["OutputValue"] for o in stack["Outputs"]}
        if spokes:  # the stand-in's own names, for the registration below
            outputs["WebServer1Id"] = outputs["App1WebServer1Id"]
            outputs["WebServer2Id"] = outputs["App2WebServer2Id"]
        resources = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        }
        admin("elbv2", region).register_targets(
            TargetGroupArn=resources["WebTargets"],
            Targets=[{"Id": outputs["WebServer1Id"]}, {"Id": outputs["WebServer2Id"]}],
        )
        return name, outputs, resources

    return make


def answers(flows=METRICS_BUSY, web_ok=True, log_lines=3):
    def alb(instance, script):
        count = int(re.search(r"-lt (\d+)", script).group(1))
        return ok("".join(f"web server {i % 2 + 1}\n" for i in range(count)))

    def internet(instance, script):
        if not web_ok:
            return Invocation(instance, "Undeliverable", "", "")
        return ok("http=200\nping=ok\n")

    return {
        "ALB": alb,
        "internet": internet,
        "appliance": lambda instance, script: ok(flows + f"flowlog_lines={log_lines}\n"),
    }


def smoke_clients(moto_url, ssm):
    import boto3

    def make(service, region):
        if service == "ssm":
            return ssm
        return boto3.client(service, region_name=region, endpoint_url=moto_url)

    return make


def table(out):
    rows = [line.split(None, 1) for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    return [(verdict, rest) for verdict, rest in rows]


def test_smoke_passes_from_here_in_aws(operate, moto_url, smoke_stack):
    name, outputs, _ = smoke_stack("us-east-1")
    ssm = ScriptedSsm(answers())
    fetched = []

    def fetch(url, timeout):
        fetched.append(url)
        return f"web server {len(fetched) % 2 + 1}\n"

    code, out, err = operate(
        "smoke",
        "--stack",
        name,
        "--region",
        "us-east-1",
        clients=smoke_clients(moto_url, ssm),
        fetch=fetch,
    )
    assert (code, err) == (0, ""), out
    assert fetched == [outputs["AlbUrl"]] * 8  # 4 requests per web server
    rows = table(out)
    assert [v for v, _ in rows] == ["PASS"] * 6
    assert "Smoke test: 6/6 passed" in out
    # each web server was asked to reach the aws partition's default URL and ping host
    internet = next(s for s in ssm.sent if "internet" in s["comment"])
    assert sorted(internet["instances"]) == sorted(
        [outputs["WebServer1Id"], outputs["WebServer2Id"]]
    )
    assert "https://checkip.amazonaws.com/" in internet["script"]
    appliance = next(s for s in ssm.sent if "appliance" in s["comment"])
    assert len(appliance["instances"]) == 2  # both in-service appliances of the group
    assert ssm.sent[-1] is appliance  # flows are counted last, after the traffic


def test_smoke_of_a_separated_set_names_each_application_vpc(operate, moto_url, smoke_stack):
    name, outputs, _ = smoke_stack("us-east-1", prefix="App1")
    pages = itertools.cycle(
        ["web server 1 in application VPC 1", "web server 2 in application VPC 1"]
    )
    code, out, err = operate(
        "smoke",
        "--stack",
        name,
        "--region",
        "us-east-1",
        clients=smoke_clients(moto_url, ScriptedSsm(answers())),
        fetch=lambda url, timeout: next(pages),
    )
    assert (code, err) == (0, ""), out
    targets = [rest for _, rest in table(out)]
    assert any(t.startswith("ALB alternates") and outputs["AlbUrl"] in t for t in targets)
    assert any(f"App1 web server 1 ({outputs['WebServer1Id']})" in t for t in targets)
    assert any(f"App1 web server 2 ({outputs['WebServer2Id']})" in t for t in targets)


def test_smoke_of_spokes_checks_the_shared_alb_and_east_west(admin, operate, moto_url, smoke_stack):
    name, outputs, _ = smoke_stack("us-east-1", spokes=True)
    ec2 = admin("ec2", "us-east-1")
    one, two = outputs["App1WebServer1Id"], outputs["App2WebServer2Id"]
    described = ec2.describe_instances(InstanceIds=[one, two])["Reservations"]
    address = {i["InstanceId"]: i["PrivateIpAddress"] for r in described for i in r["Instances"]}
    page = {
        address[one]: "web server 1 in application VPC 1",
        address[two]: "web server 2 in application VPC 2",
    }
    fetched = []

    def east_west(instance, script):
        (ip,) = re.findall(r"http://([0-9.]+)/", script)
        fetched.append((instance, ip))
        return ok(page[ip] + "\n")

    pages = itertools.cycle(page.values())
    code, out, err = operate(
        "smoke",
        "--stack",
        name,
        "--region",
        "us-east-1",
        clients=smoke_clients(moto_url, ScriptedSsm({**answers(), "east-west": east_west})),
        fetch=lambda url, timeout: next(pages),
    )
    assert (code, err) == (0, ""), out
    rows = table(out)
    alb = [rest for _, rest in rows if rest.startswith("ALB alternates")]
    assert len(alb) == 1 and outputs["IngressAlbUrl"] in alb[0]
    assert "server:count 1.1:4, 2.2:4" in alb[0]
    # Each spoke's server fetched the other's page by its private address, through the TGW.
    assert sorted(fetched) == sorted([(one, address[two]), (two, address[one])])
    east = [(v, rest) for v, rest in rows if rest.startswith("east-west")]
    assert [v for v, _ in east] == ["PASS", "PASS"]
    assert "App1 web server 1 -> App2 web server 2" in east[0][1]


def test_smoke_of_spokes_fails_when_the_wrong_server_answers(admin, operate, moto_url, smoke_stack):
    name, outputs, _ = smoke_stack("us-east-1", spokes=True)
    pages = itertools.cycle(
        ["web server 1 in application VPC 1", "web server 2 in application VPC 2"]
    )

    def wrong(instance, script):  # the request never left its own VPC
        return ok("web server 1 in application VPC 1\n")

    code, out, _ = operate(
        "smoke",
        "--stack",
        name,
        "--region",
        "us-east-1",
        clients=smoke_clients(moto_url, ScriptedSsm({**answers(), "east-west": wrong})),
        fetch=lambda url, timeout: next(pages),
    )
    assert code == 1
    east = [(v, rest) for v, rest in table(out) if rest.startswith("east-west")]
    assert east[0][0] == "FAIL" and "answered by App1 web server 1" in east[0][1]


def test_smoke_in_china_asks_the_alb_from_inside_the_vpc(admin, operate, moto_url, smoke_stack):
    region = "cn-north-1"
    name, outputs, resources = smoke_stack(region)
    alb_id = resources["Alb"].split(":loadbalancer/")[1]
    ec2 = admin("ec2", region)
    subnet = resources["Subnet1"]
    for address in ("10.20.1.50", "10.20.1.60"):  # moto makes no ALB interfaces itself
        ec2.create_network_interface(
            SubnetId=subnet, PrivateIpAddress=address, Description=f"ELB {alb_id}"
        )
    ssm = ScriptedSsm(answers())

    def no_fetch(url, timeout):
        raise AssertionError("in China the ALB is not asked from here by default")

    code, out, err = operate(
        "smoke",
        "--stack",
        name,
        "--region",
        region,
        clients=smoke_clients(moto_url, ssm),
        fetch=no_fetch,
    )
    assert (code, err) == (0, ""), out
    alb = next(s for s in ssm.sent if "ALB" in s["comment"])
    assert alb["instances"] == [outputs["WebServer1Id"]]
    assert "set -- 10.20.1.50 10.20.1.60;" in alb["script"]
    host = outputs["AlbUrl"].removeprefix("http://").rstrip("/")
    assert f"'Host: {host}'" in alb["script"]
    assert (
        "https://www.amazonaws.cn/"
        in next(s for s in ssm.sent if "internet" in s["comment"])["script"]
    )


def test_smoke_failures_fill_the_table_and_exit_1(admin, operate, moto_url, smoke_stack):
    name, outputs, _ = smoke_stack("us-east-1")
    admin("ec2", "us-east-1").stop_instances(InstanceIds=[outputs["WebServer2Id"]])
    ssm = ScriptedSsm(answers(flows=METRICS_IDLE, web_ok=False, log_lines=0))
    code, out, err = operate(
        "smoke",
        "--stack",
        name,
        "--region",
        "us-east-1",
        clients=smoke_clients(moto_url, ssm),
        fetch=lambda url, timeout: "web server 1\n",
    )
    assert (code, err) == (1, "")
    rows = table(out)
    assert all(v == "FAIL" for v, _ in rows)
    details = "\n".join(rest for _, rest in rows)
    assert "never answered: 2" in details
    assert "SSM Undeliverable" in details
    assert "1/2 healthy" in details and "Target.InvalidState" in details
    assert "flows 0, packets 0, flow log 0 lines" in details

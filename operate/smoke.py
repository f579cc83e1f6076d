"""make smoke: the seed's manual test plan run through the AWS APIs against a deployed stack."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from operate.aws import api_errors, check_caller, describe_stack, outputs_of
from operate.context import Context
from operate.errors import OperateError, StackNotFound, UsageError
from operate.events import STACK_TYPE
from operate.ssm import Invocation, run_script
from operate.view import Row
from publisher.errors import PublishError
from publisher.naming import validate_stack_name

READY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ASG = "AWS::AutoScaling::AutoScalingGroup"
# What each web server's page says (generator/stacks: "web server N").
_WEB_ANSWER = re.compile(r"web server (\d+)")
# single-vpc: WebServer1Id, AlbUrl; separated-vpc: App1WebServer1Id, App1AlbUrl, per app VPC.
_WEB_ID_OUTPUT = re.compile(r"(?P<app>(App\d+)?)WebServer(?P<n>\d+)Id")
# Counters the appliance serves on GET /metrics (appliance/cli.py).
FLOWS_METRIC = "gwlb_appliance_flows_created_total"
PACKETS_METRIC = "gwlb_appliance_packets_received_total"
FLOW_LOG = "/var/log/gwlb-appliance/flows.log"
# Hosts that answer from each partition; ICMP is not answered by most AWS endpoints, hence a
# public resolver for ping. Both are flags.
INTERNET_DEFAULTS = {
    "aws": ("https://checkip.amazonaws.com/", "1.1.1.1"),
    "aws-cn": ("https://www.amazonaws.cn/", "223.5.5.5"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--requests", type=int, default=0, help="ALB requests (default 4 per server)")
    p.add_argument(
        "--alb-from",
        choices=("auto", "here", "vpc"),
        default="auto",
        help="request the ALB from this machine, or from web server 1 through Session Manager "
        "to the ALB's private addresses (no ICP filing needed); auto: vpc in aws-cn",
    )
    p.add_argument("--internet-url", help="URL each web server fetches (default per partition)")
    p.add_argument("--ping-host", help="host each web server pings (default per partition)")
    p.add_argument("--command-timeout", type=float, default=180, help="seconds per SSM command")


def validate(args: argparse.Namespace) -> None:
    try:
        validate_stack_name(args.stack)
    except PublishError as error:
        raise UsageError(str(error)) from None
    if args.requests < 0:
        raise UsageError("--requests must be 0 (automatic) or more")
    if args.ping_host and not re.fullmatch(r"[A-Za-z0-9.:-]+", args.ping_host):
        raise UsageError(f"invalid --ping-host {args.ping_host!r}")


# ---- pure evaluation of what came back -------------------------------------------------------


@dataclass(frozen=True)
class Application:
    """The web servers behind one ALB: the whole single-vpc set, or one application VPC."""

    prefix: str  # "" or "App<k>"
    alb_url: str
    servers: dict[int, str]  # web server number -> instance id

    def name(self, number: int) -> str:
        where = f"{self.prefix} " if self.prefix else ""
        return f"{where}web server {number}"


def applications(outputs: dict[str, str]) -> list[Application]:
    """Group the WebServer<N>Id outputs by application VPC, each with its AlbUrl."""
    found: dict[str, dict[int, str]] = {}
    for key, value in outputs.items():
        if m := _WEB_ID_OUTPUT.fullmatch(key):
            found.setdefault(m.group("app"), {})[int(m.group("n"))] = value
    return [
        Application(prefix, outputs.get(f"{prefix}AlbUrl", ""), dict(sorted(servers.items())))
        for prefix, servers in sorted(found.items(), key=lambda item: _app_number(item[0]))
    ]


def _app_number(prefix: str) -> int:
    return int(prefix[3:]) if prefix else 0


def judge_alb(answers: Sequence[str], servers: Sequence[int], requests: int) -> Row:
    """PASS when every web server answered and no request failed."""
    seen = [int(m.group(1)) for a in answers if (m := _WEB_ANSWER.search(a))]
    failed = requests - len(seen)
    missing = sorted(set(servers) - set(seen))
    counts = ", ".join(f"{n}:{seen.count(n)}" for n in sorted(set(seen))) or "none"
    detail = f"{len(seen)}/{requests} answered (server:count {counts})"
    if missing:
        detail += f"; never answered: {', '.join(map(str, missing))}"
    if failed:
        detail += f"; {failed} failed"
    return Row("ALB alternates", "", not missing and failed == 0 and bool(servers), detail)


def judge_internet(invocation: Invocation) -> tuple[bool, str]:
    """The script prints http=<code> and ping=ok|fail."""
    if not invocation.ok:
        return False, f"SSM {invocation.status}: {invocation.stderr.strip()[:120]}"
    http = re.search(r"http=(\d{3})", invocation.stdout)
    ping = re.search(r"ping=(ok|fail)", invocation.stdout)
    code = http.group(1) if http else "none"
    http_ok = bool(http) and code[0] in "23"
    ping_ok = bool(ping) and ping.group(1) == "ok"
    detail = f"https {code}, ping {'ok' if ping_ok else 'failed'}"
    return http_ok and ping_ok, detail


def judge_appliance(invocation: Invocation) -> tuple[bool, str]:
    """Flows seen: the appliance counted created flows, or its flow log has lines."""
    if not invocation.ok:
        return False, f"SSM {invocation.status}: {invocation.stderr.strip()[:120]}"

    def number(name: str) -> int | None:
        found = re.search(rf"^{name} (\d+)", invocation.stdout, re.MULTILINE)
        return int(found.group(1)) if found else None

    flows, packets = number(FLOWS_METRIC), number(PACKETS_METRIC)
    log = re.search(r"flowlog_lines=(\d+)", invocation.stdout)
    lines = int(log.group(1)) if log else 0
    if flows is None and not lines:
        return False, "no /metrics answer on port 80 and no flow log lines"
    detail = f"flows {flows if flows is not None else '?'}, packets {packets or 0}, "
    detail += f"flow log {lines} lines"
    return bool(flows) or lines > 0, detail


def judge_targets(name: str, health: Sequence[dict[str, Any]]) -> Row:
    states = [h.get("TargetHealth", {}) for h in health]
    healthy = sum(1 for s in states if s.get("State") == "healthy")
    detail = f"{healthy}/{len(states)} healthy"
    bad = [
        f"{h['Target']['Id']} {s.get('State')} ({s.get('Reason', '')})"
        for h, s in zip(health, states, strict=True)
        if s.get("State") != "healthy"
    ]
    if bad:
        detail += "; " + "; ".join(bad)
    return Row("target group healthy", name, bool(states) and healthy == len(states), detail)


INTERNET_SCRIPT = (
    "curl -sS -o /dev/null -m 15 -w 'http=%{{http_code}}\\n' {url} || echo http=000\n"
    "ping -c 3 -W 3 {host} >/dev/null 2>&1 && echo ping=ok || echo ping=fail\n"
)
APPLIANCE_SCRIPT = (
    "curl -s -m 5 http://127.0.0.1/metrics | grep -E '^gwlb_appliance_' || true\n"
    f"echo flowlog_lines=$(cat {FLOW_LOG} 2>/dev/null | wc -l)\n"
)


def alb_script(addresses: Sequence[str], host: str, requests: int) -> str:
    """Requests from inside the VPC to the ALB's own private addresses, in turn."""
    targets = " ".join(shlex.quote(a) for a in addresses)
    return (
        f"set -- {targets}; n=$#; i=0\n"
        f"while [ $i -lt {requests} ]; do\n"
        "  eval ip=\\${$((i % n + 1))}\n"
        f"  curl -s -m 5 -H {shlex.quote('Host: ' + host)} http://$ip/ ; echo\n"
        "  i=$((i + 1))\n"
        "done\n"
    )


# ---- I/O ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackResource:
    path: str
    logical_id: str
    resource_type: str
    physical_id: str


def stack_resources(cfn: Any, stack: str, path: str = "") -> list[StackResource]:
    """Every resource of the stack and of its nested stacks."""
    found: list[StackResource] = []
    arguments: dict[str, Any] = {"StackName": stack}
    while True:
        with api_errors(f"cloudformation:ListStackResources {stack}"):
            page = cfn.list_stack_resources(**arguments)
        for item in page.get("StackResourceSummaries") or []:
            resource = StackResource(
                path,
                item["LogicalResourceId"],
                item["ResourceType"],
                item.get("PhysicalResourceId") or "",
            )
            found.append(resource)
            if resource.resource_type == STACK_TYPE and resource.physical_id:
                inner = f"{path}/{resource.logical_id}" if path else resource.logical_id
                found += stack_resources(cfn, resource.physical_id, inner)
        if not page.get("NextToken"):
            return found
        arguments["NextToken"] = page["NextToken"]


def run(args: argparse.Namespace, ctx: Context) -> int:
    validate(args)
    check_caller(ctx.client("sts"), ctx.region)
    cfn = ctx.client("cloudformation")
    stack = describe_stack(cfn, args.stack)
    if stack is None:
        raise StackNotFound(f"stack {args.stack} does not exist in {ctx.region}")
    if stack["StackStatus"] not in READY:
        raise UsageError(f"stack {args.stack} is {stack['StackStatus']}: smoke needs it deployed")
    outputs = outputs_of(stack)
    resources = stack_resources(cfn, stack["StackId"])
    apps = applications(outputs)
    if not apps:
        raise UsageError(f"stack {args.stack} has no WebServer<N>Id outputs: not a GWLB set")
    url, host = INTERNET_DEFAULTS[ctx.partition]
    url, host = args.internet_url or url, args.ping_host or host
    count = sum(len(app.servers) for app in apps)
    alb_from = (
        args.alb_from
        if args.alb_from != "auto"
        else ("vpc" if ctx.partition == "aws-cn" else "here")
    )
    ctx.view.message(f"Smoke test of {args.stack} in {ctx.region}: {count} web servers")

    rows: list[Row] = []
    for app in apps:
        requests = args.requests or 4 * len(app.servers)
        rows += guarded(
            "ALB alternates",
            lambda app=app, n=requests: check_alb(ctx, app, resources, n, alb_from, args),
        )
    rows += guarded("web server internet", lambda: check_internet(ctx, apps, url, host, args))
    rows += guarded("target group healthy", lambda: check_targets(ctx, resources))
    # Last, so the requests above have made flows for the appliances to count.
    rows += guarded("appliance saw flows", lambda: check_appliances(ctx, outputs, resources, args))
    passed = sum(r.passed for r in rows)
    ctx.view.table(f"Smoke test: {passed}/{len(rows)} passed", rows)
    ok = passed == len(rows) and bool(rows)
    ctx.view.result({"operation": "smoke", "ok": ok, "passed": passed, "total": len(rows)})
    return 0 if ok else 1


def guarded(check: str, make_rows: Any) -> list[Row]:
    """A check that cannot run is a FAIL row with the reason, not the end of the smoke test."""
    try:
        return make_rows()
    except OperateError as error:
        return [Row(check, "", False, str(error))]


def check_alb(
    ctx: Context,
    app: Application,
    resources: list[StackResource],
    requests: int,
    alb_from: str,
    args: argparse.Namespace,
) -> list[Row]:
    alb_url, servers = app.alb_url, list(app.servers)
    if not alb_url:
        return [Row("ALB alternates", app.prefix, False, f"no {app.prefix}AlbUrl output")]
    if alb_from == "here":
        answers = []
        for _ in range(requests):
            try:
                answers.append(ctx.fetch(alb_url, 5.0))
            except OSError:
                answers.append("")
        row = judge_alb(answers, servers, requests)
        return [Row(row.check, f"{alb_url} from here", row.passed, row.detail)]
    balancers = [r.physical_id for r in resources if r.resource_type == LOAD_BALANCER]
    if not balancers:
        return [Row("ALB alternates", "", False, "no load balancer in the stack")]
    elb = ctx.client("elbv2")
    with api_errors("elbv2:DescribeLoadBalancers"):
        described_all = elb.describe_load_balancers(LoadBalancerArns=balancers)["LoadBalancers"]
    # The ALB of this application is the one whose DNS name its AlbUrl output carries.
    alb = next((b for b in described_all if b["DNSName"] in alb_url), None)
    if alb is None:
        return [Row("ALB alternates", alb_url, False, "no load balancer of the stack has it")]
    # An ALB's network interfaces are described "ELB app/<name>/<id>".
    described = "ELB " + alb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    with api_errors("ec2:DescribeNetworkInterfaces"):
        interfaces = ctx.client("ec2").describe_network_interfaces(
            Filters=[{"Name": "description", "Values": [described]}]
        )["NetworkInterfaces"]
    addresses = sorted(i["PrivateIpAddress"] for i in interfaces if i.get("PrivateIpAddress"))
    if not addresses:
        return [Row("ALB alternates", described, False, "no ALB network interface found")]
    source = app.servers[servers[0]]
    result = run_script(
        ctx.client("ssm"),
        [source],
        alb_script(addresses, alb["DNSName"], requests),
        comment="gwlb smoke: ALB from inside the VPC",
        clock=ctx.clock,
        sleep=ctx.sleep,
        timeout_seconds=args.command_timeout,
    )[source]
    target = f"{', '.join(addresses)} from {app.name(servers[0])}"
    if not result.ok:
        return [Row("ALB alternates", target, False, f"SSM {result.status}")]
    row = judge_alb(result.stdout.splitlines(), servers, requests)
    return [Row(row.check, target, row.passed, row.detail)]


def check_internet(
    ctx: Context, apps: list[Application], url: str, host: str, args: argparse.Namespace
) -> list[Row]:
    instances = {
        instance: app.name(number) for app in apps for number, instance in app.servers.items()
    }
    results = run_script(
        ctx.client("ssm"),
        list(instances),
        INTERNET_SCRIPT.format(url=shlex.quote(url), host=shlex.quote(host)),
        comment="gwlb smoke: internet from web servers",
        clock=ctx.clock,
        sleep=ctx.sleep,
        timeout_seconds=args.command_timeout,
    )
    rows = []
    for instance, name in instances.items():
        passed, detail = judge_internet(results[instance])
        rows.append(Row("web server internet", f"{name} ({instance})", passed, detail))
    return rows


def check_targets(ctx: Context, resources: list[StackResource]) -> list[Row]:
    groups = [r for r in resources if r.resource_type == TARGET_GROUP]
    if not groups:
        return [Row("target group healthy", "", False, "no target group in the stack")]
    elb = ctx.client("elbv2")
    rows = []
    for group in groups:
        with api_errors(f"elbv2:DescribeTargetHealth {group.logical_id}"):
            health = elb.describe_target_health(TargetGroupArn=group.physical_id)
        rows.append(judge_targets(group.logical_id, health.get("TargetHealthDescriptions") or []))
    return rows


def check_appliances(
    ctx: Context, outputs: dict[str, str], resources: list[StackResource], args: argparse.Namespace
) -> list[Row]:
    names = [outputs["ApplianceGroupName"]] if outputs.get("ApplianceGroupName") else []
    names = names or [r.physical_id for r in resources if r.resource_type == ASG]
    if not names:
        return [Row("appliance saw flows", "", False, "no appliance Auto Scaling group")]
    with api_errors("autoscaling:DescribeAutoScalingGroups"):
        groups = ctx.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=names
        )["AutoScalingGroups"]
    instances = [
        i["InstanceId"]
        for g in groups
        for i in g.get("Instances") or []
        if i.get("LifecycleState") == "InService"
    ]
    if not instances:
        return [Row("appliance saw flows", ", ".join(names), False, "no appliance in service")]
    results = run_script(
        ctx.client("ssm"),
        instances,
        APPLIANCE_SCRIPT,
        comment="gwlb smoke: appliance flows",
        clock=ctx.clock,
        sleep=ctx.sleep,
        timeout_seconds=args.command_timeout,
    )
    rows = []
    for instance in instances:
        passed, detail = judge_appliance(results[instance])
        rows.append(Row("appliance saw flows", f"appliance {instance}", passed, detail))
    return rows

"""make smoke: the seed's manual test plan run through the AWS APIs against a deployed stack."""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from typing import Any

from core.naming import ALB_URL_OUTPUT, prefixed
from core.sets import STACK_TYPE
from operate.aws import (
    api_errors,
    checked_stack_name,
    existing_stack,
    outputs_of,
)
from operate.context import Context
from operate.errors import OperateError, UsageError
from operate.lines import Row
from operate.smoke_east_west import check_east_west
from operate.smoke_judge import (
    APPLIANCE_SCRIPT,
    INTERNET_SCRIPT,
    Application,
    ServerKey,
    alb_script,
    alb_targets,
    applications,
    judge_alb,
    judge_appliance,
    judge_internet,
    judge_targets,
    key_name,
    shared_alb,
)
from operate.ssm import run_script

READY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ASG = "AWS::AutoScaling::AutoScalingGroup"
# Hosts that answer from each partition; ICMP is not answered by most AWS endpoints, hence a
# public resolver for ping. Both are flags.
INTERNET_DEFAULTS = {
    "aws": ("https://checkip.amazonaws.com/", "1.1.1.1"),
    "aws-cn": ("https://www.amazonaws.cn/", "223.5.5.5"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requests", type=int, default=0, help="ALB requests (default 4 per server)"
    )
    parser.add_argument(
        "--alb-from",
        choices=("auto", "here", "vpc"),
        default="auto",
        help="request the ALB from this machine, or from web server 1 through Session Manager "
        "to the ALB's private addresses (no ICP filing needed); auto: vpc in aws-cn",
    )
    parser.add_argument(
        "--internet-url", help="URL each web server fetches (default per partition)"
    )
    parser.add_argument("--ping-host", help="host each web server pings (default per partition)")
    parser.add_argument(
        "--command-timeout", type=float, default=180, help="seconds per SSM command"
    )


def validate(args: argparse.Namespace) -> None:
    checked_stack_name(args.stack)
    if args.requests < 0:
        raise UsageError("--requests must be 0 (automatic) or more")
    if args.ping_host and not re.fullmatch(r"[A-Za-z0-9.:-]+", args.ping_host):
        raise UsageError(f"invalid --ping-host {args.ping_host!r}")


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
    cfn, stack = existing_stack(ctx.client, ctx.region, args.stack)
    if stack["StackStatus"] not in READY:
        raise UsageError(f"stack {args.stack} is {stack['StackStatus']}: smoke needs it deployed")
    ctx.record.stack_id = stack["StackId"]
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
    shared = shared_alb(outputs, apps)
    for app in [shared] if shared else apps:
        targets = alb_targets(app, apps)
        requests = args.requests or 4 * len(targets)
        rows += guarded(
            "ALB alternates",
            lambda app=app, t=targets, n=requests: check_alb(
                ctx, app, t, resources, n, alb_from, args
            ),
        )
    rows += guarded("web server internet", lambda: check_internet(ctx, apps, url, host, args))
    if shared:  # spokes behind a transit gateway: their traffic to each other is inspected too
        rows += guarded("east-west", lambda: check_east_west(ctx, apps, args))
    rows += guarded("target group healthy", lambda: check_targets(ctx, resources))
    # Last, so the requests above have made flows for the appliances to count.
    rows += guarded("appliance saw flows", lambda: check_appliances(ctx, outputs, resources, args))
    passed = sum(r.passed for r in rows)
    ctx.view.table(f"Smoke test: {passed}/{len(rows)} passed", rows)
    ok = passed == len(rows) and bool(rows)
    ctx.record.status = f"{passed}/{len(rows)} PASSED"
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
    targets: dict[ServerKey, str],
    resources: list[StackResource],
    requests: int,
    alb_from: str,
    args: argparse.Namespace,
) -> list[Row]:
    alb_url, servers = app.alb_url, list(targets)
    if not alb_url:
        return [
            Row(
                "ALB alternates",
                app.prefix,
                False,
                f"no {prefixed(app.prefix, ALB_URL_OUTPUT)} output",
            )
        ]
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
    source = targets[servers[0]]
    result = run_script(
        ctx.client("ssm"),
        [source],
        alb_script(addresses, alb["DNSName"], requests),
        comment="gwlb smoke: ALB from inside the VPC",
        clock=ctx.clock,
        sleep=ctx.sleep,
        timeout_seconds=args.command_timeout,
    )[source]
    target = f"{', '.join(addresses)} from {key_name(servers[0])}"
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

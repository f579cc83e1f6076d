"""make smoke on tgw-centralized: east-west between two spokes. A web server of the first spoke
fetches a web server of the last spoke's page by its private address, and back; each request
crosses the transit gateway and the inspection VPC both ways."""

from __future__ import annotations

import argparse
import shlex

from operate.aws import api_errors
from operate.context import Context
from operate.lines import Row
from operate.smoke_judge import Application, ServerKey, answered, key_name
from operate.ssm import run_script

CHECK = "east-west"


def pairs(apps: list[Application]) -> list[tuple[ServerKey, ServerKey]]:
    """First spoke's first server to the last spoke's last server, and back: with two or more
    zones, the two ends are in different zones, the case appliance mode exists for."""
    if len(apps) < 2 or not apps[0].servers or not apps[-1].servers:
        return []
    first = min(apps[0].keys())
    last = max(apps[-1].keys())
    return [(first, last), (last, first)]


def fetch_script(address: str) -> str:
    return f"curl -s -m 10 http://{shlex.quote(address)}/ || echo fetch=failed\n"


def judge(expected: ServerKey, stdout: str, ok: bool, status: str) -> tuple[bool, str]:
    if not ok:
        return False, f"SSM {status}"
    got = answered(stdout)
    if got is None:
        return False, f"no page: {stdout.strip()[:80] or 'empty answer'}"
    return got == expected, f"answered by {key_name(got)}"


def check_east_west(ctx: Context, apps: list[Application], args: argparse.Namespace) -> list[Row]:
    found = pairs(apps)
    if not found:
        return [Row(CHECK, "", False, "fewer than two spokes with web servers")]
    instances = {key: i for app in apps for key, i in app.keys().items()}
    wanted = sorted({instances[key] for pair in found for key in pair})
    with api_errors("ec2:DescribeInstances"):
        pages = ctx.client("ec2").describe_instances(InstanceIds=wanted)["Reservations"]
    address = {
        i["InstanceId"]: i.get("PrivateIpAddress", "") for r in pages for i in r["Instances"]
    }
    rows = []
    for source, target in found:
        where = f"{key_name(source)} -> {key_name(target)}"
        if not address.get(instances[target]):
            rows.append(Row(CHECK, where, False, "target has no private address"))
            continue
        result = run_script(
            ctx.client("ssm"),
            [instances[source]],
            fetch_script(address[instances[target]]),
            comment="gwlb smoke: east-west between spokes",
            clock=ctx.clock,
            sleep=ctx.sleep,
            timeout_seconds=args.command_timeout,
        )[instances[source]]
        passed, detail = judge(target, result.stdout, result.ok, result.status)
        rows.append(Row(CHECK, where, passed, detail))
    return rows

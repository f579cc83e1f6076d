"""`python -m lab DIR [--policy FILE] [--keep] ...`: build a rendered set's network in namespaces,
run the test plan through the GWLB emulator and the set's appliance, print the PASS/FAIL table.
`python -m lab --cleanup` removes what a killed lab left behind."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from lab import (
    checks,
    cleanup,
    drill,
    eastwest,
    keep,
    plan,
    plan6,
    roles,
    rolling,
    rows,
    through_alb,
)
from lab.cloudinit import BootError
from lab.hosts import StartError
from lab.reading import read_set
from lab.session import Session
from verify.errors import SetError

READY_TIMEOUT = 20.0


class Stop(Exception):
    """SIGTERM or SIGINT: unwind, so that every namespace and process goes."""


def _on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def _parameter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lab",
        description="Run a rendered template set's data path offline in network namespaces "
        "(root): VPC routing, security groups and network ACLs, NAT and internet gateways, a "
        "GWLB emulator in front of the appliance its user data ships, web servers, ALB nodes "
        "and the bastion; then the test plan, as a PASS/FAIL table. Exits 1 on any failure, "
        "2 on bad input or a set AWS would refuse.",
    )
    parser.add_argument("directory", type=Path, nargs="?", help="a set, e.g. output/aws/single-vpc")
    parser.add_argument("--master", help="the master template's file name, when several could be")
    parser.add_argument(
        "--parameter",
        action="append",
        type=_parameter,
        default=[],
        metavar="KEY=VALUE",
        help="a master parameter's value (repeatable); the others take their defaults",
    )
    parser.add_argument("--policy", type=Path, help="run the appliances with this policy file")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="after the table, keep the lab up until Ctrl-C and print commands to use",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.1,
        help="health-check intervals and timeouts are the target groups' times "
        "this (default 0.1: a 10 s interval becomes 1 s); thresholds are unchanged",
    )
    parser.add_argument(
        "--no-security-groups",
        action="store_true",
        help="do not enforce the set's security groups and network ACLs (diagnosis only)",
    )
    parser.add_argument(
        "--no-drill",
        action="store_true",
        help="skip steps 5 and 6 (stop and restart the appliances; roll the fleet under "
        "long-lived flows)",
    )
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="remove the namespaces, processes and scratch directories of labs that were killed",
    )
    return parser.parse_args(argv)


def _machine_problem() -> str:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces)"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if not shutil.which(tool):
            return f"`{tool}` is missing (apt-get install -y {package})"
    return ""


def _problem(args: argparse.Namespace) -> str:
    if args.directory is None:
        return "give a set's directory (or --cleanup)"
    if not args.directory.is_dir():
        return f"{args.directory} is not a directory"
    if args.policy is not None:
        try:
            json.loads(args.policy.read_text())
        except OSError as exc:
            return f"--policy {args.policy}: {exc.strerror}"
        except ValueError as exc:
            return f"--policy {args.policy}: not JSON ({exc})"
    if not 0.01 <= args.time_scale <= 1:
        return "--time-scale must lie between 0.01 and 1"
    return ""


def run_plan(
    session: Session, found: roles.Roles, with_drill: bool, base64_user_data: tuple[str, ...] = ()
) -> list[rows.Row]:
    steps = plan.Plan(session, found)
    foreign = {host.id for host in found.foreign_appliances}
    for host in found.appliances:
        if host.id in base64_user_data and host.id not in foreign:
            steps.add(
                rows.Row(
                    "0 start",
                    f"{host.name}: our appliance bundle, from its base64 user data",
                    True,
                    appliance=host.name,
                    detail="decoded as EC2 does; the bundle runs, not the stand-in",
                )
            )
    for host in found.foreign_appliances:
        steps.add(
            rows.Row(
                "0 start",
                f"{host.name}: not our appliance; ours runs in its place, allow-all",
                True,
                appliance=host.name,
                detail="the verdicts speak about the set's routing, groups and GWLB",
            )
        )
    steps.egress()
    steps.readiness()
    through_alb.step(steps)
    steps.bastion()
    eastwest.step(steps)
    checks.sizes(steps)
    plan6.steps(steps)  # a dual-stack set's IPv6 rows
    checks.appliance_evidence(steps)
    if with_drill:
        drill.drill(steps)
        rolling.drill(steps)
    return steps.rows


def _wait_for_signal() -> None:
    done = threading.Event()
    while not done.wait(3600):
        pass


def _report(args, model, session: Session, table: list[rows.Row], elapsed: float) -> None:
    print(
        f"lab: {args.directory} ({len(model.vpcs)} VPC, {len(model.endpoints)} GWLB endpoints,"
        f" {len(model.hosts_of('appliance'))} appliances under {session.python_note};"
        f" health-check times x{args.time_scale:g})"
    )
    if model.transit_gateways:
        print(
            f"lab: {len(model.transit_gateways)} transit gateway, {len(model.tgw_attachments)}"
            f" VPC attachments (appliance mode on {_appliance_mode(model)})"
        )
    if args.policy:
        print(f"lab: appliances run with policy {args.policy}")
    if args.no_security_groups:
        print("lab: security groups and network ACLs NOT enforced (--no-security-groups)")
    else:
        print("lab: security groups enforced in every host and ALB node, network ACLs in routers")
    print(rows.table(table))
    passed, blocked, failed = rows.summary(table)
    print(f"lab: {passed} PASS, {blocked} BLOCKED, {failed} FAIL; verdict in {elapsed:.1f} s")


def _appliance_mode(model) -> str:
    on = sorted(a.label for a in model.tgw_attachments.values() if a.appliance_mode)
    return ", ".join(on) or "none"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cleanup:
        return cleanup.main()
    problem = _problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        reading = read_set(args.directory, args.master, dict(args.parameter))
    except SetError as exc:
        where = "" if str(exc).startswith(str(args.directory)) else f"{args.directory}: "
        print(f"error: {where}{exc}", file=sys.stderr)
        return 2
    for refusal in reading.refusals:
        print(f"error: {args.directory}: refused as AWS would: {refusal}", file=sys.stderr)
    if reading.refusals:
        return 2
    for drop in reading.accepted_drops:
        print(f"lab: {args.directory}: AWS accepts, then drops: {drop}")
    model, found = reading.model, reading.roles
    problem = _machine_problem()  # after reading: a set's faults show without root too
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    policy = args.policy.read_bytes() if args.policy else None
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    session: Session | None = None
    try:
        session = Session(
            model,
            args.time_scale,
            policy,
            security_groups=not args.no_security_groups,
            stand_ins=tuple(host.id for host in found.foreign_appliances),
        )
        session.up()
        missing = session.wait_ready(READY_TIMEOUT)
        table = [
            rows.Row(
                "0 start",
                "every appliance healthy, every service running",
                not missing,
                detail="; ".join(missing),
            )
        ]
        given = tuple(reading.base64_user_data)
        table += run_plan(session, found, not args.no_drill, given)
        _report(args, model, session, table, time.monotonic() - started)
        if args.keep:
            print("lab: kept up until Ctrl-C. Try:")
            print("\n".join(keep.commands(session)), flush=True)
            _wait_for_signal()
        return 1 if any(not row.ok for row in table) else 0
    except Stop as exc:
        print(f"lab: stopped by {exc}; cleaning up", file=sys.stderr)
        return 0 if args.keep else 130
    except (StartError, BootError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        if session is not None:
            session.down()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

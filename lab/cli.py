"""`python -m lab DIR [--policy FILE] [--keep]`: build a rendered set's network in namespaces, run
the test plan through the GWLB emulator and the shipped appliance, print the PASS/FAIL table."""

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

from core.naming import MASTER_FILE
from lab import addresses as A
from lab import drill, plan
from lab.cloudinit import BootError
from lab.hosts import StartError
from lab.session import Session
from lab.support import emulated
from verify import reader
from verify.errors import SetError
from verify.model import SetModel

READY_TIMEOUT = 20.0


class Stop(Exception):
    """SIGTERM or SIGINT: unwind, so that every namespace and process goes."""


def _on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m lab",
        description="Run a rendered template set's data path offline in network namespaces "
        "(root): VPC routing, NAT and internet gateways, a GWLB emulator in front of the "
        "appliance its user data ships, web servers, ALB nodes and the bastion; then the seed's "
        "test plan, as a PASS/FAIL table. Exits 1 on any failure.",
    )
    p.add_argument("directory", type=Path, help="a rendered set, e.g. output/aws/single-vpc")
    p.add_argument("--policy", type=Path, help="run the appliances with this policy file")
    p.add_argument(
        "--keep",
        action="store_true",
        help="after the table, keep the lab up until Ctrl-C and print commands to use",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.1,
        help="health-check intervals and timeouts are the target groups' times "
        "this (default 0.1: a 10 s interval becomes 1 s); thresholds are unchanged",
    )
    p.add_argument(
        "--security-groups",
        action="store_true",
        help="enforce the set's security groups in each host (nftables); probes they stop "
        "are BLOCKED rows, not failures, unless they leave a pair no way through",
    )
    p.add_argument(
        "--no-drill", action="store_true", help="skip step 5 (stop and restart the appliances)"
    )
    return p.parse_args(argv)


def _problem(args: argparse.Namespace) -> str:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces)"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if not shutil.which(tool):
            return f"`{tool}` is missing (apt-get install -y {package})"
    if not (args.directory / MASTER_FILE).is_file():
        return f"no {MASTER_FILE} in {args.directory}; run make templates"
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


def keep_commands(session: Session) -> list[str]:
    spec, lab = session.spec, session.lab
    lines = []
    for h in sorted(spec.hosts.values(), key=lambda h: h.name):
        n = lab.plan.nodes[h.id]
        lines.append(
            f"# {h.name} ({h.role}) {n.ip}{' public ' + n.public_ip if n.public_ip else ''}"
            f"  namespace {lab.node_ns[h.id]}"
        )
    web = sorted(spec.hosts_of("web"), key=lambda h: h.name)
    if web:
        ns = lab.node_ns[web[0].id]
        lines += [
            f"ip netns exec {ns} curl -s http://{A.SERVER_IP}/",
            f"ip netns exec {ns} ping -c 3 {A.SERVER_IP}   # needs iputils-ping",
        ]
    for alb in spec.albs.values():
        for sid in alb.subnets:
            pub = lab.plan.nodes[f"{alb.id}@{sid}"].public_ip
            lines.append(
                f"ip netns exec {lab.client} curl -s http://{pub}/   # ALB node {spec.label(sid)}"
            )
    for other in spec.hosts_of("other"):
        for w in web:
            lines.append(
                f"ip netns exec {lab.node_ns[other.id]} curl -s "
                f"http://{lab.plan.nodes[w.id].ip}/   # {other.name} -> {w.name}"
            )
    for eid, dev in sorted(lab.plan.tun.items()):
        router = lab.router[spec.subnets[spec.endpoints[eid].subnet].vpc]
        lines.append(
            f"ip netns exec {router} tcpdump -ni {dev}   # inner packets at {spec.label(eid)}"
        )
    for h in sorted(spec.hosts_of("appliance"), key=lambda h: h.name):
        ns = lab.node_ns[h.id]
        lines.append(f"ip netns exec {ns} tcpdump -ni eth0 udp port 6081   # Geneve at {h.name}")
        lines.append(f"ip netns exec {ns} curl -s http://127.0.0.1/metrics")
        for svc in session.hosts.of(h.id):
            argv = list(svc.unit.exec_start)
            if "--flow-log" in argv:
                lines.append(f"tail -f {svc.root.path(argv[argv.index('--flow-log') + 1])}")
    return lines


def run_plan(session: Session, with_drill: bool) -> list[plan.Row]:
    steps = plan.Plan(session)
    steps.egress()
    steps.alb()
    steps.bastion()
    steps.sizes()
    steps.appliance_evidence()
    if with_drill:
        drill.drill(steps)
    return steps.rows


def _wait_for_signal() -> None:
    done = threading.Event()
    while not done.wait(3600):
        pass


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = _problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        spec: SetModel = emulated(reader.load(args.directory))
    except SetError as exc:
        print(f"error: {args.directory}: {exc}", file=sys.stderr)
        return 2
    policy = args.policy.read_bytes() if args.policy else None
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    session = Session(spec, args.time_scale, policy, security_groups=args.security_groups)
    try:
        session.up()
        missing = session.wait_ready(READY_TIMEOUT)
        rows = [
            plan.Row(
                "0 start",
                "every appliance healthy, every service running",
                not missing,
                detail="; ".join(missing),
            )
        ]
        rows += run_plan(session, with_drill=not args.no_drill)
        elapsed = time.monotonic() - started
        failed = [r for r in rows if not r.ok]
        print(
            f"lab: {args.directory} ({len(spec.vpcs)} VPC, {len(spec.endpoints)} GWLB endpoints,"
            f" {len(spec.hosts_of('appliance'))} appliances under {session.python_note};"
            f" health-check times x{args.time_scale:g})"
        )
        if args.policy:
            print(f"lab: appliances run with policy {args.policy}")
        if args.security_groups:
            print("lab: security groups enforced in every host and ALB node")
        print(plan.table(rows))
        blocked = sum(r.result == "BLOCKED" for r in rows)
        print(
            f"lab: {len(rows) - len(failed) - blocked} PASS, {blocked} BLOCKED, {len(failed)} FAIL;"
            f" verdict in {elapsed:.1f} s"
        )
        if args.keep:
            print("lab: kept up until Ctrl-C. Try:")
            print("\n".join(keep_commands(session)), flush=True)
            _wait_for_signal()
        return 1 if failed else 0
    except Stop as exc:
        print(f"lab: stopped by {exc}; cleaning up", file=sys.stderr)
        return 0 if args.keep else 130
    except (StartError, BootError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        session.down()
        for s, handler in previous.items():
            signal.signal(s, handler)

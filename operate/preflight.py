"""make preflight: what the set will need (Elastic IPs, VPCs, internet gateways, NAT gateways per
AZ, endpoints per VPC, On-Demand Standard vCPUs) against each quota minus what is in use; deploy
runs it before every create and refuses when one falls short."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from core.naming import AVAILABILITY_ZONES_PARAMETER
from core.quotas import QUOTAS, Quota
from core.sets import ARCHITECTURES
from operate import quotas
from operate.aws import check_caller, checked_stack_name
from operate.context import Context
from operate.errors import OperateError, UsageError
from operate.plan import check_zones_in_region, zone_list
from verify import needs
from verify.errors import SetError

REPO = Path(__file__).resolve().parents[1]


class QuotaShort(OperateError):
    """A quota would be exceeded: refused before anything is created."""


@dataclass(frozen=True)
class QuotaCheck:
    quota: Quota
    need: int
    in_use: int
    limit: float
    source: str  # applied, default, documented default

    @property
    def ok(self) -> bool:
        return self.in_use + self.need <= self.limit

    def increase_hint(self, region: str) -> str:
        wanted = self.in_use + self.need
        if not self.quota.adjustable:
            return (
                f"{self.quota.label}: the set needs {self.need} of a fixed {self.limit:g}, "
                "which AWS does not raise; generate a smaller set"
            )
        return (
            f"{self.quota.label} ({self.quota.service} {self.quota.code}): the set needs "
            f"{self.need}, {self.in_use} in use of {self.limit:g}; request an increase to "
            f"{wanted} in the Service Quotas console, or `aws service-quotas "
            f"request-service-quota-increase --service-code {self.quota.service} --quota-code "
            f"{self.quota.code} --desired-value {wanted} --region {region}`"
        )


def judge(
    set_needs: needs.Needs,
    vcpus: int,
    in_use: dict[str, int],
    limits: dict[str, tuple[float, str]],
) -> list[QuotaCheck]:
    """One check per quota, pure: need + in use against the limit."""
    wanted = {q.need: getattr(set_needs, q.need, 0) for q in QUOTAS}
    wanted["vcpus"] = vcpus
    return [QuotaCheck(q, wanted[q.need], in_use[q.need], *limits[q.need]) for q in QUOTAS]


def table_lines(checks: list[QuotaCheck]) -> list[str]:
    width = max(len(check.quota.label) for check in checks)
    lines = [f"{'QUOTA':<{width}}  {'CODE':<10}  {'NEED':>4}  {'IN USE':>6}  {'LIMIT':>5}  OK"]
    for check in checks:
        verdict = "OK" if check.ok else "SHORT"
        lines.append(
            f"{check.quota.label:<{width}}  {check.quota.code or '-':<10}  {check.need:>4}  "
            f"{check.in_use:>6}  {check.limit:>5g}  {verdict}"
            + ("" if check.source == "applied" else f" ({check.source})")
        )
    return lines


def run_preflight(
    ctx: Context, directory: Path, parameters: dict[str, str], refuse: bool
) -> list[QuotaCheck]:
    """Count the set in `directory`, read the account, print the table; QuotaShort when `refuse`
    and a quota falls short."""
    try:
        set_needs = needs.of_directory(directory, parameters)
    except SetError as error:
        raise UsageError(str(error)) from None
    ec2 = ctx.client("ec2")
    vcpus = quotas.standard_vcpus(set_needs.instances, quotas.vcpus_of(ec2, set_needs.instances))
    zones = [z for z in parameters.get(AVAILABILITY_ZONES_PARAMETER, "").split(",") if z]
    in_use = quotas.usage(ec2, zones)
    service_quotas = ctx.client("service-quotas")
    limits = {q.need: quotas.limit(service_quotas, q) for q in QUOTAS}
    checks = judge(set_needs, vcpus, in_use, limits)
    ctx.view.quotas(f"Preflight of {directory} in {ctx.region}:", table_lines(checks), checks)
    short = [check for check in checks if not check.ok]
    if short and refuse:
        raise QuotaShort(
            "preflight: " + "; ".join(check.increase_hint(ctx.region) for check in short)
        )
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--architecture", choices=ARCHITECTURES, help="default: every architecture's set"
    )
    parser.add_argument("--set", type=Path, help="any set directory instead (its master found)")
    parser.add_argument("--output", type=Path, default=REPO / "output", help="generated templates")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="master parameter"
    )
    parser.add_argument("--availability-zones", metavar="ZONE,ZONE", help="zones to count NATs in")


def validate(args: argparse.Namespace) -> None:
    if args.stack:
        checked_stack_name(args.stack)
    for item in args.parameter:
        if "=" not in item or item.startswith("="):
            raise UsageError(f"invalid --parameter {item!r}: expected NAME=VALUE")
    if args.availability_zones:
        zone_list(args.availability_zones)


def run(args: argparse.Namespace, ctx: Context) -> int:
    validate(args)
    parameters = dict(item.split("=", 1) for item in args.parameter)
    if args.availability_zones:
        zones = zone_list(args.availability_zones)
        check_zones_in_region(zones, ctx.region)
        parameters[AVAILABILITY_ZONES_PARAMETER] = ",".join(zones)
    if args.set is not None:
        directories = [args.set]
    else:
        chosen = [args.architecture] if args.architecture else list(ARCHITECTURES)
        directories = [args.output / ctx.partition / name for name in chosen]
    check_caller(ctx.client("sts"), ctx.region)
    short = []
    for directory in directories:
        checks = run_preflight(ctx, directory, parameters, refuse=False)
        short += [
            f"{directory.name}: {check.increase_hint(ctx.region)}"
            for check in checks
            if not check.ok
        ]
    if short:
        raise QuotaShort("preflight: " + "; ".join(short))
    ctx.record.status = "PASSED"
    return 0

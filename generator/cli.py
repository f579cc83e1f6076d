"""Command line of the generator: parse options, build the topology, render every set's YAML,
write. `python templates.py` (what `make templates` runs) adds each set's ARCHITECTURE.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator import render, topology
from generator.errors import GeneratorError
from generator.model import Topology
from generator.options import (
    ARCHITECTURES,
    MAX_APP_VPCS,
    MAX_AZS,
    MIN_AZS,
    PARTITION_NAMES,
    SEPARATED_VPC,
    TGW_CENTRALIZED,
    Options,
)
from generator.writer import write_sets


def parser(prog: str = "python -m generator") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Generate the GWLB quickstart's CloudFormation templates into OUTPUT/"
        "<partition>/<architecture>/: the master CN-GWLB.yml and its Nested-*.yml.",
    )
    p.add_argument(
        "--partition",
        default="both",
        help=f"{', '.join(PARTITION_NAMES)} or both (default: both)",
    )
    p.add_argument(
        "--architecture",
        default="single-vpc",
        help=f"{', '.join(ARCHITECTURES)}, or all of them (default: single-vpc)",
    )
    p.add_argument(
        "--az-count",
        type=int,
        default=2,
        help=f"Availability Zones to span, {MIN_AZS}-{MAX_AZS} (default: 2)",
    )
    p.add_argument(
        "--vpc-cidr",
        default="10.0.0.0/16",
        help="the VPC's block, or the inspection VPC's in separated-vpc (default: 10.0.0.0/16)",
    )
    p.add_argument(
        "--app-vpcs",
        type=int,
        default=None,
        help="application (spoke) VPCs: separated-vpc 1-"
        f"{MAX_APP_VPCS[SEPARATED_VPC]} (default: 1), tgw-centralized 1-"
        f"{MAX_APP_VPCS[TGW_CENTRALIZED]} (default: 2)",
    )
    p.add_argument(
        "--app-vpc-cidr",
        default=Options.app_vpc_cidr,
        help="block of application VPC (spoke) 1; VPC k takes the k-th block of that size "
        f"(default: {Options.app_vpc_cidr})",
    )
    p.add_argument(
        "--ingress-vpc-cidr",
        default=Options.ingress_vpc_cidr,
        help="tgw-centralized: block of the ingress VPC (ALB and bastion) "
        f"(default: {Options.ingress_vpc_cidr})",
    )
    p.add_argument(
        "--subnet-prefix",
        type=int,
        default=24,
        help="prefix length of allocated subnets (default: 24)",
    )
    p.add_argument(
        "--subnet-cidr",
        action="append",
        default=[],
        metavar="NAME=CIDR",
        help="place one subnet explicitly, e.g. ApplicationSubnet1=10.0.40.0/24 (repeatable)",
    )
    p.add_argument(
        "--appliances-per-az", type=int, default=1, help="appliance instances per AZ (default: 1)"
    )
    p.add_argument(
        "--appliance",
        default="ours",
        help="ours (installed from user data) or byo (your image: ApplianceAmiId, optional "
        "ApplianceUserData and the health check become master parameters) (default: ours)",
    )
    p.add_argument(
        "--byo-readiness",
        default="gwlb",
        help="byo: gwlb (the stack completes once traffic crosses healthy appliances) or "
        "signal (your image signals the appliance group itself) (default: gwlb)",
    )
    p.add_argument("--output", default="output", help="output directory (default: output)")
    return p


def _options(args: argparse.Namespace, architecture: str) -> Options:
    partitions = PARTITION_NAMES if args.partition == "both" else (args.partition,)
    explicit = {}
    for item in args.subnet_cidr:
        name, sep, block = item.partition("=")
        if not sep or not name or not block:
            raise GeneratorError(f"--subnet-cidr wants NAME=CIDR, got {item!r}")
        explicit[name.strip()] = block.strip()
    return Options(
        partitions=tuple(partitions),
        architecture=architecture,
        az_count=args.az_count,
        vpc_cidr=args.vpc_cidr,
        subnet_prefix=args.subnet_prefix,
        subnet_cidrs=explicit,
        appliances_per_az=args.appliances_per_az,
        appliance=args.appliance,
        byo_readiness=args.byo_readiness,
        app_vpcs=args.app_vpcs,
        app_vpc_cidr=args.app_vpc_cidr,
        ingress_vpc_cidr=args.ingress_vpc_cidr,
    )


RenderedSets = dict[tuple[str, str], tuple[Topology, dict[str, str]]]


def render_sets(args: argparse.Namespace) -> RenderedSets:
    """Every set the arguments ask for: (partition, architecture) -> (topology, files)."""
    # "both" is what "all" was called when there were two.
    everything = args.architecture in ("all", "both")
    architectures = ARCHITECTURES if everything else (args.architecture,)
    sets: RenderedSets = {}
    for architecture in architectures:
        options = _options(args, architecture)
        model = topology.build(options)
        for partition in options.partitions:
            files = render.render_set(model, partition, options.recorded())
            sets[(partition, architecture)] = (model, files)
    return sets


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        sets = render_sets(args)
    except GeneratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in write_sets(Path(args.output), {k: files for k, (_, files) in sets.items()}):
        print(path)
    return 0

"""Command line of the generator: parse options, build the topology, render every set, write."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator import render, topology
from generator.errors import GeneratorError
from generator.options import ARCHITECTURES, MAX_AZS, MIN_AZS, PARTITIONS, Options
from generator.writer import write_sets


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m generator",
        description="Generate the GWLB quickstart's CloudFormation templates into OUTPUT/"
        "<partition>/<architecture>/: the master CN-GWLB.yml and its Nested-*.yml.",
    )
    p.add_argument(
        "--partition",
        default="both",
        help=f"{', '.join(PARTITIONS)} or both (default: both)",
    )
    p.add_argument(
        "--architecture",
        default="single-vpc",
        help=f"one of: {', '.join(ARCHITECTURES)} (default: single-vpc)",
    )
    p.add_argument(
        "--az-count",
        type=int,
        default=2,
        help=f"Availability Zones to span, {MIN_AZS}-{MAX_AZS} (default: 2)",
    )
    p.add_argument("--vpc-cidr", default="10.0.0.0/16", help="VPC block (default: 10.0.0.0/16)")
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
    p.add_argument("--output", default="output", help="output directory (default: output)")
    return p


def _options(args: argparse.Namespace) -> Options:
    partitions = PARTITIONS if args.partition == "both" else (args.partition,)
    explicit = {}
    for item in args.subnet_cidr:
        name, sep, block = item.partition("=")
        if not sep or not name or not block:
            raise GeneratorError(f"--subnet-cidr wants NAME=CIDR, got {item!r}")
        explicit[name.strip()] = block.strip()
    return Options(
        partitions=tuple(partitions),
        architecture=args.architecture,
        az_count=args.az_count,
        vpc_cidr=args.vpc_cidr,
        subnet_prefix=args.subnet_prefix,
        subnet_cidrs=explicit,
        appliances_per_az=args.appliances_per_az,
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        options = _options(args)
        model = topology.build(options)
        sets = {
            (partition, options.architecture): render.render_set(model, partition)
            for partition in options.partitions
        }
    except GeneratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    written = write_sets(Path(args.output), sets)
    for path in written:
        print(path)
    return 0

"""Validation of deploy's arguments into a plain DeployPlan: everything that needs no request,
checked before the first one."""

from __future__ import annotations

import argparse
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from core.naming import AVAILABILITY_ZONES_PARAMETER
from operate.aws import checked_stack_name
from operate.errors import UsageError

KEY_PARAMETER = "KeyPairName"
CIDR_PARAMETER = "BastionAllowedCidr"
# The bastion's RDP port is open to this block: one address (/32), or a small office (/28).
WIDEST_BASTION_PREFIX = 28


@dataclass(frozen=True)
class DeployPlan:
    """What the user asked deploy to do, checked; nothing in it has been looked up."""

    stack: str
    parameters: dict[str, str] = field(default_factory=dict)
    bucket: str | None = None
    prefix: str | None = None
    template_url: str | None = None
    architecture: str | None = None  # None: the existing stack's, else the first
    output: Path = Path("output")
    no_execute: bool = False
    zones: tuple[str, ...] = ()  # --availability-zones; empty: chosen by deploy


def plan_deploy(args: argparse.Namespace) -> DeployPlan:
    """The DeployPlan of deploy's arguments, or a UsageError naming the first bad one."""
    checked_stack_name(args.stack)
    if args.bucket and args.template_url:
        raise UsageError("give BUCKET (publish, then deploy) or --template-url, not both")
    if not args.bucket and not args.template_url:
        raise UsageError(
            "no template to deploy: pass BUCKET=<bucket> to publish the set and deploy it, "
            "or TEMPLATE_URL=<https URL of a published CN-GWLB.yml> (--template-url)"
        )
    parameters: dict[str, str] = {}
    for item in args.parameter:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"invalid --parameter {item!r}: expected NAME=VALUE")
        parameters[name] = value
    if args.key_pair is not None:
        if not args.key_pair.strip():
            raise UsageError("KEY is empty: give the name of an RSA EC2 key pair")
        parameters[KEY_PARAMETER] = args.key_pair
    if args.bastion_cidr is not None:
        parameters[CIDR_PARAMETER] = bastion_cidr(args.bastion_cidr, args.allow_wide_cidr)
    if args.template_url:
        url = urlparse(args.template_url)
        if url.scheme != "https" or not url.netloc or not url.path.strip("/"):
            raise UsageError(f"invalid --template-url {args.template_url!r}: expected https://...")
    zones = zone_list(args.availability_zones) if args.availability_zones else ()
    if zones and AVAILABILITY_ZONES_PARAMETER in parameters:
        raise UsageError(
            f"give ZONES=... (--availability-zones) or --parameter {AVAILABILITY_ZONES_PARAMETER}"
            "=..., not both"
        )
    return DeployPlan(
        stack=args.stack,
        parameters=parameters,
        bucket=args.bucket,
        prefix=args.prefix,
        template_url=args.template_url,
        architecture=args.architecture,
        output=args.output,
        no_execute=args.no_execute,
        zones=zones,
    )


def bastion_cidr(text: str, allow_wide: bool) -> str:
    """The bastion's allowed block, normalised; wider than a /28 only with --allow-wide-cidr,
    since the bastion answers RDP to every address in it."""
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise UsageError(
            f"invalid BASTION_CIDR {text!r}: expected an IPv4 block such as 203.0.113.7/32"
        ) from None
    if network.version != 4:
        raise UsageError(f"BASTION_CIDR {text} is not IPv4")
    if network.prefixlen < WIDEST_BASTION_PREFIX and not allow_wide:
        raise UsageError(
            f"BASTION_CIDR {network} opens the bastion's RDP port to {network.num_addresses} "
            f"addresses: give your own address as a /32 (at most a /{WIDEST_BASTION_PREFIX}), "
            "or pass --allow-wide-cidr (ARGS=--allow-wide-cidr) to accept it"
        )
    return str(network)


def zone_list(text: str) -> tuple[str, ...]:
    """Zone names of --availability-zones, in order, without blanks or repeats."""
    zones = tuple(zone.strip() for zone in text.split(",") if zone.strip())
    if not zones:
        raise UsageError("ZONES is empty: give zone names such as us-east-1a,us-east-1b")
    repeated = sorted({zone for zone in zones if zones.count(zone) > 1})
    if repeated:
        raise UsageError(f"ZONES names {', '.join(repeated)} more than once")
    return zones


def check_zones_in_region(zones: tuple[str, ...], region: str) -> None:
    """A zone of another region is refused before any request: its name starts with its
    region's (us-east-1a is in us-east-1)."""
    shape = re.compile(re.escape(region) + r"[a-z]")
    foreign = [zone for zone in zones if not shape.fullmatch(zone)]
    if foreign:
        raise UsageError(
            f"availability zone {', '.join(foreign)} is not in region {region}: "
            f"give zones named {region}a, {region}b, ..."
        )

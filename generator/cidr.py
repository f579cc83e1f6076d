"""IPv4 CIDR planning: parse, allocate equal-size subnets in order, and check for overlaps."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from generator.errors import CidrError

# A VPC's primary IPv4 block may be /16 to /28; so may a subnet.
MIN_PREFIX = 16
MAX_PREFIX = 28


def parse_network(text: str, what: str) -> ipaddress.IPv4Network:
    """Parse a strict IPv4 network (no host bits) whose size AWS accepts for a VPC or subnet."""
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise CidrError(f"{what}: {text!r} is not a valid IPv4 CIDR ({exc})") from None
    if "/" not in text:
        raise CidrError(f"{what}: {text!r} needs a prefix length, such as 10.0.0.0/16")
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise CidrError(
            f"{what}: {text} has prefix /{net.prefixlen}; AWS allows /{MIN_PREFIX} to /{MAX_PREFIX}"
        )
    return net


def allocate(
    parent: ipaddress.IPv4Network,
    prefix: int,
    count: int,
    taken: Iterable[ipaddress.IPv4Network] = (),
) -> list[ipaddress.IPv4Network]:
    """Return the first `count` /prefix blocks of `parent`, in address order, that avoid `taken`."""
    if not parent.prefixlen <= prefix <= MAX_PREFIX:
        raise CidrError(
            f"subnet prefix /{prefix} must lie between the VPC's /{parent.prefixlen} "
            f"and /{MAX_PREFIX}"
        )
    blocked = list(taken)
    found: list[ipaddress.IPv4Network] = []
    for block in parent.subnets(new_prefix=prefix):
        if len(found) == count:
            break
        if not any(block.overlaps(other) for other in blocked):
            found.append(block)
    if len(found) < count:
        raise CidrError(
            f"{parent} has room for only {len(found)} free /{prefix} subnets, {count} are needed"
        )
    return found


def first_overlap(
    named: Sequence[tuple[str, ipaddress.IPv4Network]],
) -> tuple[str, str] | None:
    """Names of the first two blocks that overlap, or None when all are disjoint."""
    for i, (name_a, net_a) in enumerate(named):
        for name_b, net_b in named[i + 1 :]:
            if net_a.overlaps(net_b):
                return name_a, name_b
    return None


def host(network: str, offset: int) -> str:
    """The address `offset` places into a network, e.g. for picking a sample host."""
    net = ipaddress.IPv4Network(network)
    if not 0 <= offset < net.num_addresses:
        raise CidrError(f"offset {offset} is outside {network}")
    return str(net.network_address + offset)

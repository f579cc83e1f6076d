"""Security groups (opt-in, `--security-groups`): the rules that would let a packet out of one
host and into another, and the same rules as a stateful nftables ruleset in a host's namespace."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from verify.model import SecurityGroup, SetModel, SgRule

NAMES = {-1: "all", 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}


def _matches(
    rule: SgRule, peer: str, proto: int, port: int, members: Callable[[str], set[str]]
) -> bool:
    if rule.protocol not in (-1, proto):
        return False
    if (
        rule.protocol in (6, 17)
        and rule.from_port != -1
        and not rule.from_port <= port <= rule.to_port
    ):
        return False
    if rule.protocol in (1, 58) and rule.from_port not in (-1, port):
        return False  # ICMP and ICMPv6: FromPort is the type
    if rule.cidr is not None:
        address, block = ipaddress.ip_address(peer), ipaddress.ip_network(rule.cidr, strict=False)
        return address.version == block.version and address in block
    return rule.group is not None and peer in members(rule.group)


def verdict(
    spec: SetModel,
    members: Callable[[str], set[str]],
    src_groups: tuple[str, ...],
    src_ip: str,
    dst_groups: tuple[str, ...],
    dst_ip: str,
    proto: int,
    port: int,
) -> str:
    """'' when the source's groups let the packet out and the destination's let it in (a host
    without groups is unfiltered); else which group stops it. port is the ICMP type for ICMP."""
    what = f"{NAMES.get(proto, proto)}{'/' + str(port) if proto in (6, 17) else ''}"
    if src_groups and not any(
        _matches(r, dst_ip, proto, port, members)
        for g in src_groups
        for r in spec.security_groups[g].egress
    ):
        names = ", ".join(spec.security_groups[g].name for g in src_groups)
        return f"{names}: no {what} out to {dst_ip}"
    if dst_groups and not any(
        _matches(r, src_ip, proto, port, members)
        for g in dst_groups
        for r in spec.security_groups[g].ingress
    ):
        names = ", ".join(spec.security_groups[g].name for g in dst_groups)
        return f"{names}: no {what} in from {src_ip}"
    return ""


# Per IP version: the nftables family, the table, and the ICMP of that version (number, name).
FAMILY = {4: "ip", 6: "ip6"}
TABLE = {4: "security_groups", 6: "security_groups6"}
ICMP = {4: (1, "icmp"), 6: (58, "icmpv6")}
# AWS's groups never filter IPv6 neighbour discovery.
NEIGHBOUR_DISCOVERY = "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert"


def _nft_rule(
    rule: SgRule, way: str, members: Callable[[str], set[str]], version: int
) -> str | None:
    field = "saddr" if way == "in" else "daddr"
    if rule.cidr is not None and ipaddress.ip_network(rule.cidr, strict=False).version != version:
        return None  # the other version's table holds it
    if rule.cidr is not None:
        peers = rule.cidr
    elif rule.group is not None and members(rule.group):
        peers = "{ " + ", ".join(sorted(members(rule.group))) + " }"
    else:
        return None  # a rule that names no address admits nothing
    match = f"{FAMILY[version]} {field} {peers}"
    icmp, icmp_name = ICMP[version]
    if rule.protocol in (6, 17):
        name = NAMES[rule.protocol]
        ports = "" if rule.from_port == -1 else f" {name} dport {rule.from_port}-{rule.to_port}"
        match += f" meta l4proto {name}{ports}"
    elif rule.protocol == icmp:
        match += f" meta l4proto {icmp_name}"
        if rule.from_port != -1:
            match += f" {icmp_name} type {rule.from_port}"
    elif rule.protocol == 1:
        return None  # IPv4's ICMP in the IPv6 table: no IPv6 packet carries it
    elif rule.protocol != -1:
        match += f" meta l4proto {rule.protocol}"
    return f"    {match} accept\n"


def ruleset(
    groups: list[SecurityGroup], members: Callable[[str], set[str]], version: int = 4
) -> str:
    """Stateful, like security groups: replies to what was let through always pass. One table
    per IP version; `members` gives a group's addresses of that version."""
    discovery = f"    icmpv6 type {{ {NEIGHBOUR_DISCOVERY} }} accept\n" if version == 6 else ""
    chains = []
    for way, hook, dev in (("in", "input", "iifname"), ("out", "output", "oifname")):
        rules = [
            _nft_rule(r, way, members, version)
            for g in groups
            for r in (g.ingress if way == "in" else g.egress)
        ]
        chains.append(
            f"  chain {hook}_filter {{\n    type filter hook {hook} priority 0; policy drop;\n"
            f'    ct state established,related accept\n    {dev} "lo" accept\n'
            + discovery
            + "".join(r for r in rules if r)
            + "  }\n"
        )
    return f"table {FAMILY[version]} {TABLE[version]} {{\n" + "".join(chains) + "}\n"

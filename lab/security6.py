"""Security groups for IPv6: the same stateful rules as lab.security, in an ip6 nftables table,
for their IPv6 rules. Neighbour discovery always passes: AWS's groups never filter it."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from verify.model import SecurityGroup, SgRule

NAMES = {6: "tcp", 17: "udp"}
NEIGHBOUR_DISCOVERY = "nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert"


def _nft_rule(rule: SgRule, way: str, members6: Callable[[str], set[str]]) -> str | None:
    field = "saddr" if way == "in" else "daddr"
    if rule.cidr is not None:
        if ipaddress.ip_network(rule.cidr, strict=False).version != 6:
            return None
        peers = rule.cidr
    elif rule.group is not None and members6(rule.group):
        peers = "{ " + ", ".join(sorted(members6(rule.group))) + " }"
    else:
        return None
    match = f"ip6 {field} {peers}"
    if rule.protocol in NAMES:
        name = NAMES[rule.protocol]
        ports = "" if rule.from_port == -1 else f" {name} dport {rule.from_port}-{rule.to_port}"
        match += f" meta l4proto {name}{ports}"
    elif rule.protocol == 58:
        match += " meta l4proto icmpv6"
        if rule.from_port != -1:
            match += f" icmpv6 type {rule.from_port}"
    elif rule.protocol == 1:
        return None  # ICMP for IPv4 only
    elif rule.protocol != -1:
        match += f" meta l4proto {rule.protocol}"
    return f"    {match} accept\n"


def ruleset(groups: list[SecurityGroup], members6: Callable[[str], set[str]]) -> str:
    chains = []
    for way, hook, dev in (("in", "input", "iifname"), ("out", "output", "oifname")):
        rules = [
            _nft_rule(r, way, members6)
            for g in groups
            for r in (g.ingress if way == "in" else g.egress)
        ]
        chains.append(
            f"  chain {hook}_filter {{\n    type filter hook {hook} priority 0; policy drop;\n"
            f'    ct state established,related accept\n    {dev} "lo" accept\n'
            f"    icmpv6 type {{ {NEIGHBOUR_DISCOVERY} }} accept\n"
            + "".join(r for r in rules if r)
            + "  }\n"
        )
    return "table ip6 security_groups6 {\n" + "".join(chains) + "}\n"

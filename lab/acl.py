"""Network ACLs as AWS applies them: stateless, at the subnet's edge, rules judged in number
order with the first match deciding and a final deny (AWS: "Control subnet traffic with network
access control lists"). The verdict for a packet names the rule; the same rules become an nftables
chain per subnet in the VPC router, on every packet that leaves or enters the subnet (a subnet's
bridge, or an endpoint's device in that subnet)."""

from __future__ import annotations

import ipaddress

from lab.addresses import Plan
from verify.model import NaclEntry, NetworkAcl, SetModel

NAMES = {-1: "all", 6: "tcp", 17: "udp", 1: "icmp"}


def _entry_matches(entry: NaclEntry, peer: str, proto: int, port: int) -> bool:
    """port is the destination port for TCP and UDP, the type for ICMP."""
    if entry.cidr is None or ":" in entry.cidr:
        return False  # unresolved, or IPv6: the lab carries IPv4 only
    if ipaddress.IPv4Address(peer) not in ipaddress.IPv4Network(entry.cidr, strict=False):
        return False
    if entry.protocol == -1:
        return True
    if entry.protocol != proto:
        return False
    if proto in (6, 17) and entry.from_port != -1:
        return entry.from_port <= port <= entry.to_port
    if proto == 1:
        return entry.icmp_type in (-1, port)
    return True


def acl_of(model: SetModel, subnet: str | None) -> NetworkAcl | None:
    """The subnet's ACL; None for the VPC's default ACL (it allows everything) or no subnet."""
    if subnet is None:
        return None
    return model.network_acls.get(model.acl_of_subnet.get(subnet, ""))


def decide(acl: NetworkAcl, egress: bool, peer: str, proto: int, port: int) -> str:
    """'' when the ACL lets the packet through in that direction, else the rule that denies it."""
    for entry in acl.entries:
        if entry.egress == egress and _entry_matches(entry, peer, proto, port):
            if entry.allow:
                return ""
            way = "egress" if egress else "ingress"
            return f"network ACL {acl.name} {way} rule {entry.number} denies"
    way = "out" if egress else "in"
    what = f"{NAMES.get(proto, proto)}{'/' + str(port) if proto in (6, 17) else ''}"
    return f"network ACL {acl.name}: no rule allows {what} {way} (rule * denies)"


def crossing(
    model: SetModel,
    leaving: str | None,
    entering: str | None,
    src: str,
    dst: str,
    proto: int,
    port: int,
) -> str:
    """A packet going from one subnet (None: the internet) into another: the first's egress
    rules, then the second's ingress rules; '' when both let it through."""
    if leaving == entering:
        return ""
    for subnet, egress, peer in ((leaving, True, dst), (entering, False, src)):
        acl = acl_of(model, subnet)
        if acl is not None:
            found = decide(acl, egress, peer, proto, port)
            if found:
                return f"{found} ({model.label(subnet)})"
    return ""


def _match(entry: NaclEntry, egress: bool) -> str | None:
    if entry.cidr is None or ":" in entry.cidr:
        return None
    text = f"ip {'daddr' if egress else 'saddr'} {ipaddress.IPv4Network(entry.cidr, strict=False)}"
    if entry.protocol in (6, 17):
        text += f" meta l4proto {NAMES[entry.protocol]}"
        if entry.from_port != -1:
            text += f" th dport {entry.from_port}-{entry.to_port}"
    elif entry.protocol == 1:
        text += " meta l4proto icmp"
        if entry.icmp_type != -1:
            text += f" icmp type {entry.icmp_type}"
    elif entry.protocol != -1:
        text += f" meta l4proto {entry.protocol}"
    return text


def _chain(name: str, acl: NetworkAcl, egress: bool) -> str:
    lines = []
    for entry in acl.entries:
        match = _match(entry, egress) if entry.egress == egress else None
        if match is not None:
            # An allow returns to the forward chain (the other subnet's rules still apply).
            lines.append(f"    {match} {'return' if entry.allow else 'drop'}\n")
    return f"  chain {name} {{\n" + "".join(lines) + "    drop\n  }\n"


def ruleset(model: SetModel, plan: Plan, vpc: str) -> str:
    """The VPC router's stateless ACL filter; '' when no subnet of the VPC has its own ACL."""
    chains, jumps = [], []
    for subnet in sorted(s.id for s in model.subnets.values() if s.vpc == vpc):
        acl = acl_of(model, subnet)
        if acl is None:
            continue
        bridge = plan.bridge[subnet]
        inside = [bridge] + [
            plan.tun[eid]
            for eid, endpoint in sorted(model.endpoints.items())
            if endpoint.subnet == subnet
        ]
        devices = "{ " + ", ".join(f'"{dev}"' for dev in inside) + " }"
        chains += [_chain(f"out_{bridge}", acl, True), _chain(f"in_{bridge}", acl, False)]
        for dev in inside:
            jumps.append(f'    iifname "{dev}" oifname != {devices} jump out_{bridge}\n')
            jumps.append(f'    oifname "{dev}" iifname != {devices} jump in_{bridge}\n')
    if not jumps:
        return ""
    return (
        "table ip network_acls {\n"
        + "".join(chains)
        + "  chain forward {\n    type filter hook forward priority -10; policy accept;\n"
        + "".join(jumps)
        + "  }\n}\n"
    )

"""What each host is for, from the set's paths rather than guesses: served hosts are the ALB's
targets, management hosts are public hosts the ALB does not serve (a bastion), appliances are the
GENEVE target group's members, and everything else is a plain host. A plain host built like the
served ones (their user data but for numbers, or a service of its own together with their groups
or a group that admits the ALB on its target port) is a web server missing from the target
group; an ordinary host (no service) never is. Hosts that signal CloudFormation, and served,
management and appliance hosts with an instance profile (Session Manager), must reach the
internet over HTTPS: those are the readiness paths."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from lab import cloudinit
from verify import routepath
from verify.model import Host, SetModel

APPLIANCE_PACKAGE = "appliance/__main__.py"  # what our appliance bundle holds


@dataclass
class Roles:
    served: list[Host] = field(default_factory=list)
    management: list[Host] = field(default_factory=list)
    appliances: list[Host] = field(default_factory=list)
    plain: list[Host] = field(default_factory=list)
    unserved_web: dict[str, str] = field(default_factory=dict)  # host id -> why it looks served
    needs_https: dict[str, str] = field(default_factory=dict)  # host id -> why
    foreign_appliances: list[Host] = field(default_factory=list)  # not our appliance bundle


def _admits_alb(model: SetModel, host: Host) -> str:
    """The host's group that lets an ALB in on the ALB's target port, or ''."""
    for alb in model.albs.values():
        port = model.target_groups[alb.target_group].port
        alb_blocks = [ipaddress.IPv4Network(model.subnets[s].cidr) for s in alb.subnets]
        for group_id in host.security_groups:
            group = model.security_groups.get(group_id)
            for rule in group.ingress if group else ():
                if rule.protocol not in (-1, 6):
                    continue
                if rule.from_port != -1 and not rule.from_port <= port <= rule.to_port:
                    continue
                by_group = rule.group is not None and rule.group in alb.security_groups
                by_block = rule.cidr is not None and any(
                    block.subnet_of(ipaddress.IPv4Network(rule.cidr, strict=False))
                    for block in alb_blocks
                    if ":" not in rule.cidr and rule.cidr != "0.0.0.0/0"
                )
                if by_group or by_block:
                    return f"{group.name} admits {alb.name} on port {port}"
    return ""


def _shape(user_data: str) -> str:
    """User data with its numbers taken out: WebServer1's and WebServer2's are alike."""
    return re.sub(r"\d+", "#", user_data)


def _serves(host: Host) -> bool:
    """Whether the host's user data starts a service (an ordinary host starts none)."""
    try:
        return bool(cloudinit.parse(host.user_data).enabled_units())
    except cloudinit.BootError:
        return False


def ours(host: Host) -> bool:
    """Whether the host's user data ships our appliance bundle."""
    try:
        boot = cloudinit.parse(host.user_data)
    except cloudinit.BootError:
        return False
    return bool(boot.archives() or boot.unpacks()) and any(
        unit.exec_start[1:3] == ("-m", "appliance") for unit in boot.enabled_units()
    )


def find(model: SetModel) -> Roles:
    roles = Roles()
    roles.served = routepath.served_hosts(model)
    roles.management = sorted(routepath.management_hosts(model), key=lambda h: h.name)
    roles.appliances = sorted(model.hosts_of("appliance"), key=lambda h: h.name)
    served_ids = {h.id for h in roles.served}
    taken = served_ids | {h.id for h in roles.management} | {h.id for h in roles.appliances}
    served_groups = {h.security_groups for h in roles.served if h.security_groups}
    served_shapes = {_shape(h.user_data) for h in roles.served if h.user_data}
    for host in sorted(model.hosts.values(), key=lambda h: h.name):
        if host.id in taken:
            continue
        roles.plain.append(host)
        if host.user_data and _shape(host.user_data) in served_shapes:
            roles.unserved_web[host.id] = "its user data is the served hosts' but for numbers"
        elif _serves(host) and host.security_groups in served_groups:
            roles.unserved_web[host.id] = "it runs a service and has the served hosts' groups"
        elif _serves(host) and (why := _admits_alb(model, host)):
            roles.unserved_web[host.id] = f"it runs a service and {why}"
    plain = {host.id for host in roles.plain}
    for host in model.hosts.values():
        # A plain host's profile alone asks nothing: only a signal it owes CloudFormation does.
        managed = host.profile and host.id not in plain
        reasons = (["signals CloudFormation"] if host.signals else []) + (
            ["Session Manager"] if managed else []
        )
        if reasons:
            roles.needs_https[host.id] = " and ".join(reasons)
    roles.foreign_appliances = [h for h in roles.appliances if not ours(h)]
    return roles

"""Registration changes of the GWLB emulator's target group, as Auto Scaling makes them in a
rolling update: a new instance registers (and is health-checked), an old one deregisters."""

from __future__ import annotations

import time
from dataclasses import replace

from lab.gwlb import Emulator
from lab.health import Checker, Health, Target


def register(
    emulator: Emulator, host_id: str, label: str, ip: str, subnet: str, stand_in: bool
) -> Target:
    """A new instance joins the target group: initial until its first check passes."""
    gid, gwlb = sorted(emulator.spec.gwlbs.items())[0]
    group = emulator.spec.target_groups[gwlb.target_group]
    az = emulator.spec.subnets[subnet].az
    health = Health(group.health.healthy, group.health.unhealthy)
    target = Target(host_id, label, ip, emulator.node_in(gid, az).ns, health)
    check = group.health
    if stand_in and check.protocol.upper() != "TCP":
        check = replace(check, path="/health", matcher="200")
    with emulator.lock:
        emulator.targets[host_id] = target
        emulator.target_ip[host_id], emulator.target_az[host_id] = ip, az
    checker = Checker(check, [target], emulator.scale)
    checker.start()
    emulator.checkers.append(checker)
    return target


def deregister(emulator: Emulator, host_id: str) -> float:
    """The target drains: no new flows; its existing flows stay for the deregistration delay
    (scaled), then move (rebalance) or stay with it, reachable or not (no_rebalance). AWS: "Edit
    target group attributes for your Gateway Load Balancer", target failover and deregistration
    delay. Returns the scaled delay."""
    gwlb = sorted(emulator.spec.gwlbs.items())[0][1]
    attributes = emulator.spec.target_groups[gwlb.target_group].attributes
    delay = float(attributes.get("deregistration_delay.timeout_seconds", 300)) * emulator.scale
    emulator.targets[host_id].draining_until = time.monotonic() + delay
    return delay

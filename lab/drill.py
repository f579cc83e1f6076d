"""Step 5 of the plan: stop the appliance of an existing flow, then every appliance, then start
them again; health, the failover attribute and traffic must follow. With every appliance down the
GWLB fails open (sends to unhealthy targets, as AWS documents), so traffic still stops."""

from __future__ import annotations

import time

from lab import probes
from lab.flows import FlowRecord
from lab.hosts import wait_for
from lab.plan import Plan
from lab.rows import Row


def drill(plan: Plan) -> None:
    """Stop one appliance, then all, then restart them: health and traffic must follow."""
    appliances = plan.roles.appliances
    if not appliances or not plan.model.gwlbs:
        return
    group = plan.model.target_groups[next(iter(plan.model.gwlbs.values())).target_group]
    check, scale = group.health, plan.time_scale
    limit_down = (check.unhealthy * check.interval + check.timeout) * scale + 0.5
    # An ICMP flow of step 1 (its key has no ports, so a new echo is the same flow) shows
    # what becomes of an existing flow: its appliance is the one stopped.
    ids = {host.id for host in appliances}
    pinned = next(
        (record for record in plan.carried if record.key.proto == 1 and record.target in ids),
        None,
    )
    victim = plan.model.hosts[pinned.target] if pinned else appliances[0]
    plan.stop_services(victim.id)
    began = time.monotonic()
    down = wait_for(lambda: plan.health(victim.id) == "unhealthy", limit_down * 2)
    took = time.monotonic() - began
    plan.add(
        Row(
            "5 failure",
            f"stop {victim.name}: health marks it unhealthy",
            down and took <= limit_down,
            appliance=victim.name,
            detail=f"in {took:.1f} s; thresholds allow {limit_down:.1f} s "
            f"({check.unhealthy} x {check.interval:g} s + {check.timeout:g} s timeout, x{scale:g})",
        )
    )
    if pinned is not None:
        existing_flow(plan, pinned, victim.name, group.rebalance)
    ports = plan.http_ports[-1:]
    if len(appliances) > 1:  # with one appliance, "every appliance down" below says it all
        rows = plan.egress("5 failure", f" with {victim.name} down", icmp=False, ports=ports)
        for row in rows:
            if victim.name in row.appliance:
                row.ok, row.detail = False, row.detail + f"; went to stopped {victim.name}"
    for host in appliances:  # the victim's services are stopped already: a no-op for them
        plan.stop_services(host.id)
    wait_for(lambda: all(plan.health(h.id) == "unhealthy" for h in appliances), limit_down * 2)
    plan.egress(
        "5 failure",
        " with every appliance down (must fail)",
        timeout=1.0,
        icmp=False,
        expect=False,
        ports=ports,
    )
    limit_up = (check.healthy * check.interval) * scale + 10.0  # plus the appliance's start-up
    began = time.monotonic()
    for host in appliances:
        plan.start_services(host.id)
    up = wait_for(lambda: all(plan.health(h.id) == "healthy" for h in appliances), limit_up)
    took = time.monotonic() - began
    plan.add(
        Row(
            "5 failure",
            "restart every appliance: healthy again",
            up,
            appliance="all",
            detail=f"in {took:.1f} s ({check.healthy} successes needed, "
            f"every {check.interval * scale:g} s)",
        )
    )
    plan.egress("5 failure", " after restart", icmp=False, ports=ports)


def existing_flow(plan: Plan, record: FlowRecord, victim: str, rebalance: bool) -> None:
    """With target_failover rebalance, a flow of a failed appliance moves to a healthy one;
    without it (AWS's default) the flow stays with the failed appliance and is lost."""
    src = record.first[0]
    dst = record.key.upper[0] if record.key.lower[0] == src else record.key.lower[0]
    node = plan.node_with_address(src)
    result = probes.ping(plan.namespace(node.id), src, dst, timeout=1.5)
    now = plan.emulator.label(record.target) if record.target else "none"
    mode = "rebalance" if rebalance else "no_rebalance"
    flow = f"existing flow {node.label} -> {dst} (ICMP) after {victim} failed"
    if rebalance:
        ok = result.ok and now != victim
        detail = f"{result.detail}; moved to {now} ({mode})"
    else:
        ok = not result.ok and now == victim
        detail = f"{result.detail}; stays with {victim}, lost ({mode}, AWS's default)"
    plan.add(Row("5 failure", flow, ok, appliance=now, detail=detail))

"""Step 5 of the plan: stop the appliance of an existing flow, then every appliance, then start
them again; health, the failover attribute and traffic must follow."""

from __future__ import annotations

import time

from lab import probes
from lab.gwlb import FlowRecord
from lab.hosts import wait_for
from lab.plan import Plan, Row


def drill(plan: Plan) -> None:
    """Stop one appliance, then all, then restart them: health and traffic must follow."""
    em, hosts = plan.em, plan.s.hosts
    appliances = sorted(plan.spec.hosts_of("appliance"), key=lambda h: h.name)
    if not appliances:
        return
    tg = plan.spec.target_groups[next(iter(plan.spec.gwlbs.values())).target_group]
    hc, scale = tg.health, plan.s.scale
    limit_down = (hc.unhealthy * hc.interval + hc.timeout) * scale + 0.5
    # An ICMP flow of step 1 (its key has no ports, so a new echo is the same flow) shows
    # what becomes of an existing flow: its appliance is the one stopped.
    ids = {h.id for h in appliances}
    pinned = next((r for r in plan.carried if r.key.proto == 1 and r.target in ids), None)
    victim = plan.spec.hosts[pinned.target] if pinned else appliances[0]
    for svc in hosts.of(victim.id):
        svc.stop()
    began = time.monotonic()
    down = wait_for(lambda: em.targets[victim.id].health.state == "unhealthy", limit_down * 2)
    took = time.monotonic() - began
    plan.rows.append(
        Row(
            "5 failure",
            f"stop {victim.name}: health marks it unhealthy",
            down and took <= limit_down,
            appliance=victim.name,
            detail=f"in {took:.1f} s; thresholds allow {limit_down:.1f} s "
            f"({hc.unhealthy} x {hc.interval:g} s + {hc.timeout:g} s timeout, x{scale:g})",
        )
    )
    if pinned is not None:
        existing_flow(plan, pinned, victim.name, tg.rebalance)
    rows = plan.egress(
        "5 failure", f" with {victim.name} down", icmp=False, ports=plan.http_ports[-1:]
    )
    for row in rows:
        if victim.name in row.appliance:
            row.ok, row.detail = False, row.detail + f"; went to stopped {victim.name}"
    for host in appliances:  # the victim's services are stopped already: a no-op for them
        for svc in hosts.of(host.id):
            svc.stop()
    wait_for(
        lambda: all(em.targets[h.id].health.state == "unhealthy" for h in appliances),
        limit_down * 2,
    )
    plan.egress(
        "5 failure",
        " with every appliance down (must fail)",
        timeout=1.0,
        icmp=False,
        expect=False,
        ports=plan.http_ports[-1:],
    )
    limit_up = (hc.healthy * hc.interval) * scale + 10.0  # plus the appliance's start-up
    began = time.monotonic()
    for host in appliances:
        for svc in hosts.of(host.id):
            svc.start()
    up = em.wait_healthy([h.id for h in appliances], limit_up)
    took = time.monotonic() - began
    plan.rows.append(
        Row(
            "5 failure",
            "restart every appliance: healthy again",
            up,
            appliance="all",
            detail=f"in {took:.1f} s ({hc.healthy} successes needed, "
            f"every {hc.interval * scale:g} s)",
        )
    )
    plan.egress("5 failure", " after restart", icmp=False, ports=plan.http_ports[-1:])


def existing_flow(plan: Plan, rec: FlowRecord, victim: str, rebalance: bool) -> None:
    """With target_failover rebalance, a flow of a failed appliance moves to a healthy one;
    without it (AWS's default) the flow stays with the failed appliance and is lost."""
    src = rec.first[0]
    dst = rec.key.b[0] if rec.key.a[0] == src else rec.key.a[0]
    node = next(n for n in plan.lab.plan.nodes.values() if n.ip == src)
    result = probes.ping(plan.lab.node_ns[node.id], src, dst, timeout=1.5)
    now = plan.em.label(rec.target) if rec.target else "none"
    mode = "rebalance" if rebalance else "no_rebalance"
    flow = f"existing flow {node.label} -> {dst} (ICMP) after {victim} failed"
    if rebalance:
        ok = result.ok and now != victim
        detail = f"{result.detail}; moved to {now} ({mode})"
    else:
        ok = not result.ok and now == victim
        detail = f"{result.detail}; stays with {victim}, lost ({mode}, AWS's default)"
    plan.rows.append(Row("5 failure", flow, ok, appliance=now, detail=detail))

"""Checks after the probes: the GWLB's 8,500-byte limit with single ICMP packets from a
management host, and what the appliances themselves say about the flows they carried (their
flow logs and /metrics). Uses lab.plan's public interface."""

from __future__ import annotations

import time

from appliance import health
from lab import evidence, probes, tgw
from lab.plan import Plan
from lab.rows import Row

BIG_OK, BIG_DROPPED = 8400, 8600  # ICMP payload bytes: IP packets of 8,428 and 8,628 bytes


def sizes(plan: Plan) -> None:
    """GWLB carries packets up to 8,500 bytes: one just under passes, one over is dropped."""
    others = plan.roles.management
    webs = plan.reachable_webs(others[0].id) if others else []
    if not webs:
        return
    src, dst = others[0], webs[0]
    source, target, ns = plan.node(src.id), plan.node(dst.id), plan.namespace(src.id)
    blocked = plan.filters.verdict(src.id, source.ip, src.subnet, dst.id, target.ip, 1, 8)
    if blocked:
        for size in (BIG_OK, BIG_DROPPED):
            flow = f"{src.name} -> {dst.name} ICMP {size + 28} bytes"
            plan.add(Row("3 bastion", flow, True, detail=blocked, blocked=True))
        return
    tgw_ns = plan.session.lab.tgw
    before = plan.emulator.drops["over_8500_bytes"], tgw.dropped(tgw_ns)
    small = probes.ping(ns, source.ip, target.ip, size=BIG_OK)
    flow = f"{src.name} -> {dst.name} ICMP {BIG_OK + 28} bytes"
    plan.add(Row("3 bastion", flow, small.ok, detail=small.detail))
    big = probes.ping(ns, source.ip, target.ip, size=BIG_DROPPED, timeout=1.0)
    dropped = plan.emulator.drops["over_8500_bytes"] - before[0]
    # A transit gateway on the way drops it first: it carries no more than 8,500 bytes either.
    by_tgw = tgw.dropped(tgw_ns) - before[1]
    plan.add(
        Row(
            "3 bastion",
            f"{src.name} -> {dst.name} ICMP {BIG_DROPPED + 28} bytes (> 8,500)",
            not big.ok and dropped + by_tgw > 0,
            detail=f"{big.detail}; GWLB dropped {dropped} oversized"
            + (f", the transit gateway {by_tgw}" if tgw_ns else ""),
        )
    )


def appliance_evidence(plan: Plan) -> None:
    """Every flow an appliance carried is in its flow log; its metrics count packets."""
    time.sleep(0.6)  # the appliance writes its flow log every 0.25 s
    for host in plan.roles.appliances:
        mine = [
            record
            for record in plan.carried
            if any(a == host.id for _, a in record.crossings("out") | record.crossings("back"))
        ]
        entries = evidence.flow_log(plan.session, host.id)
        missing = [record.key.text() for record in mine if not evidence.logged(record, entries)]
        metrics = evidence.metrics(plan.session, host.id)
        received = metrics.get(health.PREFIX + health.RECEIVED)
        returned = metrics.get(health.PREFIX + health.RETURNED)
        # Metrics must be readable, and count packets when the appliance carried flows.
        ok = not missing and received is not None and (not mine or received > 0)
        detail = (
            f"flow log has {len(mine) - len(missing)}/{len(mine)} of its flows; "
            f"metrics received={received} returned={returned}"
        )
        if missing:
            detail += f"; missing {missing[:3]}"
        plan.add(
            Row(
                "4 inspection",
                f"{host.name} flow log and metrics",
                ok,
                appliance=host.name,
                detail=detail,
            )
        )

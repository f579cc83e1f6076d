"""The IPv6 rows of a dual-stack set, through lab.plan's public interface: egress from each served
host (ICMPv6 echo, HTTPS, HTTP), the internet client to each dual-stack ALB node, each management
host to the served hosts (ping, HTTP, the large transfers and the 8,500-byte limit), and an
unsolicited SYN from the internet to each served host, which the appliance must drop and log."""

from __future__ import annotations

import time
from functools import partial

from lab import evidence, probes
from lab.addresses6 import CLIENT_IP6, SERVER_IP6
from lab.judging import need_one
from lab.plan import Plan, Task
from lab.probes6 import ECHO_REQUEST, ping6
from lab.rows import Row
from lab.transfers import TRANSFER_BYTES, TRANSFERS, oversized
from verify import routepath
from verify.routepath6 import Simulator6

BIG_OK, BIG_DROPPED = 8400, 8600  # ICMPv6 payload bytes: IPv6 packets of 8,448 and 8,648 bytes
HEADERS6 = 48  # IPv6 and ICMPv6 headers


def steps(plan: Plan) -> None:
    """Every IPv6 row; nothing for a set without IPv6 addresses."""
    plan6 = plan.session.plan6
    if plan6 is None or not plan6.ip:
        return
    ip6 = plan6.ip
    served = sorted((h for h in plan.roles.served if h.id in ip6), key=lambda h: h.name)
    sim = Simulator6(plan.model)
    _egress(plan, served, ip6, sim)
    _alb(plan, ip6)
    _bastion(plan, served, ip6, sim)
    _unsolicited(plan, served, ip6, sim)


def _hops(sim: Simulator6, how, *args) -> str:
    try:
        found = how(sim, "", *args)
    except (routepath.RouteError, KeyError) as exc:
        return f"route tables: {exc}"
    clean = lambda hops: " > ".join(  # noqa: E731
        h.split(":", 1)[-1] for h in hops if not h.startswith("appliance:")
    )
    return f"{clean(found.forward.hops)} | back: {clean(found.back.hops)}"


def _egress(plan: Plan, served, ip6: dict[str, str], sim: Simulator6) -> None:
    step, tasks = "1 egress IPv6", []
    for host in served:
        ns, src = plan.namespace(host.id), ip6[host.id]
        hops = _hops(sim, Simulator6.to_internet6, host.subnet, src)
        later = partial(plan.filters.later, host.id, src, host.subnet, None, SERVER_IP6)
        tasks.append(
            Task(
                f"{host.name} -> internet server (ICMPv6)",
                hops,
                partial(ping6, ns, src, SERVER_IP6, timeout=2.0),
                later(58, ECHO_REQUEST),
            )
        )
        for port in plan.http_ports:
            tasks.append(
                Task(
                    f"{host.name} -> internet server (HTTP{'S' if port == 443 else ''} :{port}, "
                    "IPv6)",
                    hops,
                    partial(probes.http_get, ns, SERVER_IP6, port, timeout=2.0, src=src),
                    later(6, port),
                )
            )
    rows = plan.run_all(tasks, step)
    plan.rows += need_one(rows, lambda row: row.flow.split(" (")[0], step)


def _alb(plan: Plan, ip6: dict[str, str]) -> None:
    """The internet client to each dual-stack ALB node's IPv6 address; the node reaches its
    targets over IPv4, whose inspection the IPv4 rows prove."""
    tasks = []
    for alb in plan.model.albs.values():
        for subnet in alb.subnets:
            node_id = f"{alb.id}@{subnet}"
            if node_id not in ip6:
                continue
            address = ip6[node_id]
            tasks.append(
                Task(
                    f"client -> {plan.node(node_id).label} ({address}) over IPv6",
                    f"internet > igw > {plan.model.label(subnet)}",
                    partial(probes.http_get, plan.client_namespace, address, alb.port, src=""),
                    plan.filters.later(None, CLIENT_IP6, None, node_id, address, 6, alb.port),
                    inspection="any",
                    optional=False,
                )
            )
    plan.run_all(tasks, "2 ALB IPv6")


def _bastion(plan: Plan, served, ip6: dict[str, str], sim: Simulator6) -> None:
    step, tasks = "3 bastion IPv6", []
    for host in plan.roles.management:
        if host.id not in ip6:
            continue
        ns, src = plan.namespace(host.id), ip6[host.id]
        for web in (w for w in plan.reachable_webs(host.id) if w.id in ip6):
            dst = ip6[web.id]
            hops = _hops(sim, Simulator6.between, host.subnet, src, dst)
            later = partial(plan.filters.later, host.id, src, host.subnet, web.id, dst)
            name = f"{host.name} -> {web.name}"
            tasks.append(
                Task(f"{name} (ICMPv6)", hops, partial(ping6, ns, src, dst), later(58, 128))
            )
            get = partial(probes.http_get, ns, dst, 80, src=src)
            tasks.append(Task(f"{name} (HTTP :80, IPv6)", hops, get, later(6, 80)))
            for size, path in TRANSFERS.items():
                get = partial(probes.http_get, ns, dst, 80, path, 3.0, src, TRANSFER_BYTES[path])
                tasks.append(Task(f"{name} (HTTP GET {size}, IPv6)", hops, get, later(6, 80)))
    rows = plan.run_all(tasks, step)
    for row in rows:
        if not row.ok and "GET" in row.flow:
            row.detail += oversized(plan.emulator)
    plan.rows += need_one(rows, lambda row: row.flow.split(" (")[0], step)
    _sizes(plan, served, ip6)


def _sizes(plan: Plan, served, ip6: dict[str, str]) -> None:
    """The GWLB's 8,500 bytes hold for IPv6 packets too: just under passes, just over is
    dropped (no "packet too big" comes back)."""
    hosts = [h for h in plan.roles.management if h.id in ip6]
    webs = [w for w in plan.reachable_webs(hosts[0].id) if w.id in ip6] if hosts else []
    if not webs:
        return
    src, dst = hosts[0], webs[0]
    ns = plan.namespace(src.id)
    if plan.filters.verdict(src.id, ip6[src.id], src.subnet, dst.id, ip6[dst.id], 58, 128):
        return  # the ping rows say which group stops it
    before = plan.emulator.drops["over_8500_bytes"]
    small = ping6(ns, ip6[src.id], ip6[dst.id], size=BIG_OK)
    flow = f"{src.name} -> {dst.name} ICMPv6 {BIG_OK + HEADERS6} bytes"
    plan.add(Row("3 bastion IPv6", flow, small.ok, detail=small.detail))
    big = ping6(ns, ip6[src.id], ip6[dst.id], size=BIG_DROPPED, timeout=1.0)
    dropped = plan.emulator.drops["over_8500_bytes"] - before
    plan.add(
        Row(
            "3 bastion IPv6",
            f"{src.name} -> {dst.name} ICMPv6 {BIG_DROPPED + HEADERS6} bytes (> 8,500)",
            not big.ok and dropped > 0,
            detail=f"{big.detail}; GWLB dropped {dropped} oversized",
        )
    )


def _unsolicited(plan: Plan, served, ip6: dict[str, str], sim: Simulator6) -> None:
    """A SYN from the internet to each served host: through the edge table to the endpoint, to
    the appliance, which drops it by its default rule and logs it. Reaching the host (or not
    reaching an appliance at all) fails."""
    step, results = "4 inspection IPv6", []
    for host in served:
        dst = ip6[host.id]
        result = probes.http_get(plan.client_namespace, dst, 80, timeout=1.5, src=CLIENT_IP6)
        results.append((host, dst, result))
    time.sleep(0.6)  # the appliance writes its flow log every 0.25 s
    for host, dst, result in results:
        hops = _hops(sim, Simulator6.from_internet6, host.subnet, dst)
        flow = f"internet client -> {host.name} (unsolicited TCP SYN :80, IPv6)"
        record = plan.emulator.record(result.proto, result.src, result.dst)
        if result.ok:
            plan.add(Row(step, flow, False, hops, detail=f"answered: {result.detail}"))
            continue
        if record is None or not record.sent["out"]:
            detail = f"{result.detail}; no GWLB endpoint saw it: not inspected"
            plan.add(Row(step, flow, False, hops, detail=detail))
            continue
        targets = {a for _, a in record.sent["out"]}
        appliances = {plan.emulator.label(a) for a in targets}
        drops = [
            e
            for a in targets
            for e in evidence.flow_log(plan.session, a)
            if e.get("src") == CLIENT_IP6 and e.get("dst") == dst and e.get("verdict") == "drop"
        ]
        endpoints = ", ".join(sorted({plan.emulator.label(e) for e, _ in record.sent["out"]}))
        ok = bool(drops) and not record.crossings("out")
        detail = (
            f"{result.detail}; dropped by the appliance (rule {drops[0].get('rule')}, "
            "in its flow log)"
            if drops
            else f"{result.detail}; not in the appliance's flow log as dropped"
        )
        plan.add(Row(step, flow, ok, hops, endpoints, "-", ", ".join(sorted(appliances)), detail))

"""The seed's manual test plan, run by the lab: egress from every web server, the internet client
through every ALB node, the bastion to every web server, each flow checked in the emulator's
records (one endpoint and one appliance, both ways) and in the appliances' flow logs and
metrics. Produces the rows of the PASS/FAIL table; lab.drill adds step 5."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from lab import addresses as A
from lab import cloudinit, evidence, probes
from lab.alb import BACKEND_HEADER
from lab.gwlb import FlowRecord
from lab.session import Session
from verify import routepath

PARALLEL = 8  # probes at once: each mostly waits, on a reply or on its timeout
BIG_OK, BIG_DROPPED = 8400, 8600  # ICMP payload bytes: IP packets of 8,428 and 8,628 bytes


@dataclass
class Row:
    step: str
    flow: str
    ok: bool
    hops: str = ""
    endpoint_out: str = "-"
    endpoint_back: str = "-"
    appliance: str = "-"
    detail: str = ""
    blocked: bool = False  # stopped by a security group, as on AWS (not a failure)

    @property
    def result(self) -> str:
        return "FAIL" if not self.ok else "BLOCKED" if self.blocked else "PASS"


@dataclass(frozen=True)
class Task:
    flow: str
    hops: str
    probe: Callable[[], probes.Result]
    blocked: str  # the security group that stops it, or ''


def _pairs(pairs: set[tuple[str, str]], session: Session, index: int) -> str:
    em = session.emulator
    names = sorted({em.label(p[index]) for p in pairs})
    return ", ".join(names) or "none"


def judge(
    session: Session,
    step: str,
    flow: str,
    result: probes.Result,
    hops: str,
    expect_reply: bool = True,
    blocked: str = "",
) -> Row:
    """A probe's row: answered (or not, as expected), and inspected symmetrically; a probe a
    security group stops must go unanswered."""
    if blocked:
        if result.ok:
            return Row(step, flow, False, hops, detail=f"answered although {blocked}")
        return Row(step, flow, True, hops, detail=f"security group {blocked}", blocked=True)
    rec: FlowRecord | None = None
    if result.src[0]:
        rec = session.emulator.record(result.proto, result.src, result.dst)
    if rec is None:
        if not expect_reply and not result.ok:
            return Row(step, flow, True, hops, detail=result.detail)
        return Row(step, flow, False, hops, detail=f"{result.detail}; no GWLB endpoint saw it")
    out, back = rec.crossings("out"), rec.crossings("back")
    row = Row(
        step,
        flow,
        False,
        hops,
        _pairs(out or set(rec.sent["out"]), session, 0),
        _pairs(back or set(rec.sent["back"]), session, 0),
        _pairs(out | back or set(rec.sent["out"]), session, 1),
        result.detail,
    )
    if rec.sent["out"] and not out:
        row.detail += "; the appliance returned nothing"
    if result.ok != expect_reply:
        return row
    if not expect_reply:
        row.ok = True
        return row
    if not rec.symmetric:
        row.detail += "; NOT inspected by one endpoint and appliance both ways"
        return row
    row.ok = True
    return row


class Plan:
    def __init__(self, session: Session):
        self.s = session
        self.spec, self.lab, self.em = session.spec, session.lab, session.emulator
        # Hops are a courtesy from the route tables; the lab's verdict never depends on them.
        self.sim = routepath.Simulator(session.spec)
        self.rows: list[Row] = []
        self.carried: list[FlowRecord] = []  # flows whose appliances must log them

    # --- helpers ---------------------------------------------------------------------------

    def node(self, ident: str) -> A.Node:
        return self.lab.plan.nodes[ident]

    def hops_out(self, subnet: str, ip: str) -> str:
        try:
            f = self.sim.to_internet("", subnet, ip)
        except (routepath.RouteError, KeyError) as exc:
            return f"route tables: {exc}"
        return _hops(f)

    def hops_between(self, subnet: str, src: str, dst: str) -> str:
        try:
            f = self.sim.between("", subnet, src, dst)
        except (routepath.RouteError, KeyError) as exc:
            return f"route tables: {exc}"
        return _hops(f)

    def web_text(self, host_id: str) -> str:
        boot = cloudinit.parse(self.spec.hosts[host_id].user_data)
        for unit in boot.enabled_units():
            argv = list(unit.exec_start)
            if "--directory" in argv:
                index = boot.file(argv[argv.index("--directory") + 1].rstrip("/") + "/index.html")
                if index:
                    return index.content.decode().strip()
        return ""

    def add(self, row: Row, result: probes.Result | None = None) -> Row:
        self.rows.append(row)
        if result is not None and row.ok and result.src[0]:
            rec = self.em.record(result.proto, result.src, result.dst)
            if rec is not None:
                self.carried.append(rec)
        return row

    # --- the steps ------------------------------------------------------------------------

    def run_all(self, tasks: list[Task], step: str, expect: bool = True) -> list[Row]:
        """Probes of one step run side by side (each waits on its own timeout); rows keep order."""
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            results = list(pool.map(lambda t: t.probe(), tasks))
        rows = []
        for t, result in zip(tasks, results, strict=True):
            row = judge(self.s, step, t.flow, result, t.hops, expect, t.blocked)
            rows.append(self.add(row, result))
        return rows

    def need_one(self, rows: list[Row], group: Callable[[Row], str], step: str) -> None:
        """Where security groups stop every probe of a pair, that pair has no way through."""
        groups: dict[str, list[Row]] = {}
        for r in rows:
            groups.setdefault(group(r), []).append(r)
        for name, members in groups.items():
            if all(r.blocked for r in members):
                self.rows.append(
                    Row(step, f"{name}: any probe", False, detail="security groups allow none")
                )

    @property
    def http_ports(self) -> tuple[int, ...]:
        """HTTP on 80; with security groups also on 443, all the web servers may send out."""
        return (80, 443) if self.s.security_groups else (80,)

    def egress(
        self,
        step: str = "1 egress",
        suffix: str = "",
        timeout: float = 2.0,
        icmp: bool = True,
        expect: bool = True,
        ports: tuple[int, ...] | None = None,
    ) -> list[Row]:
        tasks: list[Task] = []
        server = A.SERVER_IP
        for host in sorted(self.spec.hosts_of("web"), key=lambda h: h.name):
            n, ns = self.node(host.id), self.lab.node_ns[host.id]
            hops = self.hops_out(host.subnet, n.ip)
            if icmp:
                tasks.append(
                    Task(
                        f"{host.name} -> internet server (ICMP){suffix}",
                        hops,
                        partial(probes.ping, ns, n.ip, server, timeout=timeout),
                        self.s.blocked(host.id, n.ip, None, server, 1, 8),
                    )
                )
            for port in ports or self.http_ports:
                tasks.append(
                    Task(
                        f"{host.name} -> internet server (HTTP :{port}){suffix}",
                        hops,
                        partial(probes.http_get, ns, server, port, timeout=timeout, src=n.ip),
                        self.s.blocked(host.id, n.ip, None, server, 6, port),
                    )
                )
        rows = self.run_all(tasks, step, expect)
        self.need_one(rows, lambda r: r.flow.split(" (")[0], step)
        return rows

    def alb(self) -> None:
        webs = {h.id: self.web_text(h.id) for h in self.spec.hosts_of("web")}
        nodes = [(alb, sid) for alb in self.spec.albs.values() for sid in alb.subnets]
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            found = list(pool.map(lambda a: self._through_alb_node(a[0], a[1], webs), nodes))
        for (alb, sid), (seen, failures) in zip(nodes, found, strict=True):
            node = self.node(f"{alb.id}@{sid}")
            for hid, _ in sorted(alb.targets, key=lambda t: webs.get(t[0], "")):
                web, text = self.node(hid), webs.get(hid, "")
                flow = f"client -> {node.label} ({node.public_ip}) -> {self.spec.hosts[hid].name}"
                hops = "internet > igw > ALB node > " + self.hops_between(sid, node.ip, web.ip)
                blocked = self.s.blocked(
                    None, A.CLIENT_IP, node.id, node.ip, 6, alb.port
                ) or self.s.blocked(node.id, node.ip, hid, web.ip, 6, dict(alb.targets)[hid])
                if blocked:  # the ALB is the way in: a security group in its way is a failure
                    self.add(Row("2 ALB", flow, False, hops, detail=f"blocked: {blocked}"))
                    continue
                if web.ip not in seen:
                    why = "; ".join(sorted(set(failures))) or "never answered"
                    self.add(Row("2 ALB", flow, False, hops, detail=f"no '{text}': {why}"))
                    continue
                result = seen[web.ip]
                self.add(judge(self.s, "2 ALB", flow, result, hops), result)

    def _through_alb_node(self, alb, sid: str, webs: dict[str, str]):
        """GETs through one ALB node until every target answered, or each had a turn to fail;
        the backend connection of each answer, by target address, and what went wrong."""
        node = self.node(f"{alb.id}@{sid}")
        wanted = {webs.get(hid, "") for hid, _ in alb.targets}
        seen: dict[str, probes.Result] = {}
        failures: list[str] = []
        for _ in range(2 * len(alb.targets) + 1):
            if len(failures) >= len(alb.targets) or len(seen) == len(alb.targets):
                break
            r = probes.http_get(self.lab.client, node.public_ip, alb.port, timeout=3.0)
            backend = r.headers.get(BACKEND_HEADER.lower(), "")
            if not r.ok or not backend:
                failures.append(r.detail)
                continue
            local, target = backend.split()
            host, port = local.rsplit(":", 1)
            thost, tport = target.rsplit(":", 1)
            inner = probes.Result(
                True, f"{r.detail} '{r.body}'", (host, int(port)), (thost, int(tport)), 6
            )
            seen.setdefault(thost, inner)
            if r.body not in wanted:
                failures.append(f"unexpected answer {r.body!r}")
        return seen, failures

    def reachable_webs(self, host_id: str) -> list:
        """Web servers in the host's own VPC: VPCs here share no route (separated-vpc's bastion
        reaches the other VPCs' web servers through Session Manager, which is not emulated)."""
        vpc = self.spec.vpc_of(self.spec.hosts[host_id].subnet)
        webs = [h for h in self.spec.hosts_of("web") if self.spec.vpc_of(h.subnet) == vpc]
        return sorted(webs, key=lambda h: h.name)

    def bastion(self) -> None:
        tasks = []
        for host in sorted(self.spec.hosts_of("other"), key=lambda h: h.name):
            n, ns = self.node(host.id), self.lab.node_ns[host.id]
            for web in self.reachable_webs(host.id):
                w = self.node(web.id)
                hops = self.hops_between(host.subnet, n.ip, w.ip)
                tasks.append(
                    Task(
                        f"{host.name} -> {web.name} (ICMP)",
                        hops,
                        partial(probes.ping, ns, n.ip, w.ip),
                        self.s.blocked(host.id, n.ip, web.id, w.ip, 1, 8),
                    )
                )
                tasks.append(
                    Task(
                        f"{host.name} -> {web.name} (HTTP :80)",
                        hops,
                        partial(probes.http_get, ns, w.ip, src=n.ip),
                        self.s.blocked(host.id, n.ip, web.id, w.ip, 6, 80),
                    )
                )
        rows = self.run_all(tasks, "3 bastion")
        self.need_one(rows, lambda r: r.flow.split(" (")[0], "3 bastion")

    def sizes(self) -> None:
        """GWLB carries packets up to 8,500 bytes: one just under passes, one over is dropped."""
        others = sorted(self.spec.hosts_of("other"), key=lambda h: h.name)
        webs = self.reachable_webs(others[0].id) if others else []
        if not webs:
            return
        src, dst = others[0], webs[0]
        n, w, ns = self.node(src.id), self.node(dst.id), self.lab.node_ns[src.id]
        blocked = self.s.blocked(src.id, n.ip, dst.id, w.ip, 1, 8)
        if blocked:
            for size in (BIG_OK, BIG_DROPPED):
                flow = f"{src.name} -> {dst.name} ICMP {size + 28} bytes"
                self.rows.append(Row("3 bastion", flow, True, detail=blocked, blocked=True))
            return
        before = self.em.drops["over_8500_bytes"]
        ok = probes.ping(ns, n.ip, w.ip, size=BIG_OK)
        self.rows.append(
            Row(
                "3 bastion",
                f"{src.name} -> {dst.name} ICMP {BIG_OK + 28} bytes",
                ok.ok,
                detail=ok.detail,
            )
        )
        big = probes.ping(ns, n.ip, w.ip, size=BIG_DROPPED, timeout=1.0)
        dropped = self.em.drops["over_8500_bytes"] - before
        self.rows.append(
            Row(
                "3 bastion",
                f"{src.name} -> {dst.name} ICMP {BIG_DROPPED + 28} bytes (> 8,500)",
                not big.ok and dropped > 0,
                detail=f"{big.detail}; GWLB dropped {dropped} oversized",
            )
        )

    def appliance_evidence(self) -> None:
        """Every flow an appliance carried is in its flow log; its metrics count packets."""
        time.sleep(0.6)  # the appliance writes its flow log every 0.25 s
        for host in sorted(self.spec.hosts_of("appliance"), key=lambda h: h.name):
            mine = [
                r
                for r in self.carried
                if any(a == host.id for _, a in r.crossings("out") | r.crossings("back"))
            ]
            entries = evidence.flow_log(self.s, host.id)
            missing = [r.key.text() for r in mine if not evidence.logged(r, entries)]
            metrics = evidence.metrics(self.s, host.id)
            received = metrics.get("gwlb_appliance_packets_received_total")
            returned = metrics.get("gwlb_appliance_packets_returned_total")
            # Metrics must be readable, and count packets when the appliance carried flows.
            ok = not missing and received is not None and (not mine or received > 0)
            detail = (
                f"flow log has {len(mine) - len(missing)}/{len(mine)} of its flows; "
                f"metrics received={received} returned={returned}"
            )
            if missing:
                detail += f"; missing {missing[:3]}"
            self.rows.append(
                Row(
                    "4 inspection",
                    f"{host.name} flow log and metrics",
                    ok,
                    appliance=host.name,
                    detail=detail,
                )
            )


def _hops(f: routepath.FlowResult) -> str:
    def clean(hops):
        return " > ".join(h.split(":", 1)[-1] for h in hops if not h.startswith("appliance:"))

    return f"{clean(f.forward.hops)} | back: {clean(f.back.hops)}"


def table(rows: list[Row]) -> str:
    head = ("result", "step", "flow", "endpoint out", "endpoint back", "appliance", "hops / detail")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        extra = "; ".join(x for x in (r.hops, r.detail) if x)
        lines.append(
            f"| {r.result} | {r.step} | {r.flow} | {r.endpoint_out} | "
            f"{r.endpoint_back} | {r.appliance} | {extra} |"
        )
    return "\n".join(lines)

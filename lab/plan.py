"""Probing: the seed's test plan with real packets (egress from every served host, the internet
client through every ALB node, each management host to the served hosts), the readiness paths
(HTTPS out of every host that signals CloudFormation or needs Session Manager) and large
transfers. Each probe becomes a row through lab.judging; lab.checks adds packet sizes and the
appliances' evidence, lab.drill the failure drill, through this class's public methods."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from lab import probes, transit
from lab.addresses import SERVER_IP, Node
from lab.filters import Filters
from lab.flows import FlowRecord
from lab.judging import judge, need_one
from lab.roles import Roles
from lab.rows import Row
from lab.session import Session
from lab.transfers import TRANSFER_BYTES, TRANSFERS, oversized
from verify import routepath
from verify.model import Host

PARALLEL = 8  # probes at once: each mostly waits, on a reply or on its timeout


@dataclass(frozen=True)
class Task:
    flow: str
    hops: str
    probe: Callable[[], probes.Result]
    blocked: Callable[[probes.Result], str]  # the group or ACL rule that stops it, or ''
    inspection: str = "required"
    optional: bool = True  # may be BLOCKED; a needed probe that is blocked fails


class Plan:
    def __init__(self, session: Session, roles: Roles):
        self.session, self.roles = session, roles
        self.model, self.emulator = session.model, session.emulator
        # Hops are a courtesy from the route tables; the lab's verdict never depends on them.
        self.simulator = routepath.Simulator(session.model)
        self.rows: list[Row] = []
        self.carried: list[FlowRecord] = []  # flows whose appliances must log them

    # --- the public interface (lab.drill, lab.checks) -------------------------------------

    def node(self, ident: str) -> Node:
        return self.session.lab.plan.nodes[ident]

    def namespace(self, ident: str) -> str:
        return self.session.lab.node_ns[ident]

    def node_with_address(self, address: str) -> Node:
        return next(n for n in self.session.lab.plan.nodes.values() if n.ip == address)

    @property
    def client_namespace(self) -> str:
        """The internet client's namespace (it reaches the ALB nodes' public addresses)."""
        return self.session.lab.client

    @property
    def filters(self) -> Filters:
        """Which security group or ACL rule stops a packet (lab.filters)."""
        return self.session.filters

    def add(self, row: Row, result: probes.Result | None = None) -> Row:
        self.rows.append(row)
        if result is not None and row.ok and result.src[0]:
            record = self.emulator.record(result.proto, result.src, result.dst)
            if record is not None:
                self.carried.append(record)
        return row

    def stop_services(self, host_id: str) -> None:
        for service in self.session.hosts.of(host_id):
            service.stop()

    def start_services(self, host_id: str) -> None:
        for service in self.session.hosts.of(host_id):
            service.start()

    def health(self, host_id: str) -> str:
        return self.emulator.targets[host_id].health.state

    @property
    def time_scale(self) -> float:
        return self.session.scale

    @property
    def http_ports(self) -> tuple[int, ...]:
        """HTTP on 80 and HTTPS on 443 (plain HTTP on the lab's internet server)."""
        return (80, 443)

    def hops_out(self, subnet: str, address: str) -> str:
        try:
            found = self.simulator.to_internet("", subnet, address)
        except (routepath.RouteError, KeyError) as exc:
            if not self.node_with_address(address).public_ip:
                return f"route tables: {exc}"
            try:  # a host with its own public address goes straight out, and back the same way
                start = routepath.Trace([f"from:{self.model.label(subnet)}"])
                trace = self.simulator.route(SERVER_IP, subnet, start)
            except (routepath.RouteError, KeyError):
                return f"route tables: {exc}"
            return _clean(trace.hops)
        return _hops(found)

    def hops_between(self, subnet: str, src: str, dst: str) -> str:
        try:
            found = self.simulator.between("", subnet, src, dst)
        except (routepath.RouteError, KeyError) as exc:
            return f"route tables: {exc}"
        return _hops(found)

    def run_all(self, tasks: list[Task], step: str, expect: bool = True) -> list[Row]:
        """Probes of one step run side by side (each waits on its own timeout); rows keep order."""
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            results = list(pool.map(lambda task: task.probe(), tasks))
        rows = []
        for task, result in zip(tasks, results, strict=True):
            row = judge(
                self.emulator,
                step,
                task.flow,
                result,
                task.hops,
                expect,
                task.blocked(result),
                task.inspection,
                task.optional,
            )
            if "the appliance returned nothing" in row.detail:
                row.detail += self._geneve_note(row.appliance)
            rows.append(self.add(row, result))
        return rows

    def _geneve_note(self, appliances: str) -> str:
        """Why an appliance returned nothing, when a group or ACL stops Geneve from its GWLB."""
        notes = []
        for host in self.roles.appliances:
            if host.name not in appliances.split(", "):
                continue
            for gwlb in self.model.gwlbs.values():
                zone = self.model.subnets[host.subnet].az
                near = [s for s in gwlb.subnets if self.model.subnets[s].az == zone]
                node = self.node(f"{gwlb.id}@{(near or list(gwlb.subnets))[0]}")
                address = self.node(host.id).ip
                found = self.filters.verdict(None, node.ip, node.subnet, host.id, address, 17, 6081)
                if found:
                    notes.append(f"Geneve to {host.name}: {found}")
        return "".join(f"; {note}" for note in notes)

    # --- step 1: egress and the readiness paths --------------------------------------------

    def _out(self, host: Host, port: int | None, suffix: str, timeout: float, **kw) -> Task:
        node, ns = self.node(host.id), self.namespace(host.id)
        filters = self.filters
        if port is None:
            what, probe = "ICMP", partial(probes.ping, ns, node.ip, SERVER_IP, timeout=timeout)
            blocked = filters.later(host.id, node.ip, host.subnet, None, SERVER_IP, 1, 8)
        else:
            what = f"HTTP{'S' if port == 443 else ''} :{port}"
            probe = partial(probes.http_get, ns, SERVER_IP, port, timeout=timeout, src=node.ip)
            blocked = filters.later(host.id, node.ip, host.subnet, None, SERVER_IP, 6, port)
        why = self.roles.needs_https.get(host.id) if port == 443 and not suffix else None
        flow = f"{host.name} -> internet server ({what}){f' ({why})' if why else ''}{suffix}"
        return Task(flow, self.hops_out(host.subnet, node.ip), probe, blocked, **kw)

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
        for host in sorted(self.roles.served, key=lambda h: h.name):
            if icmp:
                tasks.append(self._out(host, None, suffix, timeout))
            for port in ports or self.http_ports:
                needed = port == 443 and host.id in self.roles.needs_https
                tasks.append(self._out(host, port, suffix, timeout, optional=not needed))
        rows = self.run_all(tasks, step, expect)
        self.rows += need_one(rows, lambda row: row.flow.split(" (")[0], step)
        return rows

    def readiness(self) -> None:
        """HTTPS out of every other host that signals CloudFormation or needs Session Manager:
        without it the stack never completes, or the host cannot be managed."""
        served = {host.id for host in self.roles.served}
        appliances = {host.id for host in self.roles.appliances}
        tasks = []
        for host in sorted(self.model.hosts.values(), key=lambda h: h.name):
            if host.id in served or host.id not in self.roles.needs_https:
                continue
            inspection = "none" if host.id in appliances else "any"
            tasks.append(self._out(host, 443, "", 2.0, inspection=inspection, optional=False))
        self.run_all(tasks, "1 readiness")

    # --- step 2, through the ALB, is lab.through_alb.step(plan) ----------------------------

    # --- step 3: from each management host ------------------------------------------------

    def reachable_webs(self, host_id: str) -> list[Host]:
        """Served hosts in the host's own VPC, and those its route table sends through a transit
        gateway. Other VPCs share no route (separated-vpc's bastion reaches the other VPCs' web
        servers through Session Manager, which is not emulated)."""
        subnet = self.model.hosts[host_id].subnet
        webs = [
            host
            for host in self.roles.served
            if self.model.vpc_of(host.subnet) == self.model.vpc_of(subnet)
            or transit.via_tgw(self.model, subnet, self.node(host.id).ip)
        ]
        return sorted(webs, key=lambda h: h.name)

    def pair(self, host: Host, web: Host, label: str = "", transfers: bool = True) -> list[Task]:
        """ICMP and HTTP from a host to a served host, and the large transfers when asked."""
        node, ns, target = self.node(host.id), self.namespace(host.id), self.node(web.id)
        filters = self.filters
        hops = self.hops_between(host.subnet, node.ip, target.ip)
        icmp = filters.later(host.id, node.ip, host.subnet, web.id, target.ip, 1, 8)
        http = filters.later(host.id, node.ip, host.subnet, web.id, target.ip, 6, 80)
        flow = f"{host.name} -> {web.name}{label}"
        tasks = [
            Task(f"{flow} (ICMP)", hops, partial(probes.ping, ns, node.ip, target.ip), icmp),
            Task(
                f"{flow} (HTTP :80)",
                hops,
                partial(probes.http_get, ns, target.ip, src=node.ip),
                http,
            ),
        ]
        for size, path in TRANSFERS.items() if transfers else ():
            get = partial(
                probes.http_get, ns, target.ip, 80, path, 3.0, node.ip, TRANSFER_BYTES[path]
            )
            tasks.append(Task(f"{flow} (HTTP GET {size})", hops, get, http))
        return tasks

    def bastion(self) -> None:
        tasks = []
        for host in self.roles.management:
            for web in self.reachable_webs(host.id):
                tasks += self.pair(host, web)
        rows = self.run_all(tasks, "3 bastion")
        for row in rows:
            if not row.ok and "GET" in row.flow:
                row.detail += oversized(self.emulator)
        self.rows += need_one(rows, lambda row: row.flow.split(" (")[0], "3 bastion")


def _clean(hops: list[str]) -> str:
    return " > ".join(h.split(":", 1)[-1] for h in hops if not h.startswith("appliance:"))


def _hops(found: routepath.FlowResult) -> str:
    return f"{_clean(found.forward.hops)} | back: {_clean(found.back.hops)}"

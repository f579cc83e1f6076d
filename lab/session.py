"""One running lab: the namespaces, the GWLB emulator, the ALB nodes and the hosts' processes,
brought up in order and always torn down, whatever happened in between."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from lab import acl, network, probes, security, session6
from lab.addresses import SERVER_IP
from lab.addresses6 import Plan6
from lab.alb import AlbNode, Backend
from lab.filters import Filters
from lab.gwlb import Emulator
from lab.hosts import Hosts, StartError, python_for_hosts, wait_for
from lab.nsutil import nft, socket_in
from verify.model import SetModel

INTERNET_PORTS = (80, 443)  # 443: the readiness signals and Session Manager go out over HTTPS
SCRATCH_PREFIX = "gwlb-lab-"


class Session:
    def __init__(
        self,
        model: SetModel,
        scale: float,
        policy: bytes | None = None,
        token: str | None = None,
        security_groups: bool = True,
        stand_ins: tuple[str, ...] = (),
    ):
        self.model, self.scale, self.policy = model, scale, policy
        self.security_groups = security_groups
        self.stand_ins = stand_ins  # appliance hosts that run our appliance in a vendor's place
        self.token = token or str(os.getpid())
        self.base: Path | None = None  # the scratch directory, made by up()
        self.python, self.python_note = python_for_hosts()
        self.lab: network.Lab | None = None
        self.emulator: Emulator | None = None
        self.filters: Filters | None = None
        self.albs: list[AlbNode] = []
        self.plan6: Plan6 | None = None  # the IPv6 addresses, for a dual-stack set
        self.hosts = Hosts(Path(tempfile.gettempdir()), self.python)

    def up(self) -> None:
        model = self.model
        # Made here, not in __init__: down() removes it, whatever interrupts what follows.
        self.base = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{self.token}-"))
        self.hosts.base = self.base
        self.lab = network.Lab(self.token, model, network.plan_for(model))
        network.build(self.lab)
        lab = self.lab
        self.plan6 = session6.build(self)
        self.filters = Filters(model, lab.plan, self.security_groups)
        self.emulator = Emulator(
            model, lab.plan, lab.router, lab.node_ns, self.scale, self.stand_ins
        )
        self.emulator.open()
        network.install_routes(lab)
        session6.install_routes(self)
        self.emulator.start()
        if self.security_groups:
            for node_id, groups in self.filters.grouped().items():
                rules = security.ruleset(
                    [model.security_groups[g] for g in groups], self.filters.members
                )
                nft(lab.node_ns[node_id], rules)
            for vpc, router in lab.router.items():
                rules = acl.ruleset(model, lab.plan, vpc)
                if rules:
                    nft(router, rules)
        session6.security_groups(self)
        self.hosts.internet_server(lab.server, SERVER_IP, INTERNET_PORTS)
        session6.internet_server(self, INTERNET_PORTS)
        for host in model.hosts.values():
            if host.id in self.stand_ins:
                group = model.target_groups[next(iter(model.gwlbs.values())).target_group]
                self.hosts.boot_stand_in(host, lab.node_ns[host.id], group.health.port)
                continue
            policy = self.policy if host.role == "appliance" else None
            self.hosts.boot(host, lab.node_ns[host.id], policy)
        for alb in model.albs.values():
            group = model.target_groups[alb.target_group]
            targets = [
                Backend(host_id, model.hosts[host_id].name, lab.plan.nodes[host_id].ip, port)
                for host_id, port in alb.targets
            ]
            for subnet in alb.subnets:
                node = lab.plan.nodes[f"{alb.id}@{subnet}"]
                balancer = AlbNode(
                    node.label,
                    lab.node_ns[node.id],
                    node.ip,
                    alb.port,
                    targets,
                    group.health,
                    self.scale,
                )
                balancer.start()
                session6.listen(self, balancer, node.id)
                self.albs.append(balancer)

    def wait_ready(self, timeout: float) -> list[str]:
        """Waits for appliances and ALB targets to turn healthy; returns what never did."""
        emulator = self.emulator
        wait_for(
            lambda: all(_listening(self.lab.server, SERVER_IP, p) for p in INTERNET_PORTS),
            timeout,
        )
        session6.wait_ready(self, INTERNET_PORTS, timeout)
        appliances = [h.id for h in self.model.hosts_of("appliance")]
        # The ALB's checks cross the GWLB: they start once the appliances are healthy (or one of
        # them died), so that a slow appliance start-up cannot mark web servers unhealthy.
        units = [s for s in self.hosts.services if s.host.role == "appliance"]
        wait_for(
            lambda: (
                all(emulator.targets[a].health.healthy for a in appliances)
                or any(not s.running() for s in units)
            ),
            timeout,
        )
        for node in self.albs:
            node.start_checks()
        wait_for(
            lambda: (
                all(emulator.targets[a].health.state != "initial" for a in appliances)
                and all(t.health.state != "initial" for n in self.albs for t in n.targets)
            ),
            timeout,
        )
        missing = [
            f"{emulator.targets[a].label} ({emulator.targets[a].health.state})"
            for a in appliances
            if not emulator.targets[a].health.healthy
        ]
        missing += self._unready(appliances)
        for service in self.hosts.services:
            if service.error:
                missing.append(service.error)
            elif not service.running():
                # The log goes with the lab's scratch directory: quote its end here.
                tail = service.log.read_text(errors="replace").strip().splitlines()[-2:]
                code = service.proc.returncode if service.proc else "?"
                missing.append(
                    f"{service.host.name}: {service.unit.name} exited ({code})"
                    + (f": {' / '.join(tail)}" if tail else "")
                )
        return missing

    def _unready(self, appliances: list[str]) -> list[str]:
        """Healthy appliances whose readiness signal would still wait: their /ready (what the
        signal script asks) must say the GWLB's own checks found them healthy."""
        unready = []
        for host_id in appliances:
            target = self.emulator.targets[host_id]
            # Only a host that signals waits on /ready; a stand-in's image would not signal.
            if not target.health.healthy or host_id in self.stand_ins:
                continue
            if not self.model.hosts[host_id].signals:
                continue
            group = self.model.groups.get(self.model.hosts[host_id].group or "")
            ports = [
                self.model.target_groups[t].health.port
                for t in (group.target_groups if group else ())
                if t in self.model.target_groups
            ]
            if not ports:
                continue
            got = probes.http_get(self.lab.node_ns[host_id], "127.0.0.1", ports[0], "/ready")
            if not got.ok:
                unready.append(f"{target.label}: /ready {got.detail}, the signal would wait")
        return unready

    def down(self) -> None:
        for node in self.albs:
            node.stop()
        self.albs.clear()
        if self.emulator:
            self.emulator.close()
            self.emulator = None
        self.hosts.stop_all()
        if self.lab:
            network.teardown(self.lab)
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)


def _listening(ns: str, address: str, port: int) -> bool:
    try:
        with socket_in(ns) as sock:
            sock.settimeout(0.5)
            sock.connect((address, port))
        return True
    except OSError:
        return False


__all__ = ["Session", "StartError"]

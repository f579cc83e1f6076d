"""One running lab: the namespaces, the GWLB emulator, the ALB nodes and the hosts' processes,
brought up in order and always torn down, whatever happened in between."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from lab import addresses as A
from lab import network, security
from lab.alb import AlbNode, Backend
from lab.gwlb import Emulator
from lab.hosts import Hosts, StartError, python_for_hosts, wait_for
from lab.nsutil import nft, socket_in
from verify.model import SetModel

INTERNET_PORTS = (80, 443)  # 443 too: the web servers' security group lets only HTTPS out


class Session:
    def __init__(
        self,
        spec: SetModel,
        scale: float,
        policy: bytes | None = None,
        token: str | None = None,
        security_groups: bool = False,
    ):
        self.spec, self.scale, self.policy = spec, scale, policy
        self.security_groups = security_groups
        self.token = token or str(os.getpid())
        self.base = Path(tempfile.mkdtemp(prefix=f"gwlb-lab-{self.token}-"))
        self.python, self.python_note = python_for_hosts()
        self.lab: network.Lab | None = None
        self.emulator: Emulator | None = None
        self.albs: list[AlbNode] = []
        self.hosts = Hosts(self.base, self.python)

    def up(self) -> None:
        spec = self.spec
        self.lab = lab = network.build(self.token, spec)
        self.emulator = Emulator(spec, lab.plan, lab.router, lab.node_ns, self.scale)
        self.emulator.open()
        network.install_routes(lab)
        self.emulator.start()
        if self.security_groups:
            for node_id, groups in self._grouped().items():
                rules = security.ruleset([spec.security_groups[g] for g in groups], self.members)
                nft(lab.node_ns[node_id], rules)
        self.hosts.internet_server(lab.server, A.SERVER_IP, INTERNET_PORTS)
        for host in spec.hosts.values():
            policy = self.policy if host.role == "appliance" else None
            self.hosts.boot(host, lab.node_ns[host.id], policy)
        for alb in spec.albs.values():
            tg = spec.target_groups[alb.target_group]
            targets = [
                Backend(hid, spec.hosts[hid].name, lab.plan.nodes[hid].ip, port)
                for hid, port in alb.targets
            ]
            for sid in alb.subnets:
                node = lab.plan.nodes[f"{alb.id}@{sid}"]
                albnode = AlbNode(
                    node.label,
                    lab.node_ns[node.id],
                    node.ip,
                    alb.port,
                    targets,
                    tg.health,
                    self.scale,
                )
                albnode.start()
                self.albs.append(albnode)

    def groups_of(self, node_id: str | None) -> tuple[str, ...]:
        """Security groups on a host or an ALB node (ALB node ids are "<alb>@<subnet>")."""
        if node_id is None:
            return ()
        if node_id in self.spec.hosts:
            return self.spec.hosts[node_id].security_groups
        alb = self.spec.albs.get(node_id.split("@", 1)[0])
        return alb.security_groups if alb else ()

    def _grouped(self) -> dict[str, tuple[str, ...]]:
        ids = list(self.spec.hosts) + [
            f"{a.id}@{s}" for a in self.spec.albs.values() for s in a.subnets
        ]
        return {i: self.groups_of(i) for i in ids if self.groups_of(i)}

    def members(self, group: str) -> set[str]:
        return {self.lab.plan.nodes[i].ip for i, g in self._grouped().items() if group in g}

    def blocked(
        self, src: str | None, src_ip: str, dst: str | None, dst_ip: str, proto: int, port: int
    ) -> str:
        """Which security group stops this packet; '' when none does or they are not emulated."""
        if not self.security_groups:
            return ""
        return security.verdict(
            self.spec,
            self.members,
            self.groups_of(src),
            src_ip,
            self.groups_of(dst),
            dst_ip,
            proto,
            port,
        )

    def wait_ready(self, timeout: float) -> list[str]:
        """Waits for appliances and ALB targets to turn healthy; returns what never did."""
        em = self.emulator
        wait_for(
            lambda: all(_listening(self.lab.server, A.SERVER_IP, p) for p in INTERNET_PORTS),
            timeout,
        )
        appliances = [h.id for h in self.spec.hosts_of("appliance")]
        # The ALB's checks cross the GWLB: they start once the appliances are healthy (or one of
        # them died), so that a slow appliance start-up cannot mark web servers unhealthy.
        units = [s for s in self.hosts.services if s.host.role == "appliance"]
        wait_for(
            lambda: (
                all(em.targets[a].health.healthy for a in appliances)
                or any(not s.running() for s in units)
            ),
            timeout,
        )
        for node in self.albs:
            node.start_checks()
        wait_for(
            lambda: (
                all(em.targets[a].health.state != "initial" for a in appliances)
                and all(t.health.state != "initial" for n in self.albs for t in n.targets)
            ),
            timeout,
        )
        missing = [
            f"{em.targets[a].label} ({em.targets[a].health.state})"
            for a in appliances
            if not em.targets[a].health.healthy
        ]
        for svc in self.hosts.services:
            if svc.error:
                missing.append(svc.error)
            elif not svc.running():
                # The log goes with the lab's scratch directory: quote its end here.
                tail = svc.log.read_text(errors="replace").strip().splitlines()[-2:]
                missing.append(
                    f"{svc.host.name}: {svc.unit.name} exited "
                    f"({svc.proc.returncode if svc.proc else '?'})"
                    + (f": {' / '.join(tail)}" if tail else "")
                )
        return missing

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
        shutil.rmtree(self.base, ignore_errors=True)


def _listening(ns: str, address: str, port: int) -> bool:
    try:
        with socket_in(ns) as s:
            s.settimeout(0.5)
            s.connect((address, port))
        return True
    except OSError:
        return False


__all__ = ["Session", "StartError"]

"""GWLB endpoints and GWLB emulator: packets routed into an endpoint's TUN device go out in Geneve
(endpoint id, attachment id, flow cookie) to an appliance chosen by a symmetric flow hash, sticky
per flow, over healthy targets (across zones when cross-zone is on; over every target when none is
healthy, as GWLB fails open); what the appliance returns is unwrapped and handed back to the
router as coming from that endpoint. Every flow is recorded."""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, replace

from lab import geneve
from lab.addresses import Plan
from lab.flows import (
    FlowKey,
    FlowRecord,
    flow_key,
    parse_geneve,
    parse_ip,
    pick,
    resource_number,
)
from lab.health import Checker, Health, Target
from lab.nsutil import ip_batch, socket_in, tun_in
from verify.model import SetModel, TargetGroup

GENEVE_PORT = 6081
MAX_PACKET = 8500  # GWLB drops larger packets: it carries up to 8,500 bytes


@dataclass
class Node:
    """A GWLB node: its address in one appliance subnet, and the socket it speaks Geneve from."""

    gwlb: str
    az: str
    ns: str
    ip: str
    sock: socket.socket | None = None


class Emulator:
    def __init__(
        self,
        spec: SetModel,
        plan: Plan,
        router: dict[str, str],
        node_ns: dict[str, str],
        scale: float,
        stand_ins: tuple[str, ...] = (),
    ):
        self.spec, self.plan, self.scale = spec, plan, scale
        self.stand_ins = stand_ins  # our appliance in a vendor's place: checked on its /health
        self.router, self.node_ns = router, node_ns
        self.flows: dict[FlowKey, FlowRecord] = {}
        self.drops: Counter = Counter()
        self.lock = threading.Lock()
        self.tun_fd: dict[str, int] = {}
        self.endpoint_by_number = {resource_number(e, "endpoint"): e for e in spec.endpoints}
        self.nodes: dict[str, list[Node]] = {}
        self.targets: dict[str, Target] = {}  # appliance host id -> target
        self.target_ip: dict[str, str] = {}
        self.target_az: dict[str, str] = {}
        self.checkers: list[Checker] = []
        self.selector = selectors.DefaultSelector()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    # --- set-up ---------------------------------------------------------------------------

    def open(self) -> None:
        """TUN devices for the endpoints, sockets for the GWLB nodes; call before routes."""
        for eid, endpoint in sorted(self.spec.endpoints.items()):
            ns = self.router[self.spec.subnets[endpoint.subnet].vpc]
            dev = self.plan.tun[eid]
            fd = tun_in(ns, dev)
            self.tun_fd[eid] = fd
            ip_batch(ns, [f"link set {dev} mtu 9001", f"link set {dev} up"])
            self.selector.register(fd, selectors.EVENT_READ, ("tun", eid))
        for gid, gwlb in sorted(self.spec.gwlbs.items()):
            for sid in gwlb.subnets:
                node_id = f"{gid}@{sid}"
                ns = self.node_ns[node_id]
                node = Node(gid, self.spec.subnets[sid].az, ns, self.plan.nodes[node_id].ip)
                node.sock = socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
                node.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                # Appliances return Geneve to the GWLB's port 6081 (AWS keeps the UDP ports, swaps
                # the addresses), so the node listens there and also sends from it.
                node.sock.bind((node.ip, GENEVE_PORT))
                node.sock.setblocking(False)
                self.nodes.setdefault(gid, []).append(node)
                self.selector.register(node.sock, selectors.EVENT_READ, ("node", node))
            tg = self.spec.target_groups[gwlb.target_group]
            targets = []
            for host in self.spec.hosts_of("appliance"):
                ip = self.plan.nodes[host.id].ip
                az = self.spec.subnets[host.subnet].az
                probe_from = self.node_in(gid, az).ns
                target = Target(
                    host.id,
                    host.name,
                    ip,
                    probe_from,
                    Health(tg.health.healthy, tg.health.unhealthy),
                )
                self.targets[host.id] = target
                self.target_ip[host.id], self.target_az[host.id] = ip, az
                targets.append(target)
            ours = [t for t in targets if t.id not in self.stand_ins]
            stand_ins = [t for t in targets if t.id in self.stand_ins]
            self.checkers.append(Checker(tg.health, ours, self.scale))
            if stand_ins and tg.health.protocol.upper() != "TCP":
                # The vendor's check path means nothing to our appliance: ask its own.
                own = replace(tg.health, path="/health", matcher="200")
                self.checkers.append(Checker(own, stand_ins, self.scale))
            elif stand_ins:
                self.checkers.append(Checker(tg.health, stand_ins, self.scale))

    def start(self) -> None:
        for checker in self.checkers:
            checker.start()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopped.set()
        for checker in self.checkers:
            checker.stop()
        if self.thread:
            self.thread.join(timeout=5)
        for fd in self.tun_fd.values():
            os.close(fd)
        for nodes in self.nodes.values():
            for node in nodes:
                node.sock.close()
        self.selector.close()

    # --- data path ------------------------------------------------------------------------

    def node_in(self, gwlb: str, az: str) -> Node:
        nodes = self.nodes[gwlb]
        return next((n for n in nodes if n.az == az), nodes[0])

    def _candidates(self, gwlb: str, az: str) -> tuple[list[str], bool]:
        """(targets a new flow may go to, whether GWLB failed open). With no healthy target in
        reach, GWLB sends to all of them regardless of health (AWS: "Target groups for your
        Gateway Load Balancers", health checks: fail open)."""
        balancer = self.spec.gwlbs[gwlb]
        reach = [
            host_id
            for host_id, target in self.targets.items()
            if target.draining_until is None
            and (balancer.cross_zone or self.target_az[host_id] == az)
        ]
        healthy = [host_id for host_id in reach if self.targets[host_id].health.healthy]
        return (healthy, False) if healthy else (reach, True)

    def _loop(self) -> None:
        while not self.stopped.is_set():
            for key, _ in self.selector.select(timeout=0.1):
                kind, what = key.data
                try:
                    if kind == "tun":
                        self._from_endpoint(what)
                    else:
                        self._from_appliance(what)
                except OSError:
                    self.drops["io_error"] += 1

    def _from_endpoint(self, eid: str) -> None:
        fd = self.tun_fd[eid]
        while True:
            try:
                packet = os.read(fd, 65535)
            except BlockingIOError:
                return
            self.to_appliance(eid, packet)

    def to_appliance(self, eid: str, packet: bytes) -> None:
        endpoint = self.spec.endpoints[eid]
        if len(packet) > MAX_PACKET:
            self.drops["over_8500_bytes"] += 1
            return
        parsed = parse_ip(packet)
        if parsed is None:
            self.drops["not_ip"] += 1
            return
        proto, src, dst = parsed
        key = flow_key(proto, src, dst)
        az = self.spec.subnets[endpoint.subnet].az
        tg = self.spec.target_groups[self.spec.gwlbs[endpoint.gwlb].target_group]
        with self.lock:
            rec = self.flows.get(key)
            if rec is None:
                rec = self.flows[key] = FlowRecord(key, src, cookie=zlib.crc32(repr(key).encode()))
            direction = rec.direction(src)
            # Without cross-zone, a flow coming back through another zone's endpoint (a transit
            # gateway without appliance mode) meets that zone's node, which has its own targets.
            zonal = not self.spec.gwlbs[endpoint.gwlb].cross_zone and rec.target is not None
            zonal = zonal and self.target_az.get(rec.target) != az
            target = rec.zonal.get(az) if zonal else rec.target
            if target is None or _moves(tg, self.targets[target]):
                candidates, fail_open = self._candidates(endpoint.gwlb, az)
                if not candidates:
                    rec.dropped["no_target"] += 1
                    self.drops["no_target"] += 1
                    return
                rec.fail_open = fail_open
                if fail_open:
                    self.drops["fail_open"] += 1  # counted: these went to unhealthy targets
                target = pick(key, candidates)
                if zonal:
                    rec.zonal[az] = target
                else:
                    rec.target = target
            rec.sent[direction][(eid, target)] += 1
        options = geneve.aws_options(
            resource_number(eid, "endpoint"), resource_number(eid, "attachment"), rec.cookie
        )
        node = self.node_in(endpoint.gwlb, az)
        data = geneve.build(packet, 0x86DD if packet[0] >> 4 == 6 else 0x0800, options)
        node.sock.sendto(data, (self.target_ip[target], GENEVE_PORT))

    def _from_appliance(self, node: Node) -> None:
        while True:
            try:
                data, peer = node.sock.recvfrom(65535)
            except BlockingIOError:
                return
            self.from_appliance(data, peer[0])

    def from_appliance(self, data: bytes, appliance_ip: str) -> None:
        parsed = parse_geneve(data)
        if parsed is None or 1 not in parsed[1]:
            self.drops["bad_geneve"] += 1
            return
        end, options = parsed
        eid = self.endpoint_by_number.get(int.from_bytes(options[1], "big"))
        inner = data[end:]
        flow = parse_ip(inner)
        if eid is None or flow is None:
            self.drops["unknown_endpoint"] += 1
            return
        target = next((h for h, a in self.target_ip.items() if a == appliance_ip), appliance_ip)
        with self.lock:
            rec = self.flows.get(flow_key(*flow))
            if rec is not None:
                rec.returned[rec.direction(flow[1])][(eid, target)] += 1
        os.write(self.tun_fd[eid], inner)

    # --- views ----------------------------------------------------------------------------

    def record(self, proto: int, src: tuple[str, int], dst: tuple[str, int]) -> FlowRecord | None:
        with self.lock:
            return self.flows.get(flow_key(proto, src, dst))

    def health(self) -> dict[str, str]:
        return {t.label: t.health.state for t in self.targets.values()}

    def wait_healthy(self, ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.targets[i].health.healthy for i in ids):
                return True
            time.sleep(0.05)
        return False

    def label(self, ident: str) -> str:
        """A target's host name, or an endpoint's set-wide label."""
        if ident in self.targets:
            return self.targets[ident].label
        return self.spec.label(ident)


def _moves(group: TargetGroup, target: Target) -> bool:
    """Whether an existing flow leaves its target: a drained one (deregistration delay over) under
    on_deregistration=rebalance, an unhealthy one under on_unhealthy=rebalance."""
    if target.draining_until is not None:
        over = time.monotonic() >= target.draining_until
        return over and group.attributes.get("target_failover.on_deregistration") == "rebalance"
    return group.rebalance and not target.health.healthy

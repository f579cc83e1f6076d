"""GWLB endpoints and GWLB emulator: packets routed into an endpoint's TUN device go out in Geneve
(endpoint id, attachment id, flow cookie) to an appliance chosen by a symmetric flow hash, sticky
per flow, over healthy targets (across zones when cross-zone is on); what the appliance returns
is unwrapped and handed back to the router as coming from that endpoint. Every flow is recorded."""

from __future__ import annotations

import hashlib
import os
import selectors
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field

from lab import geneve
from lab.addresses import Plan
from lab.health import Checker, Health, Target
from lab.nsutil import ip_batch, socket_in, tun_in
from verify.model import SetModel

GENEVE_PORT = 6081
MAX_PACKET = 8500  # GWLB drops larger packets: it carries up to 8,500 bytes
PORTED = (6, 17)  # TCP and UDP flows hash on 5-tuples; other protocols on 3-tuples


@dataclass(frozen=True)
class FlowKey:
    """Both directions of a flow share one key: its two ends in sorted order."""

    proto: int
    a: tuple[str, int]
    b: tuple[str, int]

    def text(self) -> str:
        name = {6: "tcp", 17: "udp", 1: "icmp"}.get(self.proto, str(self.proto))
        return f"{name} {self.a[0]}:{self.a[1]} <> {self.b[0]}:{self.b[1]}"


def parse_ipv4(packet: bytes) -> tuple[int, tuple[str, int], tuple[str, int]] | None:
    """(protocol, (src, port), (dst, port)) of an IPv4 packet; ports are 0 outside TCP/UDP."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 15) * 4
    proto = packet[9]
    src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
    sport = dport = 0
    first_fragment = not struct.unpack("!H", packet[6:8])[0] & 0x1FFF
    if proto in PORTED and first_fragment and len(packet) >= ihl + 4:
        sport, dport = struct.unpack("!HH", packet[ihl : ihl + 4])
    return proto, (src, sport), (dst, dport)


def flow_key(proto: int, src: tuple[str, int], dst: tuple[str, int]) -> FlowKey:
    ends = sorted([src, dst], key=lambda e: (socket.inet_aton(e[0]), e[1]))
    return FlowKey(proto, ends[0], ends[1])


def pick(key: FlowKey, candidates: list[str]) -> str:
    """The same target for both directions of a flow: a hash of its symmetric key."""
    digest = zlib.crc32(f"{key.proto}|{key.a}|{key.b}".encode())
    return sorted(candidates)[digest % len(candidates)]


def parse_geneve(data: bytes) -> tuple[int, dict[int, bytes]] | None:
    """(header length, AWS options by type) of a Geneve packet, or None when malformed."""
    if len(data) < 8 or data[0] >> 6:
        return None
    end = 8 + (data[0] & 63) * 4
    if end > len(data):
        return None
    options, p = {}, 8
    while p + 4 <= end:
        length = (data[p + 3] & 31) * 4
        if struct.unpack("!H", data[p : p + 2])[0] == geneve.AWS_CLASS:
            options[data[p + 2]] = data[p + 4 : p + 4 + length]
        p += 4 + length
    return (end, options) if p == end else None


def resource_number(resource_id: str, salt: str) -> int:
    """A stable 64-bit id for a resource, like AWS's vpce-... and attachment ids."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{resource_id}".encode()).digest()[:8], "big")


@dataclass
class FlowRecord:
    """What the emulator saw of one flow: (endpoint, appliance) per direction, sent and returned."""

    key: FlowKey
    first: tuple[str, int]  # the end that sent the first packet: its direction is "out"
    target: str | None = None
    cookie: int = 0
    sent: dict[str, Counter] = field(default_factory=lambda: {"out": Counter(), "back": Counter()})
    returned: dict[str, Counter] = field(
        default_factory=lambda: {"out": Counter(), "back": Counter()}
    )
    dropped: Counter = field(default_factory=Counter)

    def direction(self, src: tuple[str, int]) -> str:
        return "out" if src == self.first else "back"

    def crossings(self, direction: str) -> set[tuple[str, str]]:
        """(endpoint, appliance) pairs whose packets went to the appliance and came back."""
        return set(self.sent[direction]) & set(self.returned[direction])

    @property
    def symmetric(self) -> bool:
        """Inspected both ways by one endpoint and one appliance."""
        out, back = self.crossings("out"), self.crossings("back")
        return len(out) == 1 and out == back


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
    ):
        self.spec, self.plan, self.scale = spec, plan, scale
        self.router, self.node_ns = router, node_ns
        self.flows: dict[FlowKey, FlowRecord] = {}
        self.drops: Counter = Counter()
        self.lock = threading.Lock()
        self.tun_fd: dict[str, int] = {}
        self.endpoint_by_number = {resource_number(e, "endpoint"): e for e in spec.endpoints}
        self.nodes: dict[str, list[Node]] = {}
        self.targets: dict[str, Target] = {}  # appliance host id -> target
        self.target_ip: dict[str, str] = {}
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
                probe_from = self._node_in(gid, az).ns
                t = Target(
                    host.id,
                    host.name,
                    ip,
                    probe_from,
                    Health(tg.health.healthy, tg.health.unhealthy),
                )
                self.targets[host.id] = t
                self.target_ip[host.id] = ip
                targets.append(t)
            self.checkers.append(Checker(tg.health, targets, self.scale))

    def start(self) -> None:
        for c in self.checkers:
            c.start()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopped.set()
        for c in self.checkers:
            c.stop()
        if self.thread:
            self.thread.join(timeout=5)
        for fd in self.tun_fd.values():
            os.close(fd)
        for nodes in self.nodes.values():
            for n in nodes:
                n.sock.close()
        self.selector.close()

    # --- data path ------------------------------------------------------------------------

    def _node_in(self, gwlb: str, az: str) -> Node:
        nodes = self.nodes[gwlb]
        return next((n for n in nodes if n.az == az), nodes[0])

    def _candidates(self, gwlb: str, az: str) -> list[str]:
        g = self.spec.gwlbs[gwlb]
        return [
            hid
            for hid, t in self.targets.items()
            if t.health.healthy
            and (g.cross_zone or self.spec.subnets[self.spec.hosts[hid].subnet].az == az)
        ]

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
        parsed = parse_ipv4(packet)
        if parsed is None:
            self.drops["not_ipv4"] += 1
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
            target = rec.target
            if target is None or (tg.rebalance and not self.targets[target].health.healthy):
                candidates = self._candidates(endpoint.gwlb, az)
                if not candidates:
                    rec.dropped["no_healthy_target"] += 1
                    self.drops["no_healthy_target"] += 1
                    return
                target = rec.target = pick(key, candidates)
            rec.sent[direction][(eid, target)] += 1
        options = geneve.aws_options(
            resource_number(eid, "endpoint"), resource_number(eid, "attachment"), rec.cookie
        )
        node = self._node_in(endpoint.gwlb, az)
        data = geneve.build(packet, 0x0800, options)
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
        flow = parse_ipv4(inner)
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

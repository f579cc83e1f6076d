"""Per-packet decision: parse, flow table, policy, flow log; counts every outcome."""

import time
from collections.abc import Callable

from . import geneve, packet
from .flows import FlowTable, flow_key
from .policy import Policy

# Largest Geneve payload that fits EC2's 9001-byte jumbo MTU after the outer IPv4+UDP headers.
MAX_PAYLOAD = 9001 - 28
OVERSIZED = "oversized"
MALFORMED = (OVERSIZED,) + geneve.REASONS + packet.REASONS
# One slot per counter in the shared array; flows_active is a gauge, the rest only grow.
COUNTERS = (
    "received",
    "returned",
    "dropped_policy",
    "dropped_error",
    "dropped_send_error",
    "flows_created",
    "flows_evicted",
    "flows_expired",
    "flows_active",
) + tuple("malformed_" + r for r in MALFORMED)
IDX = {name: i for i, name in enumerate(COUNTERS)}
RECEIVED, RETURNED, POLICY, ERROR, SEND_ERROR, CREATED, EVICTED, EXPIRED, ACTIVE = range(9)
_OK = geneve.OK


def flow_line(
    wall: float, g: geneve.Geneve, i: packet.Inner, verdict: str, rule: str, d: str
) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{int(wall % 1 * 1000):03d}Z"
    return (
        f"{stamp} gwlbe={g.endpoint.hex()} attachment={g.attachment.hex()} cookie={g.cookie.hex()}"
        f" proto={packet.proto_text(i.proto)} src={packet.ip_text(i.src)} sport={i.sport}"
        f" dst={packet.ip_text(i.dst)} dport={i.dport} dir={d} verdict={verdict} rule={rule}\n"
    )


class Handler:
    def __init__(
        self,
        policy: Policy,
        table: FlowTable,
        log: Callable[[str], None],
        wall_clock: Callable[[], float] = time.time,
    ):
        self.policy = policy
        self.table = table
        self.log = log
        self.wall_clock = wall_clock
        self.counters: list[float] = [0] * len(COUNTERS)
        self._seen: dict = {}

    def handle(self, data: bytes, now: float) -> bool:
        """True when data should go back to GWLB unchanged; never raises."""
        c = self.counters
        c[RECEIVED] += 1
        try:
            if len(data) > MAX_PAYLOAD:
                c[IDX["malformed_" + OVERSIZED]] += 1
                return False
            # GWLB repeats a flow's Geneve header byte for byte, and parse() reads nothing past
            # the header, so a header that parsed OK once is OK again: skip re-parsing it.
            hdr = data[: 8 + (data[0] & 0x3F) * 4] if data else b""
            g = self._seen.get(hdr)
            if g is None:
                g = geneve.parse(data)
                if g.status != _OK:
                    c[IDX["malformed_" + g.status]] += 1
                    return False
                if len(self._seen) >= 4096:
                    self._seen.clear()
                self._seen[hdr] = g
            i = packet.parse(data, g.header_len, 4 if g.protocol == geneve.PROTO_IPV4 else 6)
            if i.status != _OK:
                c[IDX["malformed_" + i.status]] += 1
                return False
            key, _ = flow_key(g.endpoint, i.proto, i.src, i.sport, i.dst, i.dport)
            table = self.table
            f = table.get(key, now)
            if f is None:
                action, rule, direction = self.policy.decide(
                    i.version, i.proto, i.src, i.dst, i.dport
                )
                f = table.add(key, action == "allow", now)
                c[CREATED] += 1
                self.log(flow_line(self.wall_clock(), g, i, action, rule, direction))
            if f.allow:
                return True
            c[POLICY] += 1
            return False
        except Exception:
            # One bad packet must never cost the worker; the counter makes the bug visible.
            c[ERROR] += 1
            return False

    def sync_flow_counters(self) -> None:
        c, t = self.counters, self.table
        c[EVICTED], c[EXPIRED], c[ACTIVE] = t.evicted, t.expired, len(t)

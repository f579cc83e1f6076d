"""The per-packet decision: fast path, full parse, flow semantics, policy, counters and the
rate-limited flow log. No sockets here: the receiver hands in each datagram."""

import socket
import time

from .flows import DENIED, FIN_IDLE, RST_IDLE, TOUCH, Flow, FlowTable, Fragments, flow_key
from .packet import FIRST, INNER4, NAMES, NEVER, REASONS, Inner, geneve, inner

# Counters of one worker, published to shared memory; malformed reasons follow these.
FIELDS = (
    "received",
    "returned",
    "policy",  # dropped by policy (or a later fragment whose first was dropped or lost)
    "invalid",  # dropped: starts no flow (TCP other than SYN/ACK, ICMP reply, error, redirect)
    "error",  # dropped: unexpected exception (a bug; the worker carries on)
    "send_error",  # dropped: the kernel refused the reply
    "created",  # allowed flows
    "denied",  # new flows the policy dropped (kept apart, so they never evict allowed ones)
    "evicted",
    "expired",
    "active",  # a gauge: flows in the table now
    "log_suppressed",  # flow log lines over the rate limit
    "fragments_held",  # later fragments that came before their first
    "fragments_lost",  # held ones dropped: their first never came, or no room to hold
)
COUNTERS = FIELDS + REASONS
MAX_PAYLOAD = 9001 - 28  # the most Geneve that fits EC2's MTU after outer IPv4 and UDP headers
# Fast path: smallest IPv4 total length by protocol. Only TCP and UDP: their 4 port bytes are
# the same in every packet of a flow (ICMP's hold a checksum). TCP with FIN, SYN or RST takes the
# full parse, which tracks them.
FAST = {6: 40, 17: 28}
UNFRAGMENTED = (b"\0\0", b"\x40\0")  # IPv4 flags and fragment offset: none, or DF only


class Counters:
    """One named slot per counter; `values()` is the published order, COUNTERS."""

    __slots__ = COUNTERS

    def __init__(self, values=None):
        for i, name in enumerate(COUNTERS):
            setattr(self, name, int(values[i]) if values else 0)

    def values(self):
        return [getattr(self, name) for name in COUNTERS]

    def add(self, name):
        setattr(self, name, getattr(self, name) + 1)


def ip_text(addr):
    return socket.inet_ntop(socket.AF_INET6 if len(addr) == 16 else socket.AF_INET, addr)


def utc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


class FlowLog:
    """Lines for new flows, at most `rate` a second (a burst of one second's worth); the rest
    are counted, and summarised in one line a second. Lines wait in `lines` for the writer."""

    def __init__(self, rate, wall_clock=time.time):
        self.rate, self.wall_clock = rate, wall_clock
        self.tokens, self.refilled, self.summarised = rate, 0.0, 0.0
        self.lines, self.suppressed, self.unreported = [], 0, 0

    def allow(self, now):
        tokens = self.tokens + (now - self.refilled) * self.rate
        self.tokens, self.refilled = tokens if tokens < self.rate else self.rate, now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.suppressed += 1
        self.unreported += 1
        return False

    def summarise(self, now):
        """Called every tick: at most once a second, one line for what was suppressed."""
        if self.unreported and now - self.summarised >= 1:
            self.lines.append(
                f"{utc(self.wall_clock())} flow-log suppressed={self.unreported}"
                f" limit={self.rate:g}/s\n"
            )
            self.unreported, self.summarised = 0, now


class Handler:
    """Judges each datagram: True when it goes back to the GWLB. Never raises. Held fragments
    that a first fragment lets pass are put in `released` with the context they came with."""

    def __init__(self, policy, table: FlowTable, log: FlowLog):
        self.policy, self.table, self.log = policy, table, log
        self.gen = 0  # the policy's generation: a flow judged under another is judged again
        self.fragments = Fragments()
        self.counters = Counters()
        self.denied = {}  # (key, source, port) -> dropped Flow; apart from the table
        self.released = []
        # Fast path: the bytes that identify a flow in one direction (Geneve header, inner
        # protocol, addresses and ports) -> its allowed flow, for packets shaped like one that
        # passed the full parse: IPv4 without options, TCP or UDP, not a fragment, lengths in
        # bounds. IPv6 always takes the full parse. A flow enters from its second packet (new
        # flows of one packet, a flood's, stay out); at most two entries (directions) per flow
        # the table can hold, then emptied: flows that left the table never pile up in it.
        self.fast = {}

    def handle(self, d, now: float, ctx=None) -> bool:
        """d: the datagram, bytes (anything else is copied to bytes first)."""
        c = self.counters
        c.received += 1
        n = len(d)
        try:
            if n > MAX_PAYLOAD:
                c.oversized += 1
                return False
            if type(d) is not bytes:
                d = bytes(d)
            key = None
            h = 8 + (d[0] & 63) * 4 if n else n
            if n >= h + 24:
                ihl, size, fragment, p, ports = INNER4.unpack_from(d, h)
                m = FAST.get(p) if ihl == 0x45 else None
                if (
                    m
                    and m <= size <= n - h
                    and fragment in UNFRAGMENTED
                    and (p == 17 or not d[h + 33] & 7)
                ):
                    key = d[:h], p, ports
                f = self.fast.get(key)
                if f and now - f.seen < TOUCH:
                    return True
            g = geneve(d)
            if type(g) is str:
                i = g
            elif key and g.version == 4:  # the checks above are inner()'s, passed: read as it reads
                k = key[2]  # addresses and ports
                i = Inner(
                    p, k[:4], k[8] << 8 | k[9], k[4:8], k[10] << 8 | k[11],
                    d[h + 33] if p == 6 else None,
                )  # fmt: skip
            else:
                i = inner(d, h, g.version)
            if type(i) is str:  # malformed: the reason
                c.add(i)
                return False
            f = self.flow(g, i, now, d, ctx)
            if i.fragment:  # the only packets that change what fragments hold
                if not i.later:
                    fk = g.endpoint, i.src, i.dst, i.fragment
                    flow = f if type(f) is Flow else None
                    self.released += self.fragments.remember(fk, flow, now)
                c.fragments_lost = self.fragments.lost
            if type(f) is str:
                c.add(f)
                return False
            if f.allowed:
                if key and f.seen != now:  # from a flow's second packet: floods never fill it
                    if len(self.fast) > self.table.size * 2:  # both directions
                        self.fast.clear()
                    self.fast[key] = f
                return True
            c.policy += 1
        except Exception:
            c.error += 1  # one bad packet must never cost the worker; the count shows the bug
        return False

    def flow(self, g, i, now, d, ctx):
        """The packet's flow, judged now if new; or the counter its drop goes to."""
        if i.later:
            fk = g.endpoint, i.src, i.dst, i.fragment
            known, f = self.fragments.flow(fk, now)
            if known:
                return f or "policy"
            return "fragments_held" if self.fragments.hold(fk, d, ctx, now) else "policy"
        q = i.quoted
        if q:  # an error passes only back to the quoted packet's sender, for a live flow
            if i.start == NEVER or i.dst != q.src:
                return "invalid"
            return (
                self.known(flow_key(g.endpoint, q.proto, q.src, q.sport, q.dst, q.dport), now)
                or "invalid"
            )
        key = flow_key(g.endpoint, i.proto, i.src, i.sport, i.dst, i.dport)
        # A flood's packets are all new: a membership test spares them two calls.
        f = self.known(key, now) if key in self.table.flows else None
        if f:
            if i.flags & 5:  # FIN or RST: a closing flow lives shorter
                f.idle = min(f.idle, RST_IDLE if i.flags & 4 else FIN_IDLE)
            elif i.start == FIRST and i.proto == 6 and f.idle < self.table.tcp_idle:
                self.table.remove(key)  # a SYN after the close opens the flow afresh
                f = None
            if f:
                return f
        if i.start == NEVER:
            return "invalid"
        way = key, i.src, i.sport
        f = self.denied.get(way)
        if f and f.gen == self.gen:
            return f
        return self.judge(g, i, key, way, now)

    def known(self, key, now):
        """The live allowed flow under key, judged again if the policy changed since."""
        f = self.table.get(key, now)
        if f and f.gen != self.gen and f.judge(self.policy, self.gen)[0] != "allow":
            self.table.remove(key)
            return None
        return f

    def judge(self, g, i, key, way, now):
        """Open a flow, judged in the packet's own orientation. An allowed one enters the
        table; a dropped one only the small cache of denied flows."""
        f = Flow(now, g.version, i.proto, i.src, i.sport, i.dst, i.dport)
        action, rule, direction = f.judge(self.policy, self.gen)
        if f.allowed:
            self.table.add(key, f)
            self.counters.created += 1
        else:
            if len(self.denied) >= DENIED:
                self.denied.clear()
            self.denied[way] = f
            self.counters.denied += 1
        if self.log.allow(now):
            self.log.lines.append(
                f"{utc(self.log.wall_clock())} gwlbe={g.endpoint.hex()}"
                f" attachment={g.attachment.hex()} cookie={g.cookie.hex()}"
                f" proto={NAMES.get(f.proto, f.proto)} src={ip_text(f.src)} sport={f.sport}"
                f" dst={ip_text(f.dst)} dport={f.dport} dir={direction} verdict={action}"
                f" rule={rule} start={'first' if i.start == FIRST else 'midstream'}\n"
            )
        return f

    def reload(self, policy) -> None:
        """A new policy: every known flow is judged again on its next packet (no stall now)."""
        self.policy = policy
        self.gen += 1
        self.fast.clear()
        self.denied.clear()

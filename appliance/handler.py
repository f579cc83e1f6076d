"""The per-packet decision: fast path, full parse, flow semantics, policy, counters and the
rate-limited flow log. No sockets here: the receiver hands in each datagram."""

import socket
import time

from .flows import TOUCH, Flow, FlowTable, Fragments, flow_key
from .packet import NAMES, REASONS, geneve, inner

# Counters of one worker, published to shared memory; malformed reasons follow these.
FIELDS = (
    "received",
    "returned",
    "policy",  # dropped by policy (or an ICMP error or later fragment of no known flow)
    "error",  # dropped: unexpected exception (a bug; the worker carries on)
    "send_error",  # dropped: the kernel refused the reply
    "created",  # flows
    "evicted",
    "expired",
    "active",  # a gauge: flows in the table now
    "log_suppressed",  # flow log lines over the rate limit
)
COUNTERS = FIELDS + REASONS
MAX_PAYLOAD = 9001 - 28  # the most Geneve that fits EC2's MTU after outer IPv4 and UDP headers
FAST_MAX = 65536
# Fast path: smallest IPv4 total length by protocol. Only TCP and UDP: their 4 port bytes are
# the same in every packet of a flow (ICMP's hold a checksum).
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
        self.tokens = min(self.rate, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
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
    """Judges each datagram: True when it goes back to the GWLB. Never raises."""

    def __init__(self, policy, table: FlowTable, log: FlowLog):
        self.policy, self.table, self.log = policy, table, log
        self.fragments = Fragments()
        self.counters = Counters()
        # Fast path: the bytes that identify a flow in one direction (Geneve header, inner
        # protocol, addresses and ports) -> its flow, for packets shaped like one that passed
        # the full parse: IPv4 without options, TCP or UDP, not a fragment, lengths in bounds.
        # IPv6 always takes the full parse.
        self.fast = {}

    def handle(self, d, now):
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
            if n >= h + 24 and d[h] == 0x45:
                m, size = FAST.get(d[h + 9]), d[h + 2] << 8 | d[h + 3]
                if m and m <= size <= n - h and d[h + 6 : h + 8] in UNFRAGMENTED:
                    key = d[:h], d[h + 9], d[h + 12 : h + 24]
                f = self.fast.get(key)
                if f and now - f.seen < TOUCH:
                    if f.allowed:
                        return True
                    c.policy += 1
                    return False
            g = geneve(d)
            i = g if type(g) is str else inner(d, g.length, g.version)
            if type(i) is str:  # malformed: the reason
                c.add(i)
                return False
            f = self.flow(g, i, now)
            if f and key and (f.allowed or f.src == i.src):
                if len(self.fast) >= FAST_MAX:
                    self.fast.clear()
                self.fast[key] = f
            if f and f.allowed:
                return True
            c.policy += 1
        except Exception:
            c.error += 1  # one bad packet must never cost the worker; the count shows the bug
        return False

    def flow(self, g, i, now):
        """The flow the packet belongs to, judged now if new; None when it belongs to none:
        an ICMP error quoting no known flow, a later fragment whose first was not seen."""
        if i.later:
            return self.fragments.flow((g.endpoint, i.src, i.dst, i.fragment), now)
        q = i.quoted
        if q:
            quoted = flow_key(g.endpoint, q.proto, q.src, q.sport, q.dst, q.dport)
            return self.table.get(quoted, now)
        key = flow_key(g.endpoint, i.proto, i.src, i.sport, i.dst, i.dport)
        f = self.table.get(key, now)
        # A packet against a dropped flow's orientation may open it the other way round.
        if f is None or not f.allowed and f.src != i.src:
            f = self.judge(g, i, key, f, now)
        if i.fragment:
            self.fragments.remember((g.endpoint, i.src, i.dst, i.fragment), f, now)
        return f

    def judge(self, g, i, key, old, now):
        """Open a flow: a TCP packet other than a SYN is picked up mid-stream; anything else
        is judged as the flow's initiator. A drop never replaces a known flow."""
        midstream = i.proto == 6 and not i.syn
        f = Flow(now, g.version, i.proto, i.src, i.sport, i.dst, i.dport, midstream)
        action, rule, way = f.judge(self.policy)
        if old and not f.allowed:
            return old
        self.table.add(key, f)
        self.counters.created += 1
        if self.log.allow(now):
            self.log.lines.append(
                f"{utc(self.log.wall_clock())} gwlbe={g.endpoint.hex()}"
                f" attachment={g.attachment.hex()} cookie={g.cookie.hex()}"
                f" proto={NAMES.get(f.proto, f.proto)} src={ip_text(f.src)} sport={f.sport}"
                f" dst={ip_text(f.dst)} dport={f.dport} dir={way} verdict={action} rule={rule}"
                f" start={'midstream' if midstream else 'first'}\n"
            )
        return f

    def reload(self, policy):
        """Judge every known flow again, in its own orientation, under a new policy."""
        self.policy = policy
        self.fast.clear()  # a cached reply direction of a flow now dropped must be judged afresh
        for f in self.table:
            f.judge(policy)

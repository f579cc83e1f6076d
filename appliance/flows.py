"""Flows: the key both directions share, the flow record, the bounded table of allowed flows with
idle expiry, the separate cache of dropped ones, and fragments: first-fragment memory and the
later fragments held until their first one arrives."""

from collections import OrderedDict

# A flow seen again within this many seconds neither moves in the table nor leaves the fast path.
TOUCH = 1.0
EXPIRE_BATCH = 10000  # flows forgotten per call at most, so the data path never stalls
# After a RST (conntrack's CLOSE) or a FIN (its FIN_WAIT/TIME_WAIT) a flow lives this long idle.
RST_IDLE, FIN_IDLE = 10.0, 120.0
DENIED = 4096  # dropped flows remembered (directional), then forgotten all at once
HOLD_PACKETS, HOLD_BYTES, HOLD_TTL = 256, 1 << 20, 2.0  # early later fragments, at most


def flow_key(endpoint, proto, src, sport, dst, dport):
    """The same tuple for both directions: the endpoints in canonical order."""
    if (src, sport) <= (dst, dport):
        return proto, endpoint, src, sport, dst, dport
    return proto, endpoint, dst, dport, src, sport


class Flow:
    """One flow: its verdict, the orientation it was judged in (its initiator's source and
    destination) and the policy generation that judged it, so that a packet after a reload
    has it judged again. `seen` is 0 once it left the table: the fast path stops using it."""

    __slots__ = (
        "seen", "idle", "allowed", "gen", "version", "proto", "src", "sport", "dst", "dport"
    )  # fmt: skip

    def __init__(self, seen, version, proto, src, sport, dst, dport):
        self.seen, self.idle, self.allowed, self.gen = seen, 0.0, False, -1
        self.version, self.proto = version, proto
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport

    def judge(self, policy, gen: int) -> tuple:
        """Set `allowed` from the policy, in the flow's own orientation; the decision."""
        decision = policy.decide(self.version, self.proto, self.src, self.dst, self.dport)
        self.allowed, self.gen = decision[0] == "allow", gen
        return decision


class FlowTable:
    """Bounded allowed flows, least recently seen first: a flow idle longer than its timeout is
    gone, and the least recently seen is evicted when the table is full. Keys from flow_key."""

    def __init__(self, size, tcp_idle=350.0, other_idle=120.0):
        self.size, self.tcp_idle, self.other_idle = size, tcp_idle, other_idle
        self.flows = OrderedDict()
        self.evicted = self.expired = 0

    def __len__(self):
        return len(self.flows)

    def __iter__(self):
        return iter(self.flows.values())

    def get(self, key, now):
        flow = self.flows.get(key)
        if flow:
            age = now - flow.seen
            if age > flow.idle:
                del self.flows[key]
                flow.seen = 0
                self.expired += 1
                return None
            if age > TOUCH:  # moving on every packet costs; once a second keeps the order
                flow.seen = now
                self.flows.move_to_end(key)
        return flow

    def add(self, key, flow):
        """Insert a flow under a key the table does not hold (the handler looked it up first)."""
        flow.idle = self.tcp_idle if key[0] == 6 else self.other_idle
        if len(self.flows) >= self.size:
            self.flows.popitem(last=False)[1].seen = 0
            self.evicted += 1
        self.flows[key] = flow
        return flow

    def remove(self, key):
        old = self.flows.pop(key, None)
        if old:
            old.seen = 0

    def expire(self, now):
        """Forget idle flows from the old end, at most EXPIRE_BATCH a call. A flow with a
        longer timeout ahead may hold idle ones behind it a while; lookups still refuse them."""
        for _ in range(EXPIRE_BATCH):
            flow = next(iter(self.flows.values()), None)
            if flow is None or now - flow.seen <= flow.idle:
                return
            self.flows.popitem(last=False)[1].seen = 0
            self.expired += 1


class Fragments:
    """First fragments seen lately: (endpoint, source, destination, IP id and protocol) ->
    flow, for `ttl` seconds (RFC 791 suggests 15 s for reassembly); later fragments carry no
    ports and borrow it. A later fragment that comes before its first is held (bounded in
    count, bytes and time) until the first decides it."""

    def __init__(self, size=4096, ttl=30.0):
        self.size, self.ttl = size, ttl
        self.seen = OrderedDict()
        self.held = OrderedDict()  # key -> [(arrival, datagram, context), ...]
        self.count = self.bytes = self.lost = 0

    def remember(self, key: tuple, flow: "Flow | None", now: float) -> list:
        """The first fragment's flow (None: dropped); the held later fragments it lets pass."""
        if len(self.seen) >= self.size:
            self.seen.popitem(last=False)
        self.seen[key] = now, flow
        held = self.held.pop(key, ())
        self.count -= len(held)
        self.bytes -= sum(len(d) for _, d, _ in held)
        if flow and flow.allowed:
            return [(d, ctx) for _, d, ctx in held]
        self.lost += len(held)
        return []

    def flow(self, key: tuple, now: float) -> tuple:
        """(known, flow): whether key's first fragment was seen within ttl, and its flow."""
        when, flow = self.seen.get(key, (None, None))
        return when is not None and now - when <= self.ttl, flow

    def hold(self, key: tuple, d: bytes, ctx, now: float) -> bool:
        """Keep a later fragment for its first one; False when the bounds leave no room."""
        self.expire(now)
        if self.count >= HOLD_PACKETS or self.bytes + len(d) > HOLD_BYTES:
            self.lost += 1
            return False
        self.held.setdefault(key, []).append((now, d, ctx))
        self.count += 1
        self.bytes += len(d)
        return True

    def expire(self, now):
        while self.held:
            key, items = next(iter(self.held.items()))
            if now - items[0][0] <= HOLD_TTL:
                return
            del self.held[key]
            self.count -= len(items)
            self.bytes -= sum(len(d) for _, d, _ in items)
            self.lost += len(items)

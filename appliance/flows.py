"""Flows: the key both directions share, the flow record, the bounded table with idle expiry,
and the first-fragment memory that later fragments are judged by."""

from collections import OrderedDict

# A flow seen again within this many seconds neither moves in the table nor leaves the fast path.
TOUCH = 1.0
EXPIRE_BATCH = 10000  # flows forgotten per call at most, so the data path never stalls


def flow_key(endpoint, proto, src, sport, dst, dport):
    """The same tuple for both directions: the endpoints in canonical order."""
    if (src, sport) <= (dst, dport):
        return proto, endpoint, src, sport, dst, dport
    return proto, endpoint, dst, dport, src, sport


class Flow:
    """One flow: its verdict, and the orientation it was judged in (its initiator's source and
    destination), so that a policy reload can judge it again. `seen` is 0 once it left the
    table, which tells the fast path to stop using it."""

    __slots__ = (
        "seen", "idle", "allowed", "version", "proto", "src", "sport", "dst", "dport", "midstream"
    )  # fmt: skip

    def __init__(self, seen, version, proto, src, sport, dst, dport, midstream=False):
        self.seen, self.idle, self.allowed, self.midstream = seen, 0.0, False, midstream
        self.version, self.proto = version, proto
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport

    def judge(self, policy):
        """Set `allowed`; return the decision (action, rule, direction). A flow picked up
        mid-stream is allowed when either orientation would be, and takes that orientation."""
        decision = policy.decide(self.version, self.proto, self.src, self.dst, self.dport)
        if self.midstream and decision[0] != "allow":
            turned = policy.decide(self.version, self.proto, self.dst, self.src, self.sport)
            if turned[0] == "allow":
                decision = turned
                self.src, self.sport, self.dst, self.dport = (
                    self.dst, self.dport, self.src, self.sport
                )  # fmt: skip
        self.allowed = decision[0] == "allow"
        return decision


class FlowTable:
    """Bounded flows, least recently seen first: a flow idle longer than its protocol's timeout
    (TCP or any other) is gone, and the least recently seen is evicted when the table is full.
    Keys come from flow_key."""

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
        """Insert a new flow, or replace the one under key."""
        flow.idle = self.tcp_idle if key[0] == 6 else self.other_idle
        old = self.flows.pop(key, None)
        if old:
            old.seen = 0
        if len(self.flows) >= self.size:
            self.flows.popitem(last=False)[1].seen = 0
            self.evicted += 1
        self.flows[key] = flow
        return flow

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
    flow. Later fragments carry no ports, so they can only borrow their first fragment's flow,
    for `ttl` seconds (RFC 791 suggests 15 s for reassembly)."""

    def __init__(self, size=4096, ttl=30.0):
        self.size, self.ttl = size, ttl
        self.seen = OrderedDict()

    def remember(self, key, flow, now):
        if len(self.seen) >= self.size:
            self.seen.popitem(last=False)
        self.seen[key] = now, flow

    def flow(self, key, now):
        """The flow of key's first fragment, if seen within ttl."""
        when, flow = self.seen.get(key, (0, None))
        return flow if now - when <= self.ttl else None

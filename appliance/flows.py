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


def oldest_seen(table):
    return next(iter(table.values())).seen


class Flow:
    """One flow: its verdict, and the orientation it was judged in (its initiator's source and
    destination), so that a policy reload can judge it again. `seen` is 0 once it left the
    table, which tells the fast path to stop using it."""

    __slots__ = ("seen", "allowed", "version", "proto", "src", "sport", "dst", "dport", "midstream")

    def __init__(self, seen, version, proto, src, sport, dst, dport, midstream=False):
        self.seen, self.allowed, self.midstream = seen, False, midstream
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
    """Bounded flows: idle ones expire (TCP and others apart), the least recently seen is
    evicted when full. Keys come from flow_key."""

    def __init__(self, size, tcp_idle=350.0, other_idle=120.0):
        self.size = size
        self.tables = ((OrderedDict(), tcp_idle), (OrderedDict(), other_idle))  # TCP, others
        self.evicted = self.expired = 0

    def __len__(self):
        return len(self.tables[0][0]) + len(self.tables[1][0])

    def __iter__(self):
        for table, _ in self.tables:
            yield from table.values()

    def get(self, key, now):
        table, idle = self.tables[key[0] != 6]
        flow = table.get(key)
        if flow:
            age = now - flow.seen
            if age > idle:
                del table[key]
                flow.seen = 0
                self.expired += 1
                return None
            if age > TOUCH:  # moving on every packet costs; once a second keeps the order
                flow.seen = now
                table.move_to_end(key)
        return flow

    def add(self, key, flow):
        """Insert a new flow, or replace the one under key."""
        table = self.tables[key[0] != 6][0]
        if key in table:
            table.pop(key).seen = 0
        while len(self) >= self.size:
            oldest = min((t for t, _ in self.tables if t), key=oldest_seen)
            oldest.popitem(last=False)[1].seen = 0
            self.evicted += 1
        table[key] = flow
        return flow

    def expire(self, now):
        """Forget idle flows from the old end; bounded work per call."""
        limit = EXPIRE_BATCH
        for table, idle in self.tables:
            while table and limit and now - oldest_seen(table) > idle:
                table.popitem(last=False)[1].seen = 0
                limit -= 1
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

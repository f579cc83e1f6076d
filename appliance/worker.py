"""The data plane: one worker process receives Geneve, judges each packet's flow and returns
allowed packets to the GWLB; it publishes counters and a heartbeat to shared memory.
"""

import contextlib
import os
import signal
import socket
import struct
import time
from collections import OrderedDict

from .packet import NAMES, REASONS, geneve, inner

# One slot per counter in the shared array; "active" is a gauge, the others only grow.
COUNTERS = (
    "received",
    "returned",
    "policy",  # dropped by policy
    "error",  # dropped: unexpected exception (a bug; the worker carries on)
    "send_error",  # dropped: the kernel refused the reply
    "created",  # flows
    "evicted",
    "expired",
    "active",
) + REASONS
POLICY, ERROR, SEND_ERROR, CREATED, EVICTED, EXPIRED, ACTIVE = range(2, 9)
# A flow seen again within this many seconds neither moves in the table nor leaves the fast path.
TOUCH = 1.0
TICK = 0.25  # how often a worker publishes counters, writes the flow log and expires flows
MAX_PAYLOAD = 9001 - 28  # the most Geneve that fits EC2's MTU after outer IPv4 and UDP headers
FAST_MAX = 65536
# Fast path: smallest inner length (IPv4 total, IPv6 payload length) by protocol. Only TCP and
# UDP: their 4 port bytes are the same in every packet of a flow (ICMP's hold a checksum).
FAST4, FAST6 = {6: 40, 17: 28}, {6: 20, 17: 8}
IP_PKTINFO, SO_RCVBUFFORCE = 8, 33  # Linux values; Python 3.9's socket module lacks them


class FlowTable:
    """Bounded flows: idle ones expire (TCP 350 s, others 120 s), the least recently seen is
    evicted when full. Keys are tuples whose first item is the IP protocol. A flow is a list
    [last seen, allowed]; its last seen becomes 0 when it leaves the table."""

    def __init__(self, size):
        self.size = size
        # TCP flows, then the others, each with the GWLB's own idle timeout.
        self.tables = ((OrderedDict(), 350.0), (OrderedDict(), 120.0))
        self.evicted = self.expired = 0

    def __len__(self):
        return len(self.tables[0][0]) + len(self.tables[1][0])

    def get(self, key, now):
        d, idle = self.tables[key[0] != 6]
        f = d.get(key)
        if f:
            age = now - f[0]
            if age > idle:
                del d[key]
                f[0] = 0
                self.expired += 1
                return None
            if age > TOUCH:  # moving on every packet costs; once a second keeps the order
                f[0] = now
                d.move_to_end(key)
        return f

    def add(self, key, allow, now):
        """A new flow; key must not be in the table (add follows a get that found nothing)."""
        while len(self) >= self.size:
            oldest = min((t for t, _ in self.tables if t), key=lambda t: next(iter(t.values()))[0])
            oldest.popitem(last=False)[1][0] = 0
            self.evicted += 1
        f = self.tables[key[0] != 6][0][key] = [now, allow]
        return f

    def expire(self, now):
        """Forget idle flows from the old end; bounded work, so the data path never stalls."""
        limit = 10000
        for d, idle in self.tables:
            while d and limit:
                f = next(iter(d.values()))
                if now - f[0] <= idle:
                    break
                d.popitem(last=False)[1][0] = 0
                limit -= 1
                self.expired += 1


def ip_text(addr):
    return socket.inet_ntop(socket.AF_INET6 if len(addr) == 16 else socket.AF_INET, addr)


class Handler:
    """Per-packet decision: parse, flow table, policy, flow log. Counts every outcome."""

    def __init__(self, policy, table, log, wall_clock=time.time):
        self.policy, self.table, self.log, self.wall_clock = policy, table, log, wall_clock
        self.counters = [0] * len(COUNTERS)
        # Fast path: the bytes that identify a flow in one direction (Geneve header, inner
        # protocol, addresses and ports) -> its flow, for packets shaped like one that passed
        # the full parse: IPv4 without options, or IPv6 without extension headers, TCP or UDP,
        # not a later fragment, lengths in bounds.
        self.fast = {}

    def handle(self, d, now):
        """True when d (bytes or memoryview) should go back to the GWLB; never raises."""
        c = self.counters
        c[0] += 1
        n = len(d)
        try:
            if n > MAX_PAYLOAD:
                c[COUNTERS.index("oversized")] += 1
                return False
            key = None
            h = 8 + (d[0] & 63) * 4 if n else n
            if n >= h + 44 or (n >= h + 24 and d[h] == 0x45):
                if d[h] == 0x45:
                    m = FAST4.get(d[h + 9])
                    if (
                        m
                        and m <= (d[h + 2] << 8 | d[h + 3]) <= n - h
                        and not d[h + 6] & 31 | d[h + 7]
                    ):
                        key = bytes(d[:h]), d[h + 9], bytes(d[h + 12 : h + 24])
                elif d[h] >> 4 == 6:
                    m = FAST6.get(d[h + 6])
                    if m and m <= (d[h + 4] << 8 | d[h + 5]) <= n - h - 40:
                        key = bytes(d[:h]), d[h + 6], bytes(d[h + 8 : h + 44])
                f = self.fast.get(key)
                if f and now - f[0] < TOUCH:
                    if f[1]:
                        return True
                    c[POLICY] += 1
                    return False
            g = geneve(d)
            i = g if type(g) is str else inner(d, g[0], g[1])
            if type(i) is str:  # malformed: the reason
                c[COUNTERS.index(i)] += 1
                return False
            proto, src, sport, dst, dport = i
            # Both directions of a flow share one key (and so one verdict).
            k = (proto, g[2]) + (
                (src, sport, dst, dport)
                if (src, sport) <= (dst, dport)
                else (dst, dport, src, sport)
            )
            f = self.table.get(k, now)
            if f is None:
                action, rule, way = self.policy.decide(g[1], proto, src, dst, dport)
                f = self.table.add(k, action == "allow", now)
                c[CREATED] += 1
                t = self.wall_clock()
                self.log(
                    time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
                    + f".{int(t % 1 * 1000):03d}Z gwlbe={g[2].hex()} attachment={g[3].hex()}"
                    f" cookie={g[4].hex()} proto={NAMES.get(proto, proto)} src={ip_text(src)}"
                    f" sport={sport} dst={ip_text(dst)} dport={dport} dir={way}"
                    f" verdict={action} rule={rule}\n"
                )
            if key:
                if len(self.fast) >= FAST_MAX:
                    self.fast.clear()
                self.fast[key] = f
            if f[1]:
                return True
            c[POLICY] += 1
        except Exception:
            c[ERROR] += 1  # one bad packet must never cost the worker; the count shows the bug
        return False


def write_log(lines, dest):
    """Append the flow log lines in one write, so workers never interleave them."""
    if lines:
        data = "".join(lines).encode()
        lines.clear()
        # Opened each time, so rotation by rename needs no signal.
        fd = 1 if dest == "-" else os.open(dest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
        finally:
            if fd != 1:
                os.close(fd)


def run(index, cfg, policy, shared, beats):
    """Loop forever; cfg has geneve_port, flow_table_size and flow_log."""
    parent = os.getppid()  # a worker whose supervisor died exits at its next tick
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # SIGINT keeps the supervisor's harmless handler
    port = cfg.geneve_port
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # tells which local address GWLB sent to
    with contextlib.suppress(OSError):  # a deep queue absorbs GWLB's bursts (needs root)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    # A receive timeout (no poll per packet, as settimeout would add) lets an idle loop turn.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, int(TICK * 1e6)))
    s.bind(("0.0.0.0", port))
    # IPPROTO_RAW implies IP_HDRINCL. The kernel fills in the IPv4 total length, id and
    # checksum (raw(7)); the UDP checksum is left 0, which RFC 768 allows over IPv4.
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    lines = []  # flow log, written once per tick
    table = FlowTable(cfg.flow_table_size)
    h = Handler(policy, table, lines.append)
    c, base, size = h.counters, index * len(COUNTERS), len(COUNTERS)
    c[:] = shared[base : base + size]  # a restarted worker continues its predecessor's totals
    # Datagrams land at offset 28 of one buffer, and the outer IPv4 and UDP headers are
    # written in front of them: no copy of the packet on the way through.
    buf = bytearray(28 + 65535)
    view = memoryview(buf)
    into, anc = [view[28:]], socket.CMSG_SPACE(12)
    recv, send, handle, clock = s.recvmsg_into, out.sendto, h.handle, time.monotonic
    peers = {}  # (GWLB address and port, pktinfo) -> outer header up to the UDP length
    tick = 0.0
    while True:
        try:
            n, info, _, peer = recv(into, anc)
        except OSError:  # timeout
            n = -1
        now = clock()
        if n >= 0 and handle(view[28 : 28 + n], now):
            try:
                k = peer, info[0][2]
                hit = peers.get(k)
                if hit is None:
                    if len(peers) >= 4096:
                        peers.clear()
                    # Outer IPv4: version 4, 5 words; TOS, total length and id 0 (the kernel
                    # fills in the length and id); DF; TTL 64; UDP; checksum 0 (filled in too);
                    # addresses swapped. Then UDP: GWLB's source port kept, to our Geneve port.
                    ours, gwlb = k[1][8:12], socket.inet_aton(peer[0])
                    hit = peers[k] = struct.pack(
                        "!BBHHHBBH4s4sHH",
                        0x45,
                        0,
                        0,
                        0,
                        0x4000,
                        64,
                        17,
                        0,
                        ours,
                        gwlb,
                        peer[1],
                        port,
                    )
                buf[:24] = hit
                buf[24:26] = (n + 8).to_bytes(2, "big")  # UDP length; checksum stays 0
                send(view[: n + 28], peer)  # a raw socket ignores the port
                c[1] += 1
            except Exception:  # OSError from the kernel, or no pktinfo
                c[SEND_ERROR] += 1
        if now >= tick:
            tick = now + TICK
            try:
                table.expire(now)
                c[EVICTED], c[EXPIRED], c[ACTIVE] = table.evicted, table.expired, len(table)
                write_log(lines, cfg.flow_log)
            except Exception:
                c[ERROR] += 1
            shared[base : base + size] = c
            beats[index] = now
            if os.getppid() != parent:
                return

"""Socket work: the Geneve sockets (one per worker, steered by a symmetric hash of the inner
addresses), and a worker's loop that receives, asks the handler, and sends back raw."""

import contextlib
import ctypes
import os
import signal
import socket
import struct
import sys
import time

from .flows import FlowTable
from .handler import COUNTERS, MAX_PAYLOAD, Counters, FlowLog, Handler
from .policy import PolicyError, parse

TICK = 0.25  # how often a worker publishes counters, writes the flow log and expires flows
IP_PKTINFO, SO_RCVBUFFORCE = 8, 33  # Linux values; Python 3.9's socket module lacks them
SO_ATTACH_REUSEPORT_CBPF = 51


# Classic BPF opcodes (linux/filter.h): loads of a byte or word at k or at X + k, scratch
# memory, arithmetic on A with k or X, jumps on A against k, and return A.
LDB, LDB_X, LD_X, LDX_M, ST = 0x30, 0x50, 0x40, 0x61, 0x02
ADD, ADD_X, AND, LSH, XOR_X, MOD = 0x04, 0x0C, 0x54, 0x64, 0xAC, 0x94
TAX, TXA, JA, JEQ, JGT, JGE, RET_A = 0x07, 0x87, 0x05, 0x15, 0x25, 0x35, 0x16


def steering(workers):
    """Classic BPF for SO_ATTACH_REUSEPORT_CBPF: the index of the socket, and so of the
    worker, that gets a Geneve datagram. It XORs the low 32 bits of the inner source and
    destination addresses, so both directions of a flow, its fragments and the ICMP errors
    that quote it (hashed by the quoted addresses) reach one worker, whatever outer port GWLB
    used. The kernel hands the program the UDP payload; a load past its end returns 0."""
    listing = [
        (LDB, 0), (AND, 63), (LSH, 2), (ADD, 8), (TAX, 0),  # X: the inner packet
        (LDB_X, 0), (JGE, 0x60, "v6"),
        (LDB_X, 9), (JEQ, 1, None, "addr4"),  # IPv4 ICMP?
        (TXA, 0), (ST, 0), (LDB_X, 0), (AND, 15), (LSH, 2), (ADD_X, 0), (TAX, 0), (LDB_X, 0),
        (JGT, 12, "other4"), (JGE, 11, "quote4"), (JGT, 5, "other4"), (JGE, 3, "quote4"),
        "other4", (LDX_M, 0), (JA, 0, "addr4"),
        "quote4", (TXA, 0), (ADD, 8), (TAX, 0),  # X: the IPv4 packet an ICMP error quotes
        "addr4", (LD_X, 12), (ST, 1), (LD_X, 16), (JA, 0, "hash"),
        "v6", (LDB_X, 6), (JEQ, 58, None, "addr6"),  # IPv6 ICMP (no extension headers)?
        (LDB_X, 40), (JEQ, 0, "addr6"), (JGT, 4, "addr6"), (TXA, 0), (ADD, 48), (TAX, 0),
        "addr6", (LD_X, 20), (ST, 1), (LD_X, 36),
        "hash", (LDX_M, 1), (XOR_X, 0), (MOD, workers), (RET_A, 0),
    ]  # fmt: skip
    at, code = {}, []
    for row in listing:
        if type(row) is str:
            at[row] = len(code)
        else:
            code.append(row)
    out = b""
    for i, (op, k, *jumps) in enumerate(code):
        far = [at[j] - i - 1 if j else 0 for j in jumps] + [0, 0]
        if op == JA:
            k, far = far[0], [0, 0]
        out += struct.pack("HBBI", op, far[0], far[1], k)
    return out


def geneve_sockets(port: int, workers: int, queue: int = 8 << 20) -> list:
    """One bound UDP socket per worker in one SO_REUSEPORT group, in worker order, so the
    steering program's index names the worker. The supervisor keeps them open: a restarted
    worker gets its predecessor's socket, queue and share of flows."""
    socks = []
    for _ in range(workers):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # tells which local address GWLB sent to
        # A deep queue absorbs GWLB's bursts: up to net.core.rmem_max (raised at boot), or past
        # it while CAP_NET_ADMIN is still held (it is not, under the unit).
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, queue)
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, queue)
        # A receive timeout (no poll per packet, as settimeout would add) lets an idle loop turn.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, int(TICK * 1e6)))
        s.bind(("0.0.0.0", port))
        socks.append(s)
    code = steering(workers)
    program = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(code) // 8, ctypes.addressof(program))
    socks[0].setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
    return socks


def raw_socket() -> socket.socket:
    """IPPROTO_RAW implies IP_HDRINCL. The kernel fills in the IPv4 total length, id and checksum
    (raw(7)); the UDP checksum is left 0, which RFC 768 allows over IPv4. CAP_NET_RAW: opened
    by the supervisor before it drops its capabilities."""
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)


def run(index, sock, out, cfg, policy, gen, box, shared, beats, inherited):
    """Loop forever on sock, sending back through the raw socket out; cfg has geneve_port,
    flow_table_size, flow_log, flow_log_rate, tcp_idle and udp_idle. `policy` is compiled from
    the box's document of generation gen; the loop picks up newer ones."""
    for fd in inherited:  # the health listener and the other workers' sockets are not ours
        with contextlib.suppress(OSError):
            os.close(fd)
    parent = os.getppid()  # a worker whose supervisor died exits at its next tick
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # SIGINT keeps the supervisor's harmless handler
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the supervisor reloads; workers read the box
    port = cfg.geneve_port
    log = FlowLog(cfg.flow_log_rate)
    table = FlowTable(cfg.flow_table_size, cfg.tcp_idle, cfg.udp_idle)
    h = Handler(policy, table, log)
    width = len(COUNTERS)
    base = index * width
    c = h.counters = Counters(shared[base : base + width])  # a restarted worker keeps counting
    log.suppressed = c.log_suppressed
    h.fragments.lost = c.fragments_lost
    # Each datagram arrives as bytes (cheap to index and slice) and leaves by one gathering
    # send: outer IPv4 and UDP header up to the length, the length and a zero checksum, data.
    anc, size_limit = socket.CMSG_SPACE(12), MAX_PAYLOAD + 1  # more is counted "oversized"
    lengths = [(n + 8).to_bytes(2, "big") + b"\0\0" for n in range(size_limit + 1)]
    recv, send, handle, clock = sock.recvmsg, out.sendmsg, h.handle, time.monotonic
    released = h.released
    peers = {}  # (GWLB address and port, pktinfo) -> outer header up to the UDP length

    def reply(d, peer, info):
        try:
            k = peer, info[0][2]
            hit = peers.get(k)
            if hit is None:
                if len(peers) >= 4096:
                    peers.clear()
                gwlb = socket.inet_aton(peer[0])
                hit = peers[k] = outer_header(k[1][8:12], gwlb, peer[1], port)
            send((hit, lengths[len(d)], d), (), 0, peer)  # a raw socket ignores the port
            c.returned += 1
        except Exception:  # OSError from the kernel, or no pktinfo
            c.send_error += 1

    tick = 0.0
    while True:
        try:
            d, info, _, peer = recv(size_limit, anc)
        except OSError:  # timeout
            d = None
        now = clock()
        if d is not None and handle(d, now, (peer, info)):
            reply(d, peer, info)
        if released:  # held fragments that their first fragment let pass
            for d, (peer, info) in released:
                reply(d, peer, info)
            released.clear()
        if now >= tick:
            tick = now + TICK
            try:
                news = box.get(gen)
                if news:
                    gen = news[0]
                    reload_policy(h, news[1], index)
                table.expire(now)
                h.fragments.expire(now)
                log.summarise(now)
                c.evicted, c.expired, c.active = table.evicted, table.expired, len(table)
                c.log_suppressed, c.fragments_lost = log.suppressed, h.fragments.lost
                write_log(log.lines, cfg.flow_log)
            except Exception:
                c.error += 1
            shared[base : base + width] = c.values()
            beats[index] = now
            if os.getppid() != parent:
                return


def reload_policy(handler, data, index):
    """The supervisor validated these very bytes; should they fail here all the same, the worker
    says so and keeps its old policy."""
    try:
        handler.reload(parse(data))
    except PolicyError as e:
        print(f"gwlb-appliance: worker {index}: old policy kept: {e}", file=sys.stderr)


def outer_header(ours, gwlb, gwlb_port, port):
    """Outer IPv4 and UDP up to the UDP length: version 4, 5 words; TOS, total length and id 0
    (the kernel fills in the length and id); DF; TTL 64; UDP; checksum 0 (filled in too);
    addresses swapped. Then UDP: GWLB's source port kept, to our Geneve port."""
    return struct.pack(
        "!BBHHHBBH4s4sHH", 0x45, 0, 0, 0, 0x4000, 64, 17, 0, ours, gwlb, gwlb_port, port
    )


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

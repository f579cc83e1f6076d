"""A worker loop that batches syscalls (recvmmsg/sendmmsg through ctypes), for the benchmark
only: it runs the shipped handler, and tells what batching would buy before user data pays for
it. Not shipped: it does not fit the appliance's user data budget (docs/appliance.md).

SERVER is run by the bare Python 3.9 with the unpacked bundle on its path (lab.netns's popen):
one Geneve socket on port 6081, one raw socket, an allow-all policy, no flow log. Up to BATCH
datagrams per recvmmsg (MSG_WAITFORONE: as many as are queued, at least one); each is judged by
`Handler.handle` as the single-packet loop does, and the returned ones leave in one sendmmsg
whose iovecs point at the received bytes, behind a 28-byte outer header per slot.
"""

SERVER = r"""
import ctypes, socket, struct, time
from appliance.flows import FlowTable
from appliance.handler import FlowLog, Handler
from appliance.policy import parse
from appliance.receiver import IP_PKTINFO, outer_header

B, SIZE, NAME, CTRL = 64, 9002, 16, socket.CMSG_SPACE(12)
MSG_WAITFORONE = 0x10000
libc = ctypes.CDLL(None, use_errno=True)
I, P, U = ctypes.c_int, ctypes.c_void_p, ctypes.c_uint
libc.recvmmsg.argtypes = [I, P, U, I, P]
libc.sendmmsg.argtypes = [I, P, U, I]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(("0.0.0.0", 6081))
out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
h = Handler(parse(b'{"default": "allow"}'), FlowTable(65536), FlowLog(50))

def area(n):
    buf = ctypes.create_string_buffer(n)
    return buf, ctypes.addressof(buf), memoryview(buf).cast("B")

data, data_at, data_mv = area(B * SIZE)
names, names_at, names_mv = area(B * NAME)
ctrl, ctrl_at, ctrl_mv = area(B * CTRL)
heads, heads_at, heads_mv = area(B * 28)
rx_iov, rx_iov_at, _ = area(B * 16)  # struct iovec: base, length
tx_iov, tx_iov_at, _ = area(B * 32)  # two per reply: outer header, datagram
rx, rx_at, _ = area(B * 64)  # struct mmsghdr (x86_64 and arm64): msghdr (56) and msg_len
tx, tx_at, _ = area(B * 64)
rx_q, rx_iov_q = memoryview(rx).cast("B").cast("Q"), memoryview(rx_iov).cast("B").cast("Q")
tx_q, tx_iov_q = memoryview(tx).cast("B").cast("Q"), memoryview(tx_iov).cast("B").cast("Q")
for i in range(B):
    rx_iov_q[2 * i : 2 * i + 2] = memoryview(struct.pack("QQ", data_at + i * SIZE, SIZE)).cast("Q")
    rx_q[8 * i : 8 * i + 6] = memoryview(struct.pack(
        "QQQQQQ", names_at + i * NAME, NAME, rx_iov_at + 16 * i, 1, ctrl_at + i * CTRL, CTRL
    )).cast("Q")
    tx_iov_q[4 * i] = heads_at + 28 * i
    tx_iov_q[4 * i + 1] = 28
    tx_iov_q[4 * i + 2] = data_at + i * SIZE
slots = [  # the sendmmsg entry that returns slot i: to its sender, its two iovecs
    memoryview(struct.pack("QQQQ", names_at + i * NAME, NAME, tx_iov_at + 32 * i, 2)).cast("Q")
    for i in range(B)
]
recvmmsg, sendmmsg, fd, ofd = libc.recvmmsg, libc.sendmmsg, sock.fileno(), out.fileno()
handle, clock, peers = h.handle, time.monotonic, {}
lengths = [(n + 8).to_bytes(2, "big") + b"\0\0" for n in range(SIZE + 1)]
while True:
    got = recvmmsg(fd, rx_at, B, MSG_WAITFORONE, None)
    now, sent = clock(), 0
    for i in range(max(got, 0)):
        n = rx_q[8 * i + 7] & 0xFFFFFFFF
        at = i * SIZE
        if not handle(bytes(data_mv[at : at + n]), now):
            continue
        key = bytes(names_mv[i * NAME + 2 : i * NAME + 8]) + bytes(
            ctrl_mv[i * CTRL + 24 : i * CTRL + 28])  # sender's port and address, ipi_addr
        head = peers.get(key)
        if head is None:
            port = int.from_bytes(key[:2], "big")
            head = peers[key] = outer_header(key[6:], key[2:6], port, 6081)
        heads_mv[28 * i : 28 * i + 28] = head + lengths[n]
        tx_iov_q[4 * i + 3] = n
        j = 8 * sent
        tx_q[j : j + 4] = slots[i]
        sent += 1
    if sent:
        sendmmsg(ofd, tx_at, sent, 0)
    for i in range(max(got, 0)):
        rx_q[8 * i + 1] = NAME
        rx_q[8 * i + 5] = CTRL
"""

"""Long-lived flows for the rolling-update drill: TCP and UDP echo servers in the internet server's
namespace, and streams from a host that send a numbered message every interval (one TCP
connection, one UDP flow, one ICMP echo flow) and count what was answered."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass

from lab.nsutil import socket_in
from lab.probes import icmp_checksum

INTERVAL = 0.05  # one message every 50 ms per flow
TAIL = 1.0  # a UDP or ICMP flow broke when nothing it sent in its last second was answered
TCP_INFO_TOTAL_RETRANS = 100  # offset of tcpi_total_retrans in struct tcp_info (linux/tcp.h)


class EchoServers:
    """A TCP echo server (a thread per connection) and a UDP echo server on one address/port."""

    def __init__(self, ns: str, address: str, port: int):
        self.tcp = socket_in(ns)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((address, port))
        self.tcp.listen(16)
        self.udp = socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((address, port))
        self.stopped = threading.Event()
        self.connections: list[socket.socket] = []
        for loop in (self._accept, self._echo_udp):
            threading.Thread(target=loop, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._echo_tcp, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo_tcp(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def _echo_udp(self) -> None:
        while not self.stopped.is_set():
            try:
                data, peer = self.udp.recvfrom(65536)
                if peer is None:  # shut down by close()
                    return
                self.udp.sendto(data, peer)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        for sock in (self.tcp, self.udp, *self.connections):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@dataclass
class Outcome:
    kind: str  # TCP, UDP or ICMP
    sent: int
    lost: int  # TCP: segments the sender retransmitted; UDP/ICMP: messages never answered
    broke: str  # why the flow broke, or ''
    src: tuple[str, int]
    dst: tuple[str, int]
    proto: int


class Stream:
    """Sends message number n every INTERVAL until finish(); a reader thread notes answers."""

    kind, proto = "", 0

    def __init__(self, ns: str, src: str, dst: str, port: int):
        self.ns, self.src, self.dst, self.port = ns, src, dst, port
        self.sent: dict[int, float] = {}  # sequence number -> when sent
        self.answered: set[int] = set()
        self.error = ""
        self.stopped = threading.Event()
        self.sock: socket.socket | None = None
        self.local: tuple[str, int] = (src, 0)

    def open(self) -> None:
        raise NotImplementedError

    def send(self, seq: int) -> None:
        raise NotImplementedError

    def receive(self) -> list[int]:
        raise NotImplementedError

    def start(self) -> None:
        try:
            self.open()
        except OSError as exc:
            self.error = f"could not open: {exc.strerror or exc}"
            return
        self.sock.settimeout(0.2)
        threading.Thread(target=self._send_loop, daemon=True).start()
        threading.Thread(target=self._read_loop, daemon=True).start()

    def _send_loop(self) -> None:
        seq = 0
        while not self.stopped.is_set() and not self.error:
            seq += 1
            self.sent[seq] = time.monotonic()
            try:
                self.send(seq)
            except OSError as exc:
                self.error = f"send failed: {exc.strerror or exc}"
                return
            self.stopped.wait(INTERVAL)

    def _read_loop(self) -> None:
        while self.sock is not None and not self.error:
            try:
                self.answered.update(self.receive())
            except TimeoutError:
                continue
            except OSError as exc:
                if not self.stopped.is_set() or self.proto == 6:
                    self.error = f"receive failed: {exc.strerror or exc}"
                return

    def stop_sending(self) -> None:
        self.stopped.set()

    def finish(self, grace: float) -> Outcome:
        """Waits up to grace seconds for the last answers, then closes and judges the flow."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not self.error and len(self.answered) < len(self):
            time.sleep(0.05)
        outcome = self.outcome()
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        return outcome

    def __len__(self) -> int:
        return len(self.sent)

    def outcome(self) -> Outcome:
        unanswered = len(self.sent) - len(self.answered & set(self.sent))
        broke = self.error
        if not broke and self.sent:
            last = max(self.sent.values())
            tail = [seq for seq, when in self.sent.items() if when >= last - TAIL]
            if not self.answered.intersection(tail):
                broke = f"none of its last {len(tail)} messages answered"
        return Outcome(
            self.kind,
            len(self.sent),
            unanswered,
            broke,
            self.local,
            (self.dst, self.port),
            self.proto,
        )


class TcpStream(Stream):
    """One connection; message n is the line 'n'. Broke: a reset, or an answer still missing
    after the grace period (retransmission is how TCP survives loss; a reset or silence is not)."""

    kind, proto = "TCP", 6

    def open(self) -> None:
        self.sock = socket_in(self.ns)
        self.sock.bind((self.src, 0))
        self.sock.settimeout(3.0)
        self.sock.connect((self.dst, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local = self.sock.getsockname()
        self.buffer = b""

    def send(self, seq: int) -> None:
        self.sock.sendall(f"{seq}\n".encode())

    def receive(self) -> list[int]:
        data = self.sock.recv(65536)
        if not data:
            raise OSError("the server closed the connection")
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        return [int(line) for line in lines]

    def outcome(self) -> Outcome:
        retransmitted = 0
        if self.sock is not None:
            with contextlib.suppress(OSError):
                info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
                (retransmitted,) = struct.unpack_from("I", info, TCP_INFO_TOTAL_RETRANS)
        unanswered = len(self.sent) - len(self.answered & set(self.sent))
        broke = self.error or (f"{unanswered} messages never answered" if unanswered else "")
        return Outcome(
            "TCP", len(self.sent), retransmitted, broke, self.local, (self.dst, self.port), 6
        )


class UdpStream(Stream):
    kind, proto = "UDP", 17

    def open(self) -> None:
        self.sock = socket_in(self.ns, socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.src, 0))
        self.local = self.sock.getsockname()

    def send(self, seq: int) -> None:
        # Unconnected: an ICMP error (a port unreachable) must not end the stream; the stream
        # counts what was answered and the tail says whether the flow recovered.
        self.sock.sendto(struct.pack("!Q", seq), (self.dst, self.port))

    def receive(self) -> list[int]:
        data, peer = self.sock.recvfrom(65536)
        if peer != (self.dst, self.port) or len(data) < 8:
            return []
        return [struct.unpack("!Q", data[:8])[0]]


class IcmpStream(Stream):
    """Echo requests with one identifier (one GWLB flow: ICMP hashes on addresses only)."""

    kind, proto = "ICMP", 1

    def open(self) -> None:
        self.ident = (os.getpid() ^ id(self)) & 0xFFFF
        self.sock = socket_in(self.ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.bind((self.src, 0))
        self.port = 0

    def send(self, seq: int) -> None:
        payload = struct.pack("!Q", seq)
        header = struct.pack("!BBHHH", 8, 0, 0, self.ident, seq & 0xFFFF)
        packet = struct.pack(
            "!BBHHH", 8, 0, icmp_checksum(header + payload), self.ident, seq & 0xFFFF
        )
        self.sock.sendto(packet + payload, (self.dst, 0))

    def receive(self) -> list[int]:
        data, peer = self.sock.recvfrom(65535)
        ihl = (data[0] & 15) * 4
        kind, _, _, ident, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
        if peer[0] != self.dst or kind != 0 or ident != self.ident or len(data) < ihl + 16:
            return []
        return [struct.unpack("!Q", data[ihl + 8 : ihl + 16])[0]]

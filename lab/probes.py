"""Traffic the test plan sends: ICMP echo and HTTP GET from inside a namespace, reporting the
addresses and ports used, so the emulator's record of that exact flow can be looked up."""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass, field

from lab.http10 import exchange
from lab.nsutil import socket_in


@dataclass
class Result:
    ok: bool
    detail: str
    src: tuple[str, int] = ("", 0)
    dst: tuple[str, int] = ("", 0)
    proto: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    length: int = 0  # bytes of the body


def icmp_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of an ICMP message."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(
    ns: str, src: str, dst: str, size: int = 56, timeout: float = 1.5, count: int = 1
) -> Result:
    """ICMP echo from src (an address of ns) to dst; ok when every echo is answered."""
    ident = (os.getpid() + int(time.monotonic() * 1000)) & 0xFFFF
    payload = (b"gwlb-lab" * (size // 8 + 1))[:size]
    with socket_in(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.bind((src, 0))
        answered = 0
        for seq in range(1, count + 1):
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = (
                struct.pack("!BBHHH", 8, 0, icmp_checksum(header + payload), ident, seq) + payload
            )
            try:
                sock.sendto(packet, (dst, 0))
            except OSError as exc:  # e.g. a host firewall (security group) refusing it
                return Result(False, f"ICMP: {exc.strerror}", (src, 0), (dst, 0), 1)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data, peer = sock.recvfrom(65535)
                except TimeoutError:
                    break
                ihl = (data[0] & 15) * 4
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl : ihl + 8])
                if peer[0] == dst and kind == 0 and rid == ident and rseq == seq:
                    answered += 1
                    break
    ok = answered == count
    return Result(ok, f"{answered}/{count} echo replies", (src, 0), (dst, 0), 1)


def http_get(
    ns: str,
    dst: str,
    port: int = 80,
    path: str = "/",
    timeout: float = 2.0,
    src: str = "",
    size: int | None = None,
) -> Result:
    """GET from ns; with src, the socket is bound first, so even a connection that never comes
    up has a known source port and its flow can be looked up. With size, the body must be that
    many bytes (a large transfer: every full-size segment must get through)."""
    local = (src, 0)
    try:
        with socket_in(ns, socket.AF_INET6 if ":" in dst else socket.AF_INET) as sock:
            sock.settimeout(timeout)
            if src:
                sock.bind((src, 0))
                local = sock.getsockname()[:2]
            sock.connect((dst, port))
            local = sock.getsockname()[:2]
            data = exchange(sock, path, dst)
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        return Result(False, f"HTTP: {why}", local, (dst, port), 6)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        code = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return Result(False, "HTTP: no status line", (local[0], local[1]), (dst, port), 6)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    text = body.decode("utf-8", "replace").strip() if len(body) < 4096 else ""
    ok = code == 200 and (size is None or len(body) == size)
    detail = f"HTTP {code}" + (f", {len(body)} of {size} bytes" if size is not None else "")
    return Result(ok, detail, (local[0], local[1]), (dst, port), 6, headers, text, len(body))

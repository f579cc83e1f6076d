"""ICMPv6 echo from inside a namespace (HTTP over IPv6 is lab.probes.http_get to an IPv6
address). The kernel fills in the ICMPv6 checksum of a raw socket's messages."""

from __future__ import annotations

import os
import socket
import struct
import time

from lab.nsutil import socket_in
from lab.probes import Result

ECHO_REQUEST, ECHO_REPLY = 128, 129


def ping6(ns: str, src: str, dst: str, size: int = 56, timeout: float = 1.5) -> Result:
    """One ICMPv6 echo from src (an address of ns) to dst; ok when it is answered."""
    ident = (os.getpid() + int(time.monotonic() * 1000)) & 0xFFFF
    payload = (b"gwlb-lab" * (size // 8 + 1))[:size]
    message = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, 1) + payload
    with socket_in(ns, socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as sock:
        sock.bind((src, 0))
        try:
            sock.sendto(message, (dst, 0))
        except OSError as exc:  # a host firewall (security group) refusing it
            return Result(False, f"ICMPv6: {exc.strerror}", (src, 0), (dst, 0), 58)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                break
            if len(data) < 8:
                continue
            kind, _, _, rid, _ = struct.unpack("!BBHHH", data[:8])
            if kind == ECHO_REPLY and rid == ident and peer[0] == dst:
                return Result(True, "1/1 echo replies", (src, 0), (dst, 0), 58)
    return Result(False, "0/1 echo replies", (src, 0), (dst, 0), 58)

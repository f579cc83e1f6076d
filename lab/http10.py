"""One HTTP/1.0 GET over a connected socket, read to its end: what health checks, probes and
ALB nodes of the lab all send."""

from __future__ import annotations

import socket
from collections.abc import Sequence


def exchange(sock: socket.socket, path: str, host: str, headers: Sequence[str] = ()) -> bytes:
    """Send the request and return every byte of the answer (HTTP/1.0: the server closes)."""
    request = [f"GET {path} HTTP/1.0", f"Host: {host}", *headers, "", ""]
    sock.sendall("\r\n".join(request).encode())
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)

"""UDP socket I/O for Geneve: SO_REUSEPORT shares the port between workers; IP_PKTINFO."""

import socket
import struct

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RECV_SIZE = 65535
ANC_SIZE = socket.CMSG_SPACE(12)


def open_socket(port: int, address: str = "0.0.0.0", timeout: float = 0.25) -> socket.socket:
    """Blocking socket whose recv gives up after timeout (SO_RCVTIMEO) so the loop can heartbeat."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    try:  # bursts from GWLB outrun a Python loop; a deep queue absorbs them
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sec = int(timeout)
    tv = struct.pack("ll", sec, int((timeout - sec) * 1e6))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    s.bind((address, port))
    return s


def local_address(ancdata: list) -> bytes:
    """Packet's destination address (in_pktinfo.ipi_addr); 0.0.0.0 lets the kernel pick."""
    for level, kind, data in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= 12:
            return data[8:12]
    return b"\0\0\0\0"

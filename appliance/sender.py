"""Raw IPv4 send of Geneve replies: builds outer IPv4+UDP with correct checksums (IP_HDRINCL)."""

import socket
import struct

TTL = 64
_DF = 0x4000
_hdr = struct.Struct("!BBHHHBBH4s4sHHHH")


def _sum(data: bytes) -> int:
    """Ones' complement sum of 16-bit words, folded mod 0xFFFF (fast via one big int)."""
    v = int.from_bytes(data, "big")
    if len(data) & 1:
        v <<= 8
    return v % 0xFFFF


def checksum(data: bytes) -> int:
    return 0xFFFF - _sum(data) if _sum(data) else 0


def build_ipv4_udp(
    src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ttl: int = TTL
) -> bytes:
    """Outer IPv4 (DF, id 0) + UDP header + payload; src/dst are 4 packed bytes."""
    ulen = 8 + len(payload)
    total = 20 + ulen
    pseudo = (
        (int.from_bytes(src, "big") % 0xFFFF)
        + (int.from_bytes(dst, "big") % 0xFFFF)
        + 17
        + ulen * 2
        + sport
        + dport
    )
    r = (pseudo + _sum(payload)) % 0xFFFF
    ucs = 0xFFFF - r if r else 0xFFFF  # a computed zero is sent as 0xFFFF (RFC 768)
    ip_sum = (0x4500 + total + _DF + (ttl << 8 | 17)) % 0xFFFF
    ip_sum = (ip_sum + (int.from_bytes(src + dst, "big") % 0xFFFF)) % 0xFFFF
    ics = 0xFFFF - ip_sum if ip_sum else 0
    return (
        _hdr.pack(0x45, 0, total, 0, _DF, ttl, 17, ics, src, dst, sport, dport, ulen, ucs) + payload
    )


class RawSender:
    """Needs CAP_NET_RAW; IPPROTO_RAW implies IP_HDRINCL and receives nothing."""

    def __init__(self, ttl: int = TTL):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.ttl = ttl
        self._addr: dict[str, bytes] = {}

    def reply(self, payload: bytes, local: bytes, peer: tuple[str, int], port: int) -> None:
        """Send payload back to peer: outer IPs swapped, source port = peer's port, dest = port."""
        ip, pport = peer
        dst = self._addr.get(ip)
        if dst is None:
            if len(self._addr) > 1024:
                self._addr.clear()
            dst = self._addr[ip] = socket.inet_aton(ip)
        self.sock.sendto(build_ipv4_udp(local, dst, pport, port, payload, self.ttl), (ip, 0))

    def close(self) -> None:
        self.sock.close()

"""Raw IPv4 send of Geneve replies: builds outer IPv4+UDP with correct checksums (IP_HDRINCL)."""

import socket
import struct

TTL = 64
_DF = 0x4000
_hdr = struct.Struct("!BBHHHBBH4s4sHHHH")


def _partial(src: bytes, dst: bytes, sport: int, dport: int, ttl: int) -> tuple:
    """Length-independent parts of the IPv4 and UDP checksum sums."""
    addrs = int.from_bytes(src + dst, "big") % 0xFFFF
    return (0x4500 + _DF + (ttl << 8 | 17) + addrs) % 0xFFFF, (addrs + 17 + sport + dport) % 0xFFFF


def build_ipv4_udp(
    src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ttl: int = TTL, part=None
) -> bytes:
    """Outer IPv4 (DF, id 0) + UDP header + payload; src/dst are 4 packed bytes."""
    ip_part, udp_part = part or _partial(src, dst, sport, dport, ttl)
    ulen = 8 + len(payload)
    v = int.from_bytes(payload, "big")
    if ulen & 1:
        v <<= 8
    r = (udp_part + ulen * 2 + v) % 0xFFFF
    ucs = 0xFFFF - r if r else 0xFFFF  # a computed zero is sent as 0xFFFF (RFC 768)
    r = (ip_part + ulen + 20) % 0xFFFF
    ics = 0xFFFF - r if r else 0
    hdr = _hdr.pack(0x45, 0, ulen + 20, 0, _DF, ttl, 17, ics, src, dst, sport, dport, ulen, ucs)
    return hdr + payload


class RawSender:
    """Needs CAP_NET_RAW; IPPROTO_RAW implies IP_HDRINCL and receives nothing."""

    def __init__(self, ttl: int = TTL):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.ttl = ttl
        self._peers: dict = {}

    def reply(self, payload: bytes, local: bytes, peer: tuple[str, int], port: int) -> None:
        """Send payload back to peer: outer IPs swapped, source port = peer's port, dest = port."""
        key = (local, peer)
        hit = self._peers.get(key)
        if hit is None:
            if len(self._peers) > 4096:
                self._peers.clear()
            dst = socket.inet_aton(peer[0])
            part = _partial(local, dst, peer[1], port, self.ttl)
            hit = self._peers[key] = (dst, part)
        dst, part = hit
        pkt = build_ipv4_udp(local, dst, peer[1], port, payload, self.ttl, part)
        self.sock.sendto(pkt, (peer[0], 0))

    def close(self) -> None:
        self.sock.close()

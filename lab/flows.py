"""A GWLB flow as the emulator keeps it: the symmetric key of both directions, the parsing of the
IPv4 and Geneve headers it needs, the sticky choice of a target, and the record of which
(endpoint, appliance) pairs each direction crossed."""

from __future__ import annotations

import hashlib
import socket
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field

from lab import geneve

PORTED = (6, 17)  # TCP and UDP flows hash on 5-tuples; other protocols on 3-tuples


@dataclass(frozen=True)
class FlowKey:
    """Both directions of a flow share one key: its two ends in sorted order."""

    proto: int
    lower: tuple[str, int]  # the end that sorts first (address, then port)
    upper: tuple[str, int]

    def text(self) -> str:
        name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(self.proto, str(self.proto))
        lower, upper = self.lower, self.upper
        return f"{name} {lower[0]}:{lower[1]} <> {upper[0]}:{upper[1]}"


def parse_ipv4(packet: bytes) -> tuple[int, tuple[str, int], tuple[str, int]] | None:
    """(protocol, (src, port), (dst, port)) of an IPv4 packet; ports are 0 outside TCP/UDP."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 15) * 4
    proto = packet[9]
    src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
    sport = dport = 0
    first_fragment = not struct.unpack("!H", packet[6:8])[0] & 0x1FFF
    if proto in PORTED and first_fragment and len(packet) >= ihl + 4:
        sport, dport = struct.unpack("!HH", packet[ihl : ihl + 4])
    return proto, (src, sport), (dst, dport)


def parse_ipv6(packet: bytes) -> tuple[int, tuple[str, int], tuple[str, int]] | None:
    """The same of an IPv6 packet (no extension headers: the lab's probes send none)."""
    if len(packet) < 40 or packet[0] >> 4 != 6:
        return None
    proto = packet[6]
    src = socket.inet_ntop(socket.AF_INET6, packet[8:24])
    dst = socket.inet_ntop(socket.AF_INET6, packet[24:40])
    sport = dport = 0
    if proto in PORTED and len(packet) >= 44:
        sport, dport = struct.unpack("!HH", packet[40:44])
    return proto, (src, sport), (dst, dport)


def parse_ip(packet: bytes) -> tuple[int, tuple[str, int], tuple[str, int]] | None:
    """parse_ipv4 or parse_ipv6, by the version nibble."""
    return parse_ipv6(packet) if packet[:1] and packet[0] >> 4 == 6 else parse_ipv4(packet)


def _packed(address: str) -> bytes:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.inet_pton(family, address)


def flow_key(proto: int, src: tuple[str, int], dst: tuple[str, int]) -> FlowKey:
    ends = sorted([src, dst], key=lambda e: (_packed(e[0]), e[1]))
    return FlowKey(proto, ends[0], ends[1])


def pick(key: FlowKey, candidates: list[str]) -> str:
    """The same target for both directions of a flow: a hash of its symmetric key."""
    digest = zlib.crc32(f"{key.proto}|{key.lower}|{key.upper}".encode())
    return sorted(candidates)[digest % len(candidates)]


def parse_geneve(data: bytes) -> tuple[int, dict[int, bytes]] | None:
    """(header length, AWS options by type) of a Geneve packet, or None when malformed."""
    if len(data) < 8 or data[0] >> 6:
        return None
    end = 8 + (data[0] & 63) * 4
    if end > len(data):
        return None
    options, at = {}, 8
    while at + 4 <= end:
        length = (data[at + 3] & 31) * 4
        if struct.unpack("!H", data[at : at + 2])[0] == geneve.AWS_CLASS:
            options[data[at + 2]] = data[at + 4 : at + 4 + length]
        at += 4 + length
    return (end, options) if at == end else None


def resource_number(resource_id: str, salt: str) -> int:
    """A stable 64-bit id for a resource, like AWS's vpce-... and attachment ids."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{resource_id}".encode()).digest()[:8], "big")


@dataclass
class FlowRecord:
    """What the emulator saw of one flow: (endpoint, appliance) per direction, sent and returned."""

    key: FlowKey
    first: tuple[str, int]  # the end that sent the first packet: its direction is "out"
    target: str | None = None
    zonal: dict[str, str] = field(default_factory=dict)  # other zones' nodes' targets, by AZ
    cookie: int = 0
    sent: dict[str, Counter] = field(default_factory=lambda: {"out": Counter(), "back": Counter()})
    returned: dict[str, Counter] = field(
        default_factory=lambda: {"out": Counter(), "back": Counter()}
    )
    dropped: Counter = field(default_factory=Counter)
    fail_open: bool = False  # sent to an unhealthy target because none was healthy

    def direction(self, src: tuple[str, int]) -> str:
        return "out" if src == self.first else "back"

    def crossings(self, direction: str) -> set[tuple[str, str]]:
        """(endpoint, appliance) pairs whose packets went to the appliance and came back."""
        return set(self.sent[direction]) & set(self.returned[direction])

    @property
    def symmetric(self) -> bool:
        """Inspected both ways by one endpoint and one appliance."""
        out, back = self.crossings("out"), self.crossings("back")
        return len(out) == 1 and out == back

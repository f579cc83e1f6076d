"""Policy: ordered JSON allow/drop rules, validated at start-up; first match wins."""
# ruff: noqa: UP045  -- runs on Python 3.9, where X | None fails when annotations are evaluated

import ipaddress
import json
from typing import Any, NamedTuple, Optional

ACTIONS = ("allow", "drop")
DIRECTIONS = ("any", "inbound", "outbound", "internal", "external")
PROTOCOLS = {"any": None, "tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
_PORT_PROTOS = (6, 17, 132)
DEFAULT_INTERNAL = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
_RULE_KEYS = {"name", "action", "direction", "protocol", "src", "dst", "dst_ports"}
_TOP_KEYS = {"default", "internal_cidrs", "rules"}

Net = tuple[int, int, int]  # ip version, network as int, mask as int


class PolicyError(ValueError):
    pass


class Rule(NamedTuple):
    name: str
    action: str
    direction: str
    proto: Optional[int]
    src: Optional[list[Net]]
    dst: Optional[list[Net]]
    ports: Optional[list[tuple[int, int]]]


def _nets(value: Any, what: str) -> list[Net]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{what}: empty list")
    out = []
    for item in items:
        try:
            net = ipaddress.ip_network(item, strict=False)
        except (ValueError, TypeError):
            raise PolicyError(f"{what}: {item!r} is not a CIDR") from None
        out.append((net.version, int(net.network_address), int(net.netmask)))
    return out


def _ports(value: Any) -> list[tuple[int, int]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        lo = hi = item
        if isinstance(item, str) and "-" in item:
            lo, _, hi = item.partition("-")
        try:
            lo, hi = int(lo), int(hi)
        except (ValueError, TypeError):
            raise PolicyError(f"dst_ports: {item!r} is not a port or 'lo-hi'") from None
        if isinstance(item, bool) or not 0 <= lo <= hi <= 65535:
            raise PolicyError(f"dst_ports: {item!r} is out of range 0-65535")
        out.append((lo, hi))
    if not out:
        raise PolicyError("dst_ports: empty list")
    return out


def _rule(raw: Any, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise PolicyError("must be an object")
    extra = set(raw) - _RULE_KEYS
    if extra:
        raise PolicyError(f"unknown key(s) {', '.join(sorted(extra))}")
    name = raw.get("name", f"rule{index}")
    if not isinstance(name, str):
        raise PolicyError("name must be a string")
    action = raw.get("action")
    if action not in ACTIONS:
        raise PolicyError(f"action must be one of {'/'.join(ACTIONS)}, got {action!r}")
    direction = raw.get("direction", "any")
    if direction not in DIRECTIONS:
        raise PolicyError(f"direction must be one of {'/'.join(DIRECTIONS)}, got {direction!r}")
    proto = raw.get("protocol", "any")
    if isinstance(proto, int) and not isinstance(proto, bool) and 0 <= proto <= 255:
        pnum: Optional[int] = proto
    elif proto in PROTOCOLS:
        pnum = PROTOCOLS[proto]
    else:
        raise PolicyError(f"protocol must be {'/'.join(PROTOCOLS)} or 0-255, got {proto!r}")
    ports = None
    if "dst_ports" in raw:
        if pnum not in _PORT_PROTOS:
            raise PolicyError("dst_ports needs protocol tcp, udp or 132 (sctp)")
        ports = _ports(raw["dst_ports"])
    src = _nets(raw["src"], "src") if "src" in raw else None
    dst = _nets(raw["dst"], "dst") if "dst" in raw else None
    return Rule(name, action, direction, pnum, src, dst, ports)


def _in(nets: list[Net], version: int, addr: int) -> bool:
    return any(v == version and addr & mask == net for v, net, mask in nets)


class Policy:
    """Decides a verdict for the first packet of a flow; compiled once, used per new flow."""

    def __init__(self, rules: list[Rule], default: str = "allow", internal=DEFAULT_INTERNAL):
        self.rules = rules
        self.default = default
        self.internal = _nets(list(internal), "internal_cidrs")

    def direction(self, version: int, src: int, dst: int) -> str:
        s, d = _in(self.internal, version, src), _in(self.internal, version, dst)
        return ("internal" if d else "outbound") if s else ("inbound" if d else "external")

    def decide(
        self, version: int, proto: int, src: bytes, dst: bytes, dport: int
    ) -> tuple[str, str, str]:
        """Return (action, rule name or 'default', direction)."""
        s, d = int.from_bytes(src, "big"), int.from_bytes(dst, "big")
        direction = self.direction(version, s, d)
        for r in self.rules:
            if r.direction != "any" and r.direction != direction:
                continue
            if r.proto is not None and r.proto != proto:
                continue
            if r.src is not None and not _in(r.src, version, s):
                continue
            if r.dst is not None and not _in(r.dst, version, d):
                continue
            if r.ports is not None and not any(lo <= dport <= hi for lo, hi in r.ports):
                continue
            return r.action, r.name, direction
        return self.default, "default", direction


def from_dict(doc: Any) -> Policy:
    """Compile a policy document; PolicyError's message names the bad rule."""
    if not isinstance(doc, dict):
        raise PolicyError("policy must be a JSON object")
    extra = set(doc) - _TOP_KEYS
    if extra:
        raise PolicyError(f"unknown top-level key(s) {', '.join(sorted(extra))}")
    default = doc.get("default", "allow")
    if default not in ACTIONS:
        raise PolicyError(f"default must be allow or drop, got {default!r}")
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        raise PolicyError("rules must be a list")
    rules = []
    for i, raw in enumerate(raw_rules, 1):
        try:
            rules.append(_rule(raw, i))
        except PolicyError as e:
            name = raw.get("name") if isinstance(raw, dict) else None
            label = f"rule {i}" + (f" ({name!r})" if isinstance(name, str) else "")
            raise PolicyError(f"{label}: {e}") from None
    internal = doc.get("internal_cidrs", list(DEFAULT_INTERNAL))
    if not isinstance(internal, list):
        raise PolicyError("internal_cidrs must be a list of CIDRs")
    return Policy(rules, default, internal)


def load(path: str) -> Policy:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise PolicyError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise PolicyError(f"{path} is not valid JSON: {e}") from None
    return from_dict(doc)

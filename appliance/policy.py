"""Policy: ordered allow/drop rules from JSON, validated at start-up; the first match wins.

See docs/appliance.md for the file format. Every error names what is wrong; errors inside a
rule are prefixed with its number and name, e.g. "rule 2 ('web'): dst: '10.0.0.0/33' is not
a CIDR".
"""

import ipaddress
import json

ACTIONS = ("allow", "drop")
DIRECTIONS = ("any", "inbound", "outbound", "internal", "external")
PROTOCOLS = {"any": None, "tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
RULE_KEYS = {"name", "action", "direction", "protocol", "src", "dst", "dst_ports"}
# RFC 1918, shared address space (RFC 6598) and IPv6 unique local addresses.
INTERNAL = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
ANYWHERE = ["0.0.0.0/0", "::/0"]


class PolicyError(ValueError):
    pass


def _keys(doc, allowed):
    extra = sorted(set(doc) - allowed)
    if extra:
        raise PolicyError("unknown key(s) " + ", ".join(extra))


def _pick(doc, key, options, default, also=""):
    value = doc.get(key, default)
    if value not in options:
        raise PolicyError(f"{key} must be {'/'.join(options)}{also}, got {value!r}")
    return value


def _items(value, what):
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{what}: empty list")
    return items


def _nets(value, what):
    """CIDRs as (ip version, network as int, mask as int), fast to match against int addresses."""
    out = []
    for item in _items(value, what):
        try:
            net = ipaddress.ip_network(item, strict=False)
        except (ValueError, TypeError):
            raise PolicyError(f"{what}: {item!r} is not a CIDR") from None
        out.append((net.version, int(net.network_address), int(net.netmask)))
    return out


def _ports(item):
    """A port (80 or "80") or a range "lo-hi" as (lo, hi)."""
    lo, _, hi = item.partition("-") if isinstance(item, str) else (item, 0, item)
    try:
        lo, hi = int(lo), int(hi or lo)
        ok = not isinstance(item, bool) and 0 <= lo <= hi <= 65535
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise PolicyError(f"dst_ports: {item!r} is not a port 0-65535 or a range 'lo-hi'")
    return lo, hi


def _rule(raw, index):
    """(name, action, direction, proto or None for any, src nets, dst nets, port ranges)."""
    if not isinstance(raw, dict):
        raise PolicyError("must be an object")
    _keys(raw, RULE_KEYS)
    name = raw.get("name", f"rule{index}")
    if not isinstance(name, str):
        raise PolicyError("name must be a string")
    proto = raw.get("protocol", "any")
    if not (type(proto) is int and 0 <= proto <= 255):
        proto = PROTOCOLS[_pick(raw, "protocol", tuple(PROTOCOLS), "any", " or 0-255")]
    if "dst_ports" in raw and proto not in (6, 17, 132):
        raise PolicyError("dst_ports needs protocol tcp, udp or 132 (sctp)")
    return (
        name,
        _pick(raw, "action", ACTIONS, None),
        _pick(raw, "direction", DIRECTIONS, "any"),
        proto,
        _nets(raw.get("src", ANYWHERE), "src"),
        _nets(raw.get("dst", ANYWHERE), "dst"),
        [_ports(item) for item in _items(raw.get("dst_ports", "0-65535"), "dst_ports")],
    )


def _in(nets, version, addr):
    return any(v == version and addr & mask == net for v, net, mask in nets)


MEMO = 65536  # rule lists and decisions kept, then forgotten all at once


class Policy:
    """Judges the first packet of a flow; rules are compiled by from_dict. A new flow tries only
    the rules of its protocol and destination port, listed once per pair and kept (an index);
    and a decision, which never depends on the source port, is kept for the flows after it
    between the same hosts to the same port (a client's many connections, a flood from one
    host). Both in `memo`, keyed (protocol, port) and (version, protocol, source, destination,
    port)."""

    def __init__(self, rules, default, internal):
        self.rules, self.default, self.internal = rules, default, internal
        self.memo = {}

    def decide(self, version: int, proto: int, src: bytes, dst: bytes, dport: int) -> tuple:
        """(action, rule name or 'default', direction); src and dst are packed addresses."""
        key = version, proto, src, dst, dport
        found = self.memo.get(key)
        if found is None:
            if len(self.memo) >= MEMO:
                self.memo.clear()
            found = self.memo[key] = self._decide(*key)
        return found

    def _decide(self, version, proto, src, dst, dport):
        s, d = int.from_bytes(src, "big"), int.from_bytes(dst, "big")
        si, di = _in(self.internal, version, s), _in(self.internal, version, d)
        direction = ("internal" if di else "outbound") if si else ("inbound" if di else "external")
        rules = self.memo.get((proto, dport))
        if rules is None:
            rules = self.memo[proto, dport] = [
                r
                for r in self.rules
                if r[3] in (None, proto) and any(lo <= dport <= hi for lo, hi in r[6])
            ]
        for name, action, rdir, _, rsrc, rdst, _ in rules:
            if rdir in ("any", direction) and _in(rsrc, version, s) and _in(rdst, version, d):
                return action, name, direction
        return self.default, "default", direction


def from_dict(doc):
    """Compile a policy document; raises PolicyError."""
    if not isinstance(doc, dict):
        raise PolicyError("policy must be a JSON object")
    _keys(doc, {"default", "internal_cidrs", "rules"})
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        raise PolicyError("rules must be a list")
    rules = []
    for i, raw in enumerate(raw_rules, 1):
        try:
            rules.append(_rule(raw, i))
        except PolicyError as e:
            name = raw.get("name") if isinstance(raw, dict) else None
            label = f"rule {i} ({name!r})" if isinstance(name, str) else f"rule {i}"
            raise PolicyError(f"{label}: {e}") from None
    default = _pick(doc, "default", ACTIONS, "allow")
    return Policy(rules, default, _nets(doc.get("internal_cidrs", INTERNAL), "internal_cidrs"))


def read(path: str) -> bytes:
    """The policy file's bytes, exactly: the supervisor hands these to the workers."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise PolicyError(f"cannot read {path}: {e.strerror}") from None


def parse(data: bytes, where: str = "policy") -> "Policy":
    """Compile a policy document given as JSON bytes; raises PolicyError."""
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise PolicyError(f"{where} is not valid JSON: {e}") from None
    return from_dict(doc)


def load(path: str) -> "Policy":
    return parse(read(path), path)

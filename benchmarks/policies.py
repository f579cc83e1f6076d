"""The benchmark's policies: RULES_20 for the new-flow storm, rules_100 for the reload gap."""

ADMIN = "10.9.0.0/16"
RULES_20 = {
    "default": "drop",
    "rules": [
        {"name": "no-smtp", "action": "drop", "protocol": "tcp", "dst_ports": 25},
        *(
            {"name": f"admin-{port}", "action": "allow", "protocol": "tcp", "src": ADMIN,
             "dst_ports": port}
            for port in (22, 3389, 5432, 6379, 9200)
        ),
        {"name": "no-dns-from-test-net", "action": "drop", "protocol": "udp",
         "src": "192.0.2.0/24", "dst_ports": 53},
        {"name": "ntp-out", "action": "allow", "direction": "outbound", "protocol": "udp",
         "dst_ports": 123},
        {"name": "no-ssdp", "action": "drop", "protocol": "udp", "dst_ports": 1900},
        {"name": "no-smb", "action": "drop", "protocol": "tcp", "dst_ports": [139, 445]},
        {"name": "web-in", "action": "allow", "direction": "inbound", "protocol": "tcp",
         "dst": "10.0.6.0/23", "dst_ports": [80, 443]},
        *(
            {"name": f"block-{n}", "action": "drop", "src": net}
            for n, net in enumerate(["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"])
        ),
        *(
            {"name": f"no-{n}", "action": "drop", "dst": net}
            for n, net in enumerate(["100.64.0.0/10", "169.254.0.0/16", "224.0.0.0/4"])
        ),
        {"name": "no-icmp-from-test-net", "action": "drop", "protocol": "icmp",
         "src": "203.0.113.0/24"},
        {"name": "dns-out", "action": "allow", "direction": "outbound", "protocol": "udp",
         "dst_ports": 53, "dst": "198.51.100.53/32"},
        {"name": "outbound", "action": "allow", "direction": "outbound"},
    ],
}  # fmt: skip
assert len(RULES_20["rules"]) == 20


def rules_100(variant: int) -> dict:
    """99 narrow drops (no storm flow matches them) and allow outbound; `variant` changes the
    ports, so a reload really is a new policy."""
    rules = [
        {"action": "drop", "protocol": "tcp", "src": f"192.0.2.{n}/32", "dst_ports": 1000 + n}
        for n in range(variant, variant + 99)
    ]
    return {"default": "drop", "rules": [*rules, {"action": "allow", "direction": "outbound"}]}

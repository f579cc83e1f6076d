"""A VPC router's subnet route tables and the rules that pick one by the interface a packet came in
on, as `ip` batch lines: the same for the IPv4 and the IPv6 tables."""

from __future__ import annotations

from lab.addresses import PolicyRouting


def policy_lines(rules: PolicyRouting, anywhere: str, via_flags: str = "") -> list[str]:
    """`ip` batch lines for one VPC router's tables (one per subnet table) and the rules that
    pick a table by the interface a packet came in on; IPv4 and IPv6 alike."""
    lines = []
    for number, routes in rules.tables.items():
        for route in routes:
            if route.device == "blackhole":
                lines.append(f"route add blackhole {route.destination} table {number}")
            else:
                via = f" via {route.via}{via_flags}" if route.via else ""
                lines.append(
                    f"route add {route.destination}{via} dev {route.device} table {number}"
                )
        if not any(route.destination == anywhere for route in routes):
            # AWS drops what no route matches, silently; without this the lookup would fall
            # through to the router's main table and answer "Network is unreachable".
            lines.append(f"route add blackhole default table {number}")
    for index, (dev, number) in enumerate(rules.sources):
        lines.append(f"rule add iif {dev} lookup {number} pref {1000 + index}")
    return lines

"""The IPv6 steps of bringing a lab up, each a no-op for a set without IPv6: addresses and
gateways, route tables, the security groups' ip6 tables, the internet server's and the ALB
nodes' IPv6 listeners."""

from __future__ import annotations

import socket

from lab import addresses6, network6, security
from lab.addresses6 import SERVER_IP6, Plan6
from lab.alb import AlbNode
from lab.hosts import wait_for
from lab.nsutil import nft, socket_in


def build(session) -> Plan6 | None:
    if not network6.wanted(session.lab):
        return None
    plan6 = addresses6.plan(session.model, session.lab.plan)
    network6.build(session.lab, plan6)
    return plan6


def install_routes(session) -> None:
    if session.plan6 is not None:
        network6.install_routes(session.lab, session.plan6)


def members6(session, group: str) -> set[str]:
    """IPv6 addresses of a security group's members."""
    grouped = session.filters.grouped()
    return {
        session.plan6.ip[ident]
        for ident, groups in grouped.items()
        if group in groups and ident in session.plan6.ip
    }


def security_groups(session) -> None:
    """Every grouped host and ALB node gets an ip6 table too: without one, IPv6 would pass
    unfiltered."""
    if session.plan6 is None or not session.security_groups:
        return
    for node_id, groups in session.filters.grouped().items():
        rules = security.ruleset(
            [session.model.security_groups[g] for g in groups],
            lambda g: members6(session, g),
            version=6,
        )
        nft(session.lab.node_ns[node_id], rules)


def internet_server(session, ports: tuple[int, ...]) -> None:
    if session.plan6 is not None:
        session.hosts.internet_server(session.lab.server, SERVER_IP6, ports)


def wait_ready(session, ports: tuple[int, ...], timeout: float) -> None:
    """The internet server answers on its IPv6 address too before any probe runs."""
    if session.plan6 is None:
        return

    def listening() -> bool:
        for port in ports:
            try:
                with socket_in(session.lab.server, socket.AF_INET6) as sock:
                    sock.settimeout(0.5)
                    sock.connect((SERVER_IP6, port))
            except OSError:
                return False
        return True

    wait_for(listening, timeout)


def listen(session, node: AlbNode, node_id: str) -> None:
    """A dual-stack ALB node answers on its IPv6 address too (its targets stay IPv4)."""
    if session.plan6 is not None and node_id in session.plan6.ip:
        node.listen6(session.plan6.ip[node_id])

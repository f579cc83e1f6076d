"""A replacement appliance instance, as Auto Scaling launches one in a rolling update: a new host
in the old one's subnet (a new address and namespace, the same security groups and user data)
running a changed build (its policy file gains one rule), registered with the GWLB's target
group."""

from __future__ import annotations

import json
from dataclasses import replace

from lab import addresses, network, registration, security
from lab.hosts import policy_paths
from lab.nsutil import nft
from lab.session import Session
from verify.model import Host

# The changed build: one more rule, which none of the drill's flows meets (they go out).
ROLLED_RULE = {
    "name": "rolled-build-no-telnet-in",
    "action": "drop",
    "direction": "inbound",
    "protocol": "tcp",
    "dst_ports": 23,
}
# Router port names h<N> of the build count up from 1: a replacement's must not repeat one.
REPLACEMENT_PORTS = 1000


def changed_policy(session: Session, host_id: str) -> tuple[bytes | None, str]:
    """(the old instance's policy with ROLLED_RULE first, what changed) or (None, why not)."""
    for service in session.hosts.of(host_id):
        for path in policy_paths(service.unit):
            try:
                doc = json.loads(service.root.path(path).read_bytes())
            except (OSError, ValueError):
                continue
            doc["rules"] = [ROLLED_RULE, *doc.get("rules", [])]
            return json.dumps(doc).encode(), f"its policy gains rule {ROLLED_RULE['name']}"
    return None, "the same build (no policy file to change)"


def launch(session: Session, old: Host, policy: bytes | None) -> tuple[Host, str]:
    """Starts the replacement of old and registers it; returns it and its address."""
    lab, model = session.lab, session.model
    new = replace(old, id=f"{old.id}#new", name=f"{old.name}-new")
    cidr = model.subnets[old.subnet].cidr
    taken = {node.ip for node in lab.plan.nodes.values()}
    offset = addresses.FIRST_HOST
    while addresses.host_ip(cidr, offset) in taken:
        offset += 1
    node = addresses.Node(new.id, new.name, old.subnet, addresses.host_ip(cidr, offset), None)
    lab.plan.nodes[new.id] = node
    builder = network.Builder(lab)
    builder.ports = REPLACEMENT_PORTS + len(lab.namespaces)
    builder.node(node)
    ns = lab.node_ns[new.id]
    if session.security_groups and old.security_groups:
        groups = [model.security_groups[g] for g in old.security_groups]
        nft(ns, security.ruleset(groups, session.filters.members))
    stand_in = old.id in session.stand_ins
    if stand_in:
        group = model.target_groups[next(iter(model.gwlbs.values())).target_group]
        session.hosts.boot_stand_in(new, ns, group.health.port, policy)
    else:
        session.hosts.boot(new, ns, policy)
    registration.register(session.emulator, new.id, new.name, node.ip, old.subnet, stand_in)
    return new, node.ip

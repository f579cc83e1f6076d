"""The transit gateway's namespace: one veth per attachment ENI (its VPC end a port of the ENI
subnet's bridge, so what the TGW delivers is routed by that subnet's route table, as in AWS), the
flow hash and the 8,500-byte limit in nftables, the tables and rules lab.transit decided; and the
count of packets it dropped for their size."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lab import transit
from lab.hosts import StartError
from lab.nsutil import CommandError, ip_batch, nft, run
from lab.transit import TransitPlan

if TYPE_CHECKING:
    from lab.network import Builder

MAX_PACKET = 8500  # AWS: packets over 8,500 bytes arriving at a transit gateway are dropped
COUNTER = "oversized"


def ruleset(layout: TransitPlan) -> str:
    """Oversized packets dropped without "fragmentation needed", as the TGW does; every other
    packet marked with its flow's bucket (1..N) by the kernel's symmetric hash (both directions
    of a flow hash alike), before routing so that `ip rule fwmark` sees it."""
    return (
        "table ip tgw {\n"
        f"  counter {COUNTER} {{\n  }}\n"
        "  chain prerouting {\n"
        "    type filter hook prerouting priority mangle; policy accept;\n"
        f'    ip length > {MAX_PACKET} counter name "{COUNTER}" drop\n'
        f"    meta mark set symhash mod {layout.buckets} offset 1\n"
        "  }\n}\n"
    )


def build(builder: Builder, layout: TransitPlan, mtu: str) -> str:
    """The TGW namespace with its ENIs, hash, tables and rules; returns its name. The VPC
    routers and their bridges exist already."""
    lab = builder.lab
    ns = builder.netns("tgw", router=True)
    own = []
    for eni in sorted(layout.enis.values(), key=lambda e: e.device):
        router = lab.router[lab.spec.subnets[eni.subnet].vpc]
        builder.veth(router, eni.port, ns, eni.device)
        ip_batch(
            router,
            [
                f"link set {eni.port} mtu {mtu}",
                f"link set {eni.port} master {lab.plan.bridge[eni.subnet]}",
                f"link set {eni.port} up",
            ],
        )
        own += [
            f"link set {eni.device} mtu {mtu}",
            f"addr add {eni.ip}/{eni.prefix} dev {eni.device}",
            f"link set {eni.device} up",
        ]
    ip_batch(ns, own)
    try:
        nft(ns, ruleset(layout))
    except CommandError as exc:
        # One clear line on a kernel without nftables' hash expression (nft_hash).
        raise StartError(f"the transit gateway's flow hash (nftables symhash): {exc}") from None
    ip_batch(ns, transit.ip_lines(layout))
    return ns


def dropped(ns: str) -> int:
    """Packets the TGW dropped for exceeding 8,500 bytes so far."""
    if not ns:
        return 0
    text = run(["ip", "netns", "exec", ns, "nft", "-j", "list", "counter", "ip", "tgw", COUNTER])
    for item in json.loads(text).get("nftables", []):
        if "counter" in item:
            return int(item["counter"]["packets"])
    return 0

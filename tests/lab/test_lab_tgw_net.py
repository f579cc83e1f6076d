"""The transit gateway namespace with real packets (root): spokes reach each other through the
TGW and a hub; with appliance mode on the hub attachment, the kernel's symmetric flow hash sends
each flow through one hub AZ both ways and spreads flows over both AZs; without it, a flow between
AZs crosses the hub in one AZ out and the other back; an unassociated attachment is cut off."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from lab_run import needs_root
from transit_sets import HUB_ATT, ZONES, host_id, hub_and_spokes

from lab import network, probes, tgw, transit
from lab.nsutil import nft, run, socket_in
from verify.model import SetModel

pytestmark = needs_root
ECHO_PORT = 7007


@contextmanager
def built(model: SetModel) -> Iterator[network.Lab]:
    lab = network.Lab(str(os.getpid()), model, network.plan_for(model))
    try:
        network.build(lab)
        network.install_routes(lab)
        count_hub(lab)
        yield lab
    finally:
        network.teardown(lab)


def hub_carried(lab: network.Lab) -> dict[str, int]:
    """IPv4 packets the TGW has delivered into the hub so far, per AZ, from nft counters on the
    hub's interfaces (ARP, which the link counters would include, is not IPv4)."""
    layout = transit.plan(lab.spec)
    devices = {layout.enis[(HUB_ATT, az)].device: az for az in ZONES}
    listing = run(["ip", "netns", "exec", lab.tgw, "nft", "-j", "list", "table", "ip", "hubcount"])
    counted = dict.fromkeys(ZONES, 0)
    for item in json.loads(listing)["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        device = next(e["match"]["right"] for e in rule["expr"] if "match" in e)
        packets = next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
        counted[devices[device]] = packets
    return counted


def count_hub(lab: network.Lab) -> None:
    layout = transit.plan(lab.spec)
    rules = "".join(f'    oifname "{layout.enis[(HUB_ATT, az)].device}" counter\n' for az in ZONES)
    nft(
        lab.tgw,
        "table ip hubcount {\n  chain out {\n    type filter hook postrouting priority 0;\n"
        + rules
        + "  }\n}\n",
    )


def through_hub(lab: network.Lab, before: dict[str, int]) -> dict[str, int]:
    after = hub_carried(lab)
    return {az: after[az] - before[az] for az in ZONES if after[az] != before[az]}


def ends(lab: network.Lab, src: tuple[int, int], dst: tuple[int, int]):
    a, b = host_id(*src), host_id(*dst)
    nodes = lab.plan.nodes
    return lab.node_ns[a], nodes[a].ip, lab.node_ns[b], nodes[b].ip


def udp_round_trips(lab: network.Lab, count: int) -> list[dict[str, int]]:
    """`count` UDP flows (new source ports) from spoke 1 in AZ a to spoke 2 in AZ b, each echoed
    once; per flow, the hub AZs its two packets crossed."""
    ns_a, ip_a, ns_b, ip_b = ends(lab, (1, 0), (2, 1))
    seen = []
    with socket_in(ns_b, socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((ip_b, ECHO_PORT))
        server.settimeout(3)
        for _ in range(count):
            before = hub_carried(lab)
            with socket_in(ns_a, socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.bind((ip_a, 0))
                client.settimeout(3)
                client.sendto(b"ping", (ip_b, ECHO_PORT))
                data, peer = server.recvfrom(100)
                server.sendto(data, peer)
                assert client.recvfrom(100)[0] == b"ping"
            seen.append(through_hub(lab, before))
    return seen


def test_appliance_mode_one_hub_zone_per_flow_both_ways_and_flows_spread():
    with built(hub_and_spokes(appliance_mode=True)) as lab:
        flows = udp_round_trips(lab, 16)
        assert all(len(flow) == 1 and sum(flow.values()) >= 2 for flow in flows), flows
        assert {az for flow in flows for az in flow} == set(ZONES)
        ns_a, ip_a, _, ip_b = ends(lab, (1, 0), (2, 1))
        before = hub_carried(lab)
        assert probes.ping(ns_a, ip_a, ip_b).ok
        (crossed,) = through_hub(lab, before).values()
        assert crossed >= 2


def test_without_appliance_mode_each_direction_crosses_its_own_zone():
    with built(hub_and_spokes(appliance_mode=False)) as lab:
        flows = udp_round_trips(lab, 4)
        assert all(set(flow) == set(ZONES) for flow in flows), flows
        ns_a, ip_a, _, ip_same = ends(lab, (1, 0), (2, 0))
        before = hub_carried(lab)
        assert probes.ping(ns_a, ip_a, ip_same).ok
        assert set(through_hub(lab, before)) == {ZONES[0]}


def test_unassociated_or_unpropagated_spoke_is_cut_off_and_big_packets_dropped():
    with built(hub_and_spokes(associate_spoke2=False)) as lab:
        ns_a, ip_a, ns_b, ip_b = ends(lab, (1, 0), (2, 1))
        assert not probes.ping(ns_a, ip_a, ip_b, timeout=1.0).ok
        assert not probes.ping(ns_b, ip_b, ip_a, timeout=1.0).ok
        ns_c, ip_c, _, _ = ends(lab, (1, 1), (2, 0))
        assert probes.ping(ns_a, ip_a, ip_c).ok  # within spoke 1: the VPC's local route
    with built(hub_and_spokes(propagate_spoke2=False)) as lab:
        ns_a, ip_a, _, ip_b = ends(lab, (1, 0), (2, 1))
        assert not probes.ping(ns_a, ip_a, ip_b, timeout=1.0).ok
    with built(hub_and_spokes()) as lab:
        ns_a, ip_a, _, ip_b = ends(lab, (1, 0), (2, 1))
        assert probes.ping(ns_a, ip_a, ip_b, size=8400).ok  # 8,428 bytes: under 8,500
        assert not probes.ping(ns_a, ip_a, ip_b, size=8600, timeout=1.0).ok
        assert tgw.dropped(lab.tgw) == 1

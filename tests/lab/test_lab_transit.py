"""The lab's transit gateway plan (pure): ENIs, the TGW's tables per (route table, entry AZ,
flow-hash bucket), association rules, and the per-AZ VPC tables that send to the ENI of the
sending subnet's AZ, on the small hub-and-spokes model of transit_sets; and the reading stage
running what AWS accepts and then drops."""

from __future__ import annotations

from dataclasses import replace

from lab_mutations import copy_set
from lab_run import REPO
from tgw_mutations import spokes_not_associated
from transit_sets import (
    HUB_ATT,
    SPOKE1,
    SPOKE1_ATT,
    SPOKE2,
    SPOKE2_ATT,
    ZONES,
    hub_and_spokes,
    subnet_id,
)

from lab import addresses, transit
from lab.addresses import LinuxRoute
from lab.reading import read_set
from verify.model_transit import TgwRoute

A, B = ZONES


def _exit(layout: transit.TransitPlan, device: str, bucket: int, destination: str) -> str:
    """The device a packet entering by `device` with `bucket` leaves by, for a destination
    block routed in its table ('blackhole' when dropped)."""
    number = next(n for d, m, n in layout.rules if d == device and m == bucket)
    route = next(r for r in layout.tables[number] if r.destination == destination)
    return route.device


def _eni(layout: transit.TransitPlan, attachment: str, az: str) -> str:
    return layout.enis[(attachment, az)].device


def test_one_eni_per_attachment_and_zone_at_the_fifth_address():
    layout = transit.plan(hub_and_spokes())
    assert len(layout.enis) == 6
    eni = layout.enis[(SPOKE1_ATT, B)]
    assert eni.subnet == subnet_id(SPOKE1, "Transit", 1)
    assert (eni.ip, eni.gateway, eni.prefix) == ("10.1.101.4", "10.1.101.1", 24)
    assert len({e.device for e in layout.enis.values()}) == 6
    assert layout.buckets == 2


def test_appliance_mode_lets_the_hash_choose_the_zone_from_either_entry_zone():
    layout = transit.plan(hub_and_spokes(appliance_mode=True))
    for entry in ZONES:
        device = _eni(layout, SPOKE1_ATT, entry)
        exits = [_exit(layout, device, bucket, "0.0.0.0/0") for bucket in (1, 2)]
        assert exits == [_eni(layout, HUB_ATT, A), _eni(layout, HUB_ATT, B)]


def test_without_appliance_mode_the_zone_is_the_entry_zone():
    layout = transit.plan(hub_and_spokes(appliance_mode=False))
    for entry in ZONES:
        device = _eni(layout, SPOKE1_ATT, entry)
        for bucket in (1, 2):
            assert _exit(layout, device, bucket, "0.0.0.0/0") == _eni(layout, HUB_ATT, entry)


def test_one_bucket_gives_one_hub_zone_both_ways_across_zones():
    """Spoke1 in AZ a to spoke2 in AZ b and the reply: with appliance mode the same flow (one
    bucket) enters the hub in the same AZ both ways; without, in the two AZs."""
    for mode, same in ((True, True), (False, False)):
        layout = transit.plan(hub_and_spokes(appliance_mode=mode))
        for bucket in (1, 2):
            out = _exit(layout, _eni(layout, SPOKE1_ATT, A), bucket, "0.0.0.0/0")
            back = _exit(layout, _eni(layout, SPOKE2_ATT, B), bucket, "0.0.0.0/0")
            assert (out == back) is same
            # From the hub, AZ affinity delivers to the spoke's ENI in the hub's AZ.
            hub_az = next(az for az in ZONES if _eni(layout, HUB_ATT, az) == out)
            delivered = _exit(layout, _eni(layout, HUB_ATT, hub_az), bucket, "10.2.0.0/16")
            assert delivered == _eni(layout, SPOKE2_ATT, hub_az)


def test_a_hub_in_one_zone_takes_every_flow_there():
    layout = transit.plan(hub_and_spokes(appliance_mode=False, hub_zones=(A,)))
    assert layout.buckets == 2
    for bucket in (1, 2):
        exit_ = _exit(layout, _eni(layout, SPOKE1_ATT, B), bucket, "0.0.0.0/0")
        assert exit_ == _eni(layout, HUB_ATT, A)


def test_static_beats_propagated_and_blackholes_drop():
    model = hub_and_spokes()
    model.tgw_routes["Net/HubRt"] = [
        TgwRoute("Net/ToSpoke2ViaSpoke1", "10.2.0.0/16", SPOKE1_ATT),
        TgwRoute("Net/Hole", "10.1.0.0/16", None, blackhole=True),
    ]
    layout = transit.plan(model)
    device = _eni(layout, HUB_ATT, A)
    assert _exit(layout, device, 1, "10.2.0.0/16") == _eni(layout, SPOKE1_ATT, A)
    assert _exit(layout, device, 1, "10.1.0.0/16") == "blackhole"
    assert _exit(layout, device, 1, "0.0.0.0/0") == "blackhole"  # no match: dropped


def test_unassociated_attachment_has_no_rule_and_missing_propagation_no_route():
    layout = transit.plan(hub_and_spokes(associate_spoke2=False, propagate_spoke2=False))
    spoke2 = {_eni(layout, SPOKE2_ATT, az) for az in ZONES}
    assert not [rule for rule in layout.rules if rule[0] in spoke2]
    hub = _eni(layout, HUB_ATT, A)
    assert _exit(layout, hub, 1, "0.0.0.0/0") == "blackhole"
    number = next(n for d, m, n in layout.rules if d == hub and m == 1)
    assert "10.2.0.0/16" not in {r.destination for r in layout.tables[number]}
    lines = transit.ip_lines(layout)
    assert lines[-1] == f"rule add lookup {transit.DROP_TABLE} pref {transit.DROP_PREF}"
    assert f"route add blackhole 0.0.0.0/0 table {transit.DROP_TABLE}" in lines


def test_vpc_tables_split_by_zone_and_send_to_that_zones_eni():
    model = hub_and_spokes()
    layout = addresses.plan(model)
    rules = addresses.policy_routing(model, layout, SPOKE1)
    numbers = {}
    for zone, az in enumerate(ZONES):
        bridge = layout.bridge[subnet_id(SPOKE1, "Work", zone)]
        numbers[az] = dict(rules.sources)[bridge]
        transit_subnet = subnet_id(SPOKE1, "Transit", zone)
        expected = LinuxRoute("0.0.0.0/0", layout.bridge[transit_subnet], f"10.1.{100 + zone}.4")
        assert expected in rules.tables[numbers[az]]
    assert numbers[A] != numbers[B]


def test_a_subnet_in_a_zone_without_an_eni_cannot_reach_the_tgw():
    """AWS: resources in an AZ where the VPC's attachment has no subnet cannot reach the TGW."""
    model = hub_and_spokes()
    layout = addresses.plan(model)
    bridge = layout.bridge[subnet_id(SPOKE2, "Work", 1)]
    spoke = addresses.policy_routing(model, layout, SPOKE2)
    assert LinuxRoute("0.0.0.0/0", "blackhole") not in spoke.tables[dict(spoke.sources)[bridge]]
    only_a = (subnet_id(SPOKE2, "Transit", 0),)
    model.tgw_attachments[SPOKE2_ATT] = replace(model.tgw_attachments[SPOKE2_ATT], subnets=only_a)
    spoke = addresses.policy_routing(model, layout, SPOKE2)
    assert LinuxRoute("0.0.0.0/0", "blackhole") in spoke.tables[dict(spoke.sources)[bridge]]


def test_via_tgw_follows_the_subnets_longest_prefix_match():
    model = hub_and_spokes()
    work = subnet_id(SPOKE1, "Work", 0)
    assert transit.via_tgw(model, work, "10.2.0.10")  # the default route to the TGW
    assert not transit.via_tgw(model, work, "10.1.1.10")  # its own VPC: the local route
    assert not transit.via_tgw(model, subnet_id(SPOKE1, "Transit", 0), "10.2.0.10")  # no table


def test_what_aws_accepts_then_drops_is_read_and_run_not_refused(tmp_path):
    """An unassociated spoke attachment: AWS creates it and drops its packets. The lab builds it
    (the packets show the loss) and says so; a refusal would stop it before any namespace."""
    broken = copy_set(REPO / "output" / "aws" / "tgw-centralized", tmp_path / "set")
    spokes_not_associated(broken)
    reading = read_set(broken)
    assert reading.refusals == [] and reading.model is not None
    assert [line.split(":")[0] for line in reading.accepted_drops] == [
        "App1TransitGatewayAttachment",
        "App2TransitGatewayAttachment",
    ]
    assert all("AcceptedButDrops" in line for line in reading.accepted_drops)

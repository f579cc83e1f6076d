"""The GWLB emulator when a flow's reply comes back through another zone's endpoint (a transit
gateway without appliance mode): with cross-zone load balancing off, that zone's node picks among
its own zone's targets, so the two directions reach two appliances; with it on, one."""

import dataclasses

import pytest
from test_lab_parts import _ipv4, _sent, emulator  # noqa: F401 - emulator is a fixture

from lab.flows import flow_key


@pytest.mark.parametrize("cross_zone", [False, True])
def test_a_reply_through_another_zone_meets_that_zones_node(emulator, cross_zone):  # noqa: F811
    em = emulator
    gid, gwlb = next(iter(em.spec.gwlbs.items()))
    em.spec.gwlbs[gid] = dataclasses.replace(gwlb, cross_zone=cross_zone)
    e1, e2 = sorted(em.spec.endpoints)
    zone = {e: em.spec.subnets[em.spec.endpoints[e].subnet].az for e in (e1, e2)}
    assert zone[e1] != zone[e2]
    out = _ipv4("10.0.6.10", "10.0.7.10", 6, 40000, 80)
    back = _ipv4("10.0.7.10", "10.0.6.10", 6, 80, 40000)
    em.to_appliance(e1, out)
    em.to_appliance(e2, back)
    em.to_appliance(e2, back)  # sticky at that node too
    record = em.flows[flow_key(6, ("10.0.6.10", 40000), ("10.0.7.10", 80))]
    (first,) = {target for _, target in record.sent["out"]}
    (second,) = {target for _, target in record.sent["back"]}
    assert em.target_az[first] == zone[e1]
    if cross_zone:
        assert second == first
    else:
        assert em.target_az[second] == zone[e2] and second != first
    assert record.sent["back"][(e2, second)] == 2
    assert len({address for _, (address, _) in _sent(em)}) == (1 if cross_zone else 2)

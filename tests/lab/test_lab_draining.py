"""The GWLB emulator's deregistration, as AWS documents it ("Edit target group attributes for your
Gateway Load Balancer"): a deregistered target gets no new flow; its existing flows stay for the
deregistration delay, then move to a healthy target under rebalance and stay under no_rebalance."""

import dataclasses
from types import SimpleNamespace

import pytest
from test_lab_parts import _ipv4, _sent, emulator  # noqa: F401 - emulator is a fixture

import lab.gwlb
from lab import registration

DELAY_SECONDS = 40


@pytest.mark.parametrize("mode", ["rebalance", "no_rebalance"])
def test_a_drained_target_keeps_its_flows_for_the_delay_then_moves_them_only_under_rebalance(
    emulator,  # noqa: F811
    monkeypatch,
    mode,
):
    em = emulator
    gwlb = next(iter(em.spec.gwlbs.values()))
    tg = em.spec.target_groups[gwlb.target_group]
    attributes = {
        **tg.attributes,
        "target_failover.on_deregistration": mode,
        "target_failover.on_unhealthy": mode,
        "deregistration_delay.timeout_seconds": str(DELAY_SECONDS),
    }
    em.spec.target_groups[tg.id] = dataclasses.replace(tg, attributes=attributes)
    e1 = sorted(em.spec.endpoints)[0]
    packet = _ipv4("10.0.6.10", "198.19.255.20", 6, 40001, 443)
    em.to_appliance(e1, packet)
    first = _sent(em)[-1][1][0]
    victim = next(t for t in em.targets.values() if t.address == first)
    assert registration.deregister(em, victim.id) == pytest.approx(DELAY_SECONDS * em.scale)
    em.to_appliance(e1, packet)
    assert _sent(em)[-1][1][0] == first  # draining: the existing flow stays
    for port in range(41000, 41020):
        em.to_appliance(e1, _ipv4("10.0.6.10", "198.19.255.20", 6, port, 443))
    assert first not in {a[0] for _, a in _sent(em)[-20:]}  # no new flow to a draining target
    later = lab.gwlb.time.monotonic() + DELAY_SECONDS * em.scale + 1
    monkeypatch.setattr(lab.gwlb, "time", SimpleNamespace(monotonic=lambda: later))
    em.to_appliance(e1, packet)
    assert (_sent(em)[-1][1][0] == first) is (mode == "no_rebalance")

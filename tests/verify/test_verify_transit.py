"""The transit gateway's data path (verify/transit.py) on small hand-made models, each expectation
taken from AWS's documented behaviour: one association per attachment, longest prefix first with
static beating propagated, appliance mode's flow-hash choice against AZ affinity, and the
attachment ENI of the sender's AZ."""

from __future__ import annotations

from verify import transit
from verify.model import SetModel, Subnet, Vpc
from verify.model_transit import TgwAttachment, TgwRoute, TgwRouteTable, TransitGateway


def _model(appliance_mode: bool = False, defaults: bool = False) -> SetModel:
    """Two VPCs attached to one TGW: A (10.1/16, ENIs in az0 and az1), B (10.2/16, ENI in az0
    only). Table T (explicit) holds A; nothing else is associated unless defaults are on."""
    net = SetModel()
    net.transit_gateways["tgw"] = TransitGateway("tgw", "Tgw", "Tgw", defaults, defaults)
    for vpc, block in (("a", "10.1.0.0/16"), ("b", "10.2.0.0/16")):
        net.vpcs[vpc] = Vpc(vpc, vpc.upper(), block)
    subnets = [
        ("a-eni0", "10.1.0.0/24", "az0", "a"),
        ("a-eni1", "10.1.1.0/24", "az1", "a"),
        ("a-app1", "10.1.11.0/24", "az1", "a"),
        ("b-eni0", "10.2.0.0/24", "az0", "b"),
        ("b-app1", "10.2.11.0/24", "az1", "b"),
    ]
    for sid, block, az, vpc in subnets:
        net.subnets[sid] = Subnet(sid, sid, sid, block, az, vpc)
    net.tgw_attachments["att-a"] = TgwAttachment(
        "att-a", "AttA", "AttA", "tgw", "a", ("a-eni0", "a-eni1"), appliance_mode
    )
    net.tgw_attachments["att-b"] = TgwAttachment(
        "att-b", "AttB", "AttB", "tgw", "b", ("b-eni0",), False
    )
    net.tgw_tables["t"] = TgwRouteTable("t", "T", "T", "tgw")
    net.tgw_associations["att-a"] = ["t"]
    return net


def test_an_attachment_uses_its_one_association_else_the_default_table_else_none():
    net = _model()
    assert transit.table_of(net, "att-a") == "t"
    assert transit.table_of(net, "att-b") is None  # default association disabled: dropped
    with_defaults = _model(defaults=True)
    assert transit.table_of(with_defaults, "att-b") == "tgw"  # the TGW's default table


def test_default_propagation_puts_every_attachments_cidr_in_the_default_table():
    net = _model(defaults=True)
    routes = transit.effective_routes(net, "tgw")
    assert [(r.destination, r.attachment) for r in routes] == [
        ("10.1.0.0/16", "att-a"),
        ("10.2.0.0/16", "att-b"),
    ]


def test_longest_prefix_first_and_a_static_route_beats_a_propagated_one_of_its_prefix():
    net = _model()
    net.tgw_propagations["t"] = ["att-a", "att-b"]
    net.tgw_routes["t"] = [
        TgwRoute("default", "0.0.0.0/0", "att-a"),
        TgwRoute("hole", "10.2.0.0/16", None, blackhole=True),
        TgwRoute("narrow", "10.2.11.0/24", "att-b"),
    ]
    routes = transit.effective_routes(net, "t")
    # 10.2.0.0/16 is both static (blackhole) and propagated (att-b): the static one stays; among
    # routes of one prefix length, static ones come first.
    assert [(r.destination, r.id, r.propagated) for r in routes] == [
        ("10.2.11.0/24", "narrow", False),
        ("10.2.0.0/16", "hole", False),
        ("10.1.0.0/16", "att-a", True),
        ("0.0.0.0/0", "default", False),
    ]
    assert transit.lookup(net, "t", "10.2.11.5").id == "narrow"
    assert transit.lookup(net, "t", "10.2.12.5").blackhole
    assert transit.lookup(net, "t", "10.1.200.1").attachment == "att-a"
    assert transit.lookup(net, "t", "192.0.2.1").id == "default"
    net.tgw_routes["t"] = []
    assert transit.lookup(net, "t", "192.0.2.1") is None


def test_az_affinity_without_appliance_mode_and_a_hash_choice_with_it():
    att = _model().tgw_attachments["att-a"]
    net = _model()
    assert transit.exit_azs(net, att, "az1") == ["az1"]
    assert transit.exit_azs(net, att, "az0") == ["az0"]
    # No ENI in the entry AZ: AWS sends it through another of the attachment's AZs.
    only_b = net.tgw_attachments["att-b"]
    assert transit.exit_azs(net, only_b, "az1") == ["az0"]
    on = _model(appliance_mode=True)
    assert transit.exit_azs(on, on.tgw_attachments["att-a"], "az1") == ["az0", "az1"]


def test_a_subnet_reaches_the_tgw_only_through_an_eni_in_its_own_az():
    net = _model()
    attachment, eni = transit.entry(net, "a-app1", "tgw")
    assert (attachment.id, eni) == ("att-a", "a-eni1")
    # B has no attachment subnet in az1: resources there cannot reach the TGW.
    assert transit.entry(net, "b-app1", "tgw") is None
    assert transit.entry(net, "b-eni0", "tgw")[1] == "b-eni0"
    assert transit.entry(net, "a-app1", "another-tgw") is None

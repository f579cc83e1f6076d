"""The topology model: subnets per tier and AZ, disjoint CIDRs, and the inspection routes."""

import ipaddress

import pytest

from core import naming
from generator import topology
from generator.errors import CidrError, OptionsError
from generator.model import TargetKind, Tier
from generator.options import Options


@pytest.mark.parametrize("azs", [2, 3])
def test_four_tiers_per_az_inside_the_vpc_and_disjoint(azs):
    model = topology.build(Options(az_count=azs))
    assert len(model.subnets) == 4 * azs
    vpc = ipaddress.IPv4Network(model.vpcs[0].cidr)
    blocks = [ipaddress.IPv4Network(s.cidr) for s in model.subnets]
    assert all(b.subnet_of(vpc) for b in blocks)
    for i, a in enumerate(blocks):
        assert not any(a.overlaps(b) for b in blocks[i + 1 :])
    for tier in (Tier.PUBLIC, Tier.ENDPOINT, Tier.APPLIANCE, Tier.APPLICATION):
        assert [s.az for s in model.tier(tier)] == list(range(azs))
    assert model.tier(Tier.TRANSIT) == ()  # only tgw-centralized attaches a transit gateway


def test_default_plan_is_the_documented_one():
    model = topology.build(Options())
    got = {naming.subnet_id(s): s.cidr for s in model.subnets}
    assert got == {
        "PublicSubnet1": "10.0.0.0/24",
        "PublicSubnet2": "10.0.1.0/24",
        "EndpointSubnet1": "10.0.2.0/24",
        "EndpointSubnet2": "10.0.3.0/24",
        "ApplianceSubnet1": "10.0.4.0/24",
        "ApplianceSubnet2": "10.0.5.0/24",
        "ApplicationSubnet1": "10.0.6.0/24",
        "ApplicationSubnet2": "10.0.7.0/24",
    }


def test_explicit_subnet_is_kept_and_others_flow_around_it():
    model = topology.build(Options(subnet_cidrs={"PublicSubnet2": "10.0.0.0/24"}))
    got = {naming.subnet_id(s): s.cidr for s in model.subnets}
    assert got["PublicSubnet2"] == "10.0.0.0/24"
    assert got["PublicSubnet1"] == "10.0.1.0/24"


def _routes(model, tier, az):
    table = next(t for t in model.route_tables if t.subnet == model.subnet(tier, az))
    return {(r.destination, r.target.kind, r.target.az) for r in table.routes}


def test_routes_follow_the_symmetric_design_for_three_azs():
    model = topology.build(Options(az_count=3))
    app = [model.subnet(Tier.APPLICATION, az).cidr for az in range(3)]
    public = [model.subnet(Tier.PUBLIC, az).cidr for az in range(3)]
    gwlbe, nat, igw = TargetKind.GWLB_ENDPOINT, TargetKind.NAT_GATEWAY, TargetKind.INTERNET_GATEWAY
    for i in range(3):
        # public table i: internet via IGW, every application subnet via endpoint i
        assert _routes(model, Tier.PUBLIC, i) == {("0.0.0.0/0", igw, None)} | {
            (c, gwlbe, i) for c in app
        }
        # application table j: default via endpoint j, public subnet k via endpoint k
        assert _routes(model, Tier.APPLICATION, i) == {("0.0.0.0/0", gwlbe, i)} | {
            (public[k], gwlbe, k) for k in range(3)
        }
        assert _routes(model, Tier.ENDPOINT, i) == {("0.0.0.0/0", nat, i)}
        assert _routes(model, Tier.APPLIANCE, i) == {("0.0.0.0/0", nat, i)}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (dict(partitions=("aws-us",)), OptionsError, "unknown partition 'aws-us'"),
        (dict(az_count=1), OptionsError, "AZ count 1 is out of range"),
        (dict(az_count=4), OptionsError, "AZ count 4 is out of range"),
        (dict(architecture="hub"), OptionsError, "unknown architecture 'hub'"),
        (dict(appliances_per_az=0), OptionsError, "appliances per AZ"),
    ],
)
def test_bad_options_are_refused(options, error, message):
    with pytest.raises(error, match=message):
        topology.build(Options(**options))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(vpc_cidr="10.0.0.0/33"), "not a valid IPv4 CIDR"),
        (dict(vpc_cidr="10.0.0.0/26", subnet_prefix=28), "room for only 4"),
        (dict(subnet_cidrs={"NoSuchSubnet": "10.0.9.0/24"}), "unknown subnet 'NoSuchSubnet'"),
        (dict(subnet_cidrs={"PublicSubnet1": "10.1.0.0/24"}), "outside the VPC CIDR"),
        (
            dict(subnet_cidrs={"PublicSubnet1": "10.0.8.0/24", "PublicSubnet2": "10.0.8.0/25"}),
            "overlap: PublicSubnet1 and PublicSubnet2",
        ),
    ],
)
def test_bad_cidrs_are_refused(options, message):
    with pytest.raises(CidrError, match=message):
        topology.build(Options(**options))

"""Table-driven tests of the CIDR planning module, without building any template."""

import ipaddress

import pytest

from generator import cidr
from generator.errors import CidrError


@pytest.mark.parametrize(
    ("parent", "prefix", "count", "taken", "expected"),
    [
        ("10.0.0.0/16", 24, 3, [], ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]),
        ("10.0.0.0/16", 24, 2, ["10.0.0.0/24"], ["10.0.1.0/24", "10.0.2.0/24"]),
        ("10.0.0.0/16", 24, 2, ["10.0.0.0/23"], ["10.0.2.0/24", "10.0.3.0/24"]),
        ("192.168.0.0/24", 26, 4, [], [f"192.168.0.{n}/26" for n in (0, 64, 128, 192)]),
        ("172.16.0.0/20", 28, 1, ["172.16.0.0/28"], ["172.16.0.16/28"]),
    ],
)
def test_allocate_takes_the_first_free_blocks_in_order(parent, prefix, count, taken, expected):
    got = cidr.allocate(
        ipaddress.IPv4Network(parent), prefix, count, [ipaddress.IPv4Network(t) for t in taken]
    )
    assert [str(n) for n in got] == expected


@pytest.mark.parametrize(
    ("parent", "prefix", "count", "message"),
    [
        ("10.0.0.0/24", 26, 5, "room for only 4"),
        ("10.0.0.0/24", 23, 1, "between the VPC's /24"),
        ("10.0.0.0/24", 29, 1, "and /28"),
    ],
)
def test_allocate_refuses_what_does_not_fit(parent, prefix, count, message):
    with pytest.raises(CidrError, match=message):
        cidr.allocate(ipaddress.IPv4Network(parent), prefix, count)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.0", "needs a prefix length"),
        ("10.0.0.1/16", "not a valid IPv4 CIDR"),
        ("10.0.0.0/8", "AWS allows /16 to /28"),
        ("10.0.0.0/30", "AWS allows /16 to /28"),
        ("300.0.0.0/16", "not a valid IPv4 CIDR"),
        ("banana", "not a valid IPv4 CIDR"),
    ],
)
def test_parse_network_rejects_bad_blocks(text, message):
    with pytest.raises(CidrError, match=message):
        cidr.parse_network(text, "VPC CIDR")


def test_first_overlap_names_the_colliding_pair():
    named = [
        ("A", ipaddress.IPv4Network("10.0.0.0/24")),
        ("B", ipaddress.IPv4Network("10.0.1.0/24")),
        ("C", ipaddress.IPv4Network("10.0.1.128/25")),
    ]
    assert cidr.first_overlap(named) == ("B", "C")
    assert cidr.first_overlap(named[:2]) is None


def test_host_offsets_inside_the_block_only():
    assert cidr.host("10.0.3.0/24", 10) == "10.0.3.10"
    with pytest.raises(CidrError):
        cidr.host("10.0.3.0/28", 16)

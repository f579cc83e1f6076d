"""Geneve parser and builder, checked against scapy's independent Geneve layer."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance import geneve

STATUSES = set(geneve.REASONS) | {geneve.OK}


def ours(inner_bytes, proto, extra=(), endpoint=0x0123456789ABCDEF):
    opts = geneve.aws_options(endpoint, 0x1122334455667788, 0xCAFEF00D) + tuple(extra)
    return geneve.build(inner_bytes, proto, opts)


@pytest.mark.parametrize("kind", ["v4_tcp", "v4_udp", "v4_icmp", "v6_tcp", "v6_icmp"])
def test_builder_matches_scapy(pk, kind):
    inner = pk.inner_packets()[kind]
    proto = 0x86DD if kind.startswith("v6") else 0x0800
    unknown = pk.GeneveOptions(classid=0xFFFF, type=0x80, data=b"ABCDEFGHIJKL")
    assert ours(pk.raw(inner), proto, [(0xFFFF, 0x80, b"ABCDEFGHIJKL")]) == pk.geneve(
        inner, [unknown]
    )


def test_parse_scapy_packet_reports_aws_options_and_keeps_unknown(pk):
    inner = pk.inner_packets()["v6_udp"]
    unknown = pk.GeneveOptions(classid=0x0ABC, type=7, data=b"\x00" * 4)
    buf = pk.geneve(inner, [unknown], vni=0x123456)
    g = geneve.parse(buf)
    assert g.status == geneve.OK
    assert g.protocol == 0x86DD
    assert g.vni == 0x123456
    # 8 fixed + AWS options (12 + 12 + 8) + unknown (8)
    assert g.header_len == 48
    assert buf[g.header_len :] == pk.raw(inner)
    assert g.endpoint == pk.ENDPOINT.to_bytes(8, "big")
    assert g.attachment == pk.ATTACHMENT.to_bytes(8, "big")
    assert g.cookie == pk.COOKIE.to_bytes(4, "big")
    assert (0x0ABC, 7, b"\x00" * 4) in g.options


def test_truncation_at_every_offset(pk):
    buf = pk.geneve(pk.inner_packets()["v4_tcp"])
    hlen = 40
    for k in range(len(buf)):
        status = geneve.parse(buf[:k]).status
        if k < 8:
            assert status == geneve.TOO_SHORT, k
        elif k < hlen:
            assert status == geneve.OPTION_OVERRUN, k
        else:
            assert status == geneve.OK, k  # inner truncation is the inner parser's job


def test_wrong_version(pk):
    assert (
        geneve.parse(pk.geneve(pk.inner_packets()["v4_tcp"], version=1)).status
        == "geneve_bad_version"
    )


def test_bad_protocol(pk):
    buf = pk.geneve(pk.inner_packets()["v4_tcp"], proto=0x6558)
    assert geneve.parse(buf).status == "geneve_bad_protocol"


def test_option_length_overruns_option_area(pk):
    buf = bytearray(pk.geneve(pk.inner_packets()["v4_tcp"]))
    buf[8 + 24 + 3] = 5  # cookie option now claims 20 data bytes, past the 40-byte header
    assert geneve.parse(bytes(buf)).status == "geneve_option_overrun"


def test_missing_aws_option(pk):
    inner = pk.raw(pk.inner_packets()["v4_tcp"])
    opts = geneve.aws_options(1, 2, 3)[:2]
    assert geneve.parse(geneve.build(inner, 0x0800, opts)).status == "geneve_missing_aws_option"
    assert geneve.parse(geneve.build(inner, 0x0800)).status == "geneve_missing_aws_option"


def test_short_aws_option(pk):
    inner = pk.raw(pk.inner_packets()["v4_tcp"])
    opts = ((0x0108, 1, b"\x00" * 4),) + geneve.aws_options(1, 2, 3)[1:]
    assert geneve.parse(geneve.build(inner, 0x0800, opts)).status == "geneve_bad_aws_option"


def test_option_header_cut_by_optlen():
    # optlen says 4 bytes of options, but the option inside declares 4 more data bytes
    buf = struct.pack("!BBHI", 1, 0, 0x0800, 0) + struct.pack("!HBB", 0x0108, 3, 1) + b"\0" * 40
    assert geneve.parse(buf).status == "geneve_option_overrun"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_parser_never_raises_on_garbage(data):
    g = geneve.parse(data)
    assert g.status in STATUSES
    if g.status == geneve.OK:
        assert 8 <= g.header_len <= len(data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_parser_never_raises_on_mutated_packets(pk, data):
    buf = bytearray(pk.geneve(pk.inner_packets()["v6_tcp"]))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    g = geneve.parse(bytes(buf[:cut]))
    assert g.status in STATUSES

"""Geneve parsing, checked against scapy's independent Geneve layer; our test builder too."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.packet import REASONS, geneve
from lab.geneve import aws_options, build


def ours(inner_bytes, proto, extra=(), endpoint=0x0123456789ABCDEF):
    return build(inner_bytes, proto, aws_options(endpoint, 0x1122334455667788, 0xCAFEF00D) + extra)


def valid(result, data):
    if isinstance(result, str):
        return result in REASONS
    return 8 <= result.length <= len(data) and result.version in (4, 6)


def fields(g):
    return g.length, g.version, g.endpoint, g.attachment, g.cookie


@pytest.mark.parametrize("kind", ["v4_tcp", "v4_udp", "v4_icmp", "v6_tcp", "v6_icmp"])
def test_builder_matches_scapy(pk, kind):
    inner = pk.inner_packets()[kind]
    proto = 0x86DD if kind.startswith("v6") else 0x0800
    unknown = pk.GeneveOptions(classid=0xFFFF, type=0x80, data=b"ABCDEFGHIJKL")
    assert ours(pk.raw(inner), proto, ((0xFFFF, 0x80, b"ABCDEFGHIJKL"),)) == pk.geneve(
        inner, [unknown]
    )


def test_parse_scapy_packet_reports_aws_options_and_skips_unknown(pk):
    inner = pk.inner_packets()["v6_udp"]
    unknown = pk.GeneveOptions(classid=0x0ABC, type=7, data=b"\x00" * 4)
    other = pk.GeneveOptions(classid=0x0108, type=0x41, data=b"\x00" * 8)  # not an AWS type
    buf = pk.geneve(inner, [unknown, other], vni=0x123456)
    # 8 fixed + AWS options (12 + 12 + 8) + unknown (8 + 12)
    assert fields(geneve(buf)) == (
        60,
        6,
        pk.ENDPOINT.to_bytes(8, "big"),
        pk.ATTACHMENT.to_bytes(8, "big"),
        pk.COOKIE.to_bytes(4, "big"),
    )
    assert buf[60:] == pk.raw(inner)
    assert fields(geneve(memoryview(buf))) == fields(geneve(buf))


@pytest.mark.parametrize("classid, kind", [(0x0108, 0x81), (0x0ABC, 0x80), (0xFFFF, 0xFF)])
def test_unknown_critical_option_is_refused(pk, classid, kind):
    crit = pk.GeneveOptions(classid=classid, type=kind, data=b"\x00" * 4)
    buf = pk.geneve(pk.inner_packets()["v4_tcp"], [crit], critical=1)
    assert geneve(buf) == "geneve_critical_option"


def test_control_packet_is_refused(pk):
    buf = pk.geneve(pk.inner_packets()["v4_tcp"], oam=1)
    assert buf[1] & 0x80
    assert geneve(buf) == "geneve_control"


def test_truncation_at_every_offset(pk):
    buf = pk.geneve(pk.inner_packets()["v4_tcp"])
    for k in range(len(buf)):
        result = geneve(buf[:k])
        if k < 8:
            assert result == "geneve_too_short", k
        elif k < 40:
            assert result == "geneve_option_overrun", k
        else:
            assert result.length == 40, k  # inner truncation is the inner parser's job


def test_wrong_version(pk):
    assert geneve(pk.geneve(pk.inner_packets()["v4_tcp"], version=1)) == "geneve_bad_version"


def test_bad_protocol(pk):
    assert geneve(pk.geneve(pk.inner_packets()["v4_tcp"], proto=0x6558)) == "geneve_bad_protocol"


def test_option_length_overruns_option_area(pk):
    buf = bytearray(pk.geneve(pk.inner_packets()["v4_tcp"]))
    buf[8 + 24 + 3] = 5  # cookie option now claims 20 data bytes, past the 40-byte header
    assert geneve(bytes(buf)) == "geneve_option_overrun"


def test_missing_aws_option(pk):
    inner = pk.raw(pk.inner_packets()["v4_tcp"])
    assert geneve(build(inner, 0x0800, aws_options(1, 2, 3)[:2])) == "geneve_missing_aws_option"
    assert geneve(build(inner, 0x0800)) == "geneve_missing_aws_option"


def test_short_aws_option(pk):
    inner = pk.raw(pk.inner_packets()["v4_tcp"])
    opts = ((0x0108, 1, b"\x00" * 4),) + aws_options(1, 2, 3)[1:]
    assert geneve(build(inner, 0x0800, opts)) == "geneve_bad_aws_option"


def test_option_header_cut_by_optlen():
    # optlen says 4 bytes of options, but the option inside declares 4 more data bytes
    buf = struct.pack("!BBHI", 1, 0, 0x0800, 0) + struct.pack("!HBB", 0x0108, 3, 1) + b"\0" * 40
    assert geneve(buf) == "geneve_option_overrun"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_parser_never_raises_on_garbage(data):
    assert valid(geneve(data), data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_parser_never_raises_on_mutated_packets(pk, data):
    buf = bytearray(pk.geneve(pk.inner_packets()["v6_tcp"]))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = bytes(buf[: data.draw(st.integers(0, len(buf)))])
    assert valid(geneve(cut), cut)

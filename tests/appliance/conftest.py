"""Packet builders for the appliance tests, made with scapy (independent of our builder)."""

import importlib
import os
import sys
import types

import pytest
from scapy.all import ICMP, IP, TCP, UDP, IPOption_NOP, IPOption_Router_Alert, raw
from scapy.contrib.geneve import GENEVE, GeneveOptions
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop

# The Python 3.9 runner (run_py39.py) points this at the unpacked bundle that ships in
# UserData: the tests then import that, not the checkout.
BUNDLE = os.environ.get("GWLB_APPLIANCE_PATH")
if BUNDLE:
    sys.path.insert(0, BUNDLE)
    _shipped = importlib.import_module("appliance").__file__
    assert _shipped.startswith(BUNDLE), f"appliance imported from {_shipped}, not the bundle"

ENDPOINT, ATTACHMENT, COOKIE = 0x0123456789ABCDEF, 0x1122334455667788, 0xCAFEF00D


def inner_packets() -> dict:
    """Inner packets of every kind the appliance must return; addresses are test-only ranges."""
    return {
        "v4_tcp": IP(src="10.1.0.5", dst="198.18.0.9") / TCP(sport=40000, dport=443, flags="S"),
        "v4_udp": IP(src="10.1.0.5", dst="198.18.0.9") / UDP(sport=5353, dport=53) / (b"q" * 33),
        "v4_icmp": IP(src="10.1.0.5", dst="198.18.0.9") / ICMP(type=8, code=0) / b"ping",
        "v4_opts_tcp": IP(
            src="10.1.0.5", dst="198.18.0.9", options=[IPOption_Router_Alert(), IPOption_NOP()]
        )
        / TCP(sport=40001, dport=8443),
        "v6_tcp": IPv6(src="fd00::5", dst="2001:db8::9") / TCP(sport=40002, dport=443),
        "v6_udp": IPv6(src="fd00::5", dst="2001:db8::9") / UDP(sport=5354, dport=53) / (b"x" * 7),
        "v6_icmp": IPv6(src="fd00::5", dst="2001:db8::9") / ICMPv6EchoRequest(id=7, seq=1),
        "v6_ext_tcp": IPv6(src="fd00::5", dst="2001:db8::9")
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrDestOpt()
        / TCP(sport=40003, dport=22),
    }


def scapy_geneve(inner, extra=(), endpoint=ENDPOINT, attachment=ATTACHMENT, cookie=COOKIE, **kw):
    """Geneve bytes built by scapy, with the three AWS options plus any extra GeneveOptions."""
    opts = [
        GeneveOptions(classid=0x0108, type=1, data=endpoint.to_bytes(8, "big")),
        GeneveOptions(classid=0x0108, type=2, data=attachment.to_bytes(8, "big")),
        GeneveOptions(classid=0x0108, type=3, data=cookie.to_bytes(4, "big")),
        *extra,
    ]
    proto = 0x86DD if isinstance(inner, IPv6) else 0x0800
    return raw(
        GENEVE(proto=kw.pop("proto", proto), vni=kw.pop("vni", 0), options=opts, **kw) / inner
    )


@pytest.fixture(scope="session")
def pk():
    """Helpers as one object, so test modules need no import of this conftest."""
    return types.SimpleNamespace(
        inner_packets=inner_packets,
        geneve=scapy_geneve,
        raw=raw,
        ENDPOINT=ENDPOINT,
        ATTACHMENT=ATTACHMENT,
        COOKIE=COOKIE,
        GeneveOptions=GeneveOptions,
    )

"""Addresses and blocks parsed once: tracing every flow of a large set meets the same few thousand
strings millions of times, and parsing them dominated the route-path verifier's time."""

from __future__ import annotations

import functools
import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.cache
def network(block: str) -> Network:
    """ipaddress.ip_network(block), strict as it is, cached."""
    return ipaddress.ip_network(block)


@functools.cache
def address(text: str) -> Address:
    """ipaddress.ip_address(text), cached."""
    return ipaddress.ip_address(text)

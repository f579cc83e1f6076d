"""What of a set model the lab can emulate: routes to internet gateways, NAT gateways (IPv4),
egress-only gateways (IPv6), GWLB endpoints and transit gateways of the set (VPC attachments,
lab/transit.py), endpoints whose service is in the set, GWLBs with a forwarding listener.
Anything else is one error line naming the resource, before a namespace is made. User data
given as base64 (a byo set's ApplianceUserData parameter) is decoded as EC2 does for the
instance."""

from __future__ import annotations

import base64
import binascii
import gzip
from dataclasses import replace

from verify.errors import SetError
from verify.model import SetModel
from verify.read_hosts import SIGNAL_WORDS

EMULATED_TARGETS = ("igw", "nat", "gwlbe", "tgw")
# IPv6 (lab.addresses6): no NAT; an egress-only gateway lets replies in, past any edge table.
EMULATED_TARGETS6 = ("igw", "gwlbe", "eigw")


def emulated(model: SetModel) -> SetModel:
    """The model the lab builds, every part checked."""
    routes = {}
    for table, table_routes in model.routes.items():
        kept = []
        for route in table_routes:
            allowed = EMULATED_TARGETS if route.version == 4 else EMULATED_TARGETS6
            if route.kind not in allowed:
                raise SetError(
                    f"{model.label(route.id)}: the lab does not emulate route target {route.kind}"
                )
            if route.kind == "tgw" and route.target not in model.transit_gateways:
                raise SetError(
                    f"{model.label(route.id)}: transit gateway {route.target!r} is not in this set"
                )
            kept.append(route)
        routes[table] = kept
    for endpoint in model.endpoints.values():
        if endpoint.gwlb is None:
            raise SetError(
                f"{endpoint.label}: endpoint service {endpoint.service_name!r} is not in this set"
            )
    for gwlb in model.gwlbs.values():
        if gwlb.target_group is None:
            raise SetError(f"{gwlb.name} has no forwarding listener")
    hosts = {}
    for ident, host in model.hosts.items():
        text = as_delivered(host.user_data)
        signals = host.signals or any(word in text for word in SIGNAL_WORDS)
        hosts[ident] = replace(host, user_data=text, signals=signals)
    return replace(model, routes=routes, hosts=hosts)


def as_delivered(user_data: str) -> str:
    """The text an instance's cloud-init reads. The model holds Fn::Base64's argument as text,
    but a parameter passed through (Ref ApplianceUserData) is base64 already: EC2 decodes it,
    and cloud-init unpacks gzip. Text that is not strict base64 (a '#cloud-config' header is
    not) comes back unchanged."""
    compact = "".join(user_data.split())
    if not compact or user_data.lstrip().startswith("#"):
        return user_data
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return user_data
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return user_data
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return user_data

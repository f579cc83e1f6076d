"""What of a set model the lab can emulate: IPv4 routes to internet gateways, NAT gateways and
GWLB endpoints, endpoints whose service is in the set, GWLBs with a forwarding listener. Anything
else is one error line naming the resource, before a namespace is made."""

from __future__ import annotations

from dataclasses import replace

from verify.errors import SetError
from verify.model import SetModel

EMULATED_TARGETS = ("igw", "nat", "gwlbe")


def emulated(model: SetModel) -> SetModel:
    """The model the lab builds: IPv4 routes only (the lab carries IPv4), every part checked."""
    routes = {}
    for table, table_routes in model.routes.items():
        kept = []
        for route in table_routes:
            if route.version != 4:
                continue
            if route.kind not in EMULATED_TARGETS:
                raise SetError(
                    f"{model.label(route.id)}: the lab does not emulate route target {route.kind}"
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
    return replace(model, routes=routes)

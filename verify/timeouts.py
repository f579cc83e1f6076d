"""One TCP idle timeout in two places: the GWLB listener's tcp.idle_timeout.seconds and our
appliances' --tcp-idle. If they differ, a flow dies in one place and lives on in the other
(a brought image's own configuration cannot be read, so only ours is checked)."""

from __future__ import annotations

import re

from verify.model import SetModel

LISTENER_ATTRIBUTE = "tcp.idle_timeout.seconds"
GWLB_DEFAULT_TCP_IDLE = "350"  # the GWLB's documented default when the attribute is not set
OUR_APPLIANCE = re.compile(r"-m appliance\b(?P<args>[^\n]*)")
TCP_IDLE_ARG = re.compile(r"--tcp-idle[ =](?P<value>\S+)")


def appliance_tcp_idle(user_data: str) -> str | None:
    """The --tcp-idle our appliance's unit starts it with; None for another appliance."""
    start = OUR_APPLIANCE.search(user_data)
    if start is None:
        return None
    given = TCP_IDLE_ARG.search(start["args"])
    return given["value"] if given else "unset"


def problems(net: SetModel) -> list[str]:
    found = []
    for gwlb in net.gwlbs.values():
        listener = gwlb.listener_attributes.get(LISTENER_ATTRIBUTE, GWLB_DEFAULT_TCP_IDLE)
        groups = {g.id for g in net.groups.values() if gwlb.target_group in g.target_groups}
        for host in net.hosts.values():
            if host.group not in groups:
                continue
            ours = appliance_tcp_idle(host.user_data)
            if ours is not None and _seconds(ours) != _seconds(listener):
                found.append(
                    f"{host.name}: the appliance's --tcp-idle is {ours} but {gwlb.name}'s "
                    f"listener keeps idle TCP flows {listener} s"
                )
    return sorted(set(found))


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None

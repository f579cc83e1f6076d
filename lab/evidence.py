"""What the appliances themselves say about the flows: their flow logs and /metrics."""

from __future__ import annotations

from lab import metrics_text, probes
from lab.gwlb import FlowRecord
from lab.session import Session


def flow_log(session: Session, host_id: str) -> list[dict[str, str]]:
    """The key=value fields of every line of the flow log the host's unit writes."""
    entries = []
    for service in session.hosts.of(host_id):
        argv = list(service.unit.exec_start)
        if "--flow-log" not in argv:
            continue
        path = service.root.path(argv[argv.index("--flow-log") + 1])
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            entries.append(dict(p.split("=", 1) for p in line.split() if "=" in p))
    return entries


def logged(record: FlowRecord, entries: list[dict[str, str]]) -> bool:
    """Whether a flow the emulator carried is in the log, whichever end the appliance saw first
    (ICMP by addresses only: the appliance logs its type and code as ports)."""
    names = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}
    proto = names.get(record.key.proto, str(record.key.proto))
    ends = {record.key.lower, record.key.upper}
    for entry in entries:
        if entry.get("proto") != proto:
            continue
        if proto in ("icmp", "icmpv6"):
            if {entry.get("src"), entry.get("dst")} == {record.key.lower[0], record.key.upper[0]}:
                return True
        elif {
            (entry.get("src"), int(entry.get("sport", -1))),
            (entry.get("dst"), int(entry.get("dport", -1))),
        } == ends:
            return True
    return False


def metrics(session: Session, host_id: str) -> dict[str, float]:
    """The appliance's /metrics (Prometheus text) from its GWLB node, on the health check port."""
    target = session.emulator.targets[host_id]
    model = session.model
    group = model.target_groups[next(iter(model.gwlbs.values())).target_group]
    answer = probes.http_get(
        target.probe_ns, target.address, group.health.port, "/metrics", timeout=2.0
    )
    return metrics_text.parse(answer.body)

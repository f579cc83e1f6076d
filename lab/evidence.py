"""What the appliances themselves say about the flows: their flow logs and /metrics."""

from __future__ import annotations

from lab import metrics_text, probes
from lab.gwlb import FlowRecord
from lab.session import Session


def flow_log(session: Session, host_id: str) -> list[dict[str, str]]:
    """The key=value fields of every line of the flow log the host's unit writes."""
    entries = []
    for svc in session.hosts.of(host_id):
        argv = list(svc.unit.exec_start)
        if "--flow-log" not in argv:
            continue
        path = svc.root.path(argv[argv.index("--flow-log") + 1])
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            entries.append(dict(p.split("=", 1) for p in line.split() if "=" in p))
    return entries


def logged(rec: FlowRecord, entries: list[dict[str, str]]) -> bool:
    """Whether a flow the emulator carried is in the log, whichever end the appliance saw first
    (ICMP by addresses only: the appliance logs its type and code as ports)."""
    proto = {6: "tcp", 17: "udp", 1: "icmp"}.get(rec.key.proto, str(rec.key.proto))
    ends = {rec.key.a, rec.key.b}
    for e in entries:
        if e.get("proto") != proto:
            continue
        if proto == "icmp":
            if {e.get("src"), e.get("dst")} == {rec.key.a[0], rec.key.b[0]}:
                return True
        elif {
            (e.get("src"), int(e.get("sport", -1))),
            (e.get("dst"), int(e.get("dport", -1))),
        } == ends:
            return True
    return False


def metrics(session: Session, host_id: str) -> dict[str, float]:
    """The appliance's /metrics (Prometheus text) from its GWLB node, on the health check port."""
    em = session.emulator
    target = em.targets[host_id]
    tg = session.spec.target_groups[next(iter(session.spec.gwlbs.values())).target_group]
    r = probes.http_get(target.probe_ns, target.address, tg.health.port, "/metrics", timeout=2.0)
    return metrics_text.parse(r.body)

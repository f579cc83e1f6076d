"""Step 6 of the plan: a rolling update of the appliance fleet under long-lived flows. As Auto
Scaling's AutoScalingRollingUpdate does with MaxBatchSize 1 and MinInstancesInService at the
group's size, each appliance in turn gets a replacement running a changed build, which must turn
healthy before the old one is deregistered, drained for the target group's deregistration delay
and terminated. Meanwhile each served host keeps a TCP connection, a UDP flow and an ICMP echo
flow to the internet; with target_failover rebalance they move to the new appliances, and no TCP
flow may break. Each flow's loss is measured and stated."""

from __future__ import annotations

import time

from lab import launch, registration
from lab.addresses import DRILL_SERVER_IP
from lab.hosts import wait_for
from lab.nsutil import ip_batch, nft
from lab.plan import Plan
from lab.rows import Row
from lab.streams import EchoServers, IcmpStream, Outcome, Stream, TcpStream, UdpStream

STEP = "6 rolling update"
DRILL_PORT = 443  # TCP 443 is open out of the web servers' groups (their readiness signal)
WARM_UP = 1.0  # seconds of flowing traffic before the first replacement, and after the last
GRACE = 8.0  # seconds for the last answers: TCP's retransmissions back off to about this much
PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp"}


def drill(plan: Plan) -> None:
    """Replace every appliance one at a time while the served hosts' flows keep running."""
    session = plan.session
    old_fleet = list(plan.roles.appliances)
    if not old_fleet or not plan.model.gwlbs or not plan.roles.served:
        return
    ip_batch(session.lab.server, [f"addr add {DRILL_SERVER_IP}/24 dev eth0"])
    servers = EchoServers(session.lab.server, DRILL_SERVER_IP, DRILL_PORT)
    streams: list[tuple[str, Stream, str]] = []  # (host name, stream, note)
    try:
        for host in sorted(plan.roles.served, key=lambda h: h.name):
            node, ns = plan.node(host.id), plan.namespace(host.id)
            for kind in (TcpStream, UdpStream, IcmpStream):
                note = _let_out(plan, host.id, ns, node.ip, host.subnet, kind.proto)
                streams.append((host.name, kind(ns, node.ip, DRILL_SERVER_IP, DRILL_PORT), note))
        for _, stream, _ in streams:
            stream.start()
        time.sleep(WARM_UP)
        for old in old_fleet:
            if not _replace(plan, old):
                break
        time.sleep(WARM_UP)  # a moved flow moves at its next packet after the delay
        for _, stream, _ in streams:
            stream.stop_sending()
        deadline = time.monotonic() + GRACE
        outcomes = [
            (name, stream.finish(max(0.0, deadline - time.monotonic())), note)
            for name, stream, note in streams
        ]
    finally:
        for _, stream, _ in streams:
            stream.stop_sending()
        servers.close()
    for (name, outcome, note), (_, stream, _) in zip(outcomes, streams, strict=True):
        plan.add(_flow_row(name, outcome, _path(plan, stream), note))
    _summary(plan, [(name, outcome) for name, outcome, _ in outcomes])


def _let_out(plan: Plan, host_id: str, ns: str, src: str, subnet: str, proto: int) -> str:
    """A drill flow the host's own security group refuses is let out by one extra rule (the
    drill is about the fleet, not the group): named in the row."""
    port = 8 if proto == 1 else DRILL_PORT
    refused = plan.filters.verdict(host_id, src, subnet, None, DRILL_SERVER_IP, proto, port)
    if not refused or not plan.session.security_groups:
        return ""
    match = "icmp type echo-request" if proto == 1 else f"{PROTO_NAMES[proto]} dport {port}"
    nft(
        ns,
        f"insert rule ip security_groups output_filter ip daddr {DRILL_SERVER_IP} {match} accept\n",
    )
    return f"let out for the drill ({refused})"


def _path(plan: Plan, stream: Stream) -> str:
    """The appliances the flow's outbound packets went to, in order, with their counts."""
    dst = (stream.dst, stream.port if stream.proto != 1 else 0)
    record = plan.emulator.record(stream.proto, stream.local, dst)
    if record is None:
        return "none"
    counts: dict[str, int] = {}
    for (_, target), packets in record.sent["out"].items():
        counts[target] = counts.get(target, 0) + packets
    return " -> ".join(f"{plan.emulator.label(t)} ({n})" for t, n in counts.items())


def _replace(plan: Plan, old) -> bool:
    """One batch: launch, wait healthy, deregister, drain, terminate. False when the new one
    never turned healthy (the update would roll back; the old one stays)."""
    session, emulator = plan.session, plan.emulator
    group = plan.model.target_groups[next(iter(plan.model.gwlbs.values())).target_group]
    check, scale = group.health, plan.time_scale
    policy, change = launch.changed_policy(session, old.id)
    began = time.monotonic()
    new, address = launch.launch(session, old, policy)
    limit = check.healthy * check.interval * scale + 10.0  # plus the appliance's start-up
    healthy = wait_for(lambda: emulator.targets[new.id].health.healthy, limit)
    took = time.monotonic() - began
    if not healthy:
        state = emulator.targets[new.id].health.state
        detail = f"{new.name} ({address}) still {state} after {took:.1f} s"
        plan.add(Row(STEP, f"replace {old.name}", False, appliance=new.name, detail=detail))
        return False
    delay = registration.deregister(emulator, old.id)
    time.sleep(delay)
    plan.stop_services(old.id)  # Auto Scaling terminates it once the delay is over
    mode = group.attributes.get("target_failover.on_deregistration", "no_rebalance")
    plan.add(
        Row(
            STEP,
            f"replace {old.name} by {new.name} ({change})",
            True,
            appliance=f"{old.name} -> {new.name}",
            detail=f"{new.name} ({address}) healthy in {took:.1f} s; {old.name} deregistered, "
            f"drained {delay:g} s (deregistration_delay {delay / scale:g} s x{scale:g}, "
            f"on_deregistration={mode}), then terminated",
        )
    )
    return True


def _flow_row(name: str, outcome: Outcome, moved: str, note: str) -> Row:
    what = f"{name} -> internet server ({outcome.kind}"
    what += f" :{outcome.dst[1]})" if outcome.proto != 1 else ")"
    if outcome.kind == "TCP":
        detail = (
            f"{outcome.sent} messages over one connection, {outcome.lost} segments retransmitted"
        )
    else:
        share = 100.0 * outcome.lost / outcome.sent if outcome.sent else 0.0
        detail = f"{outcome.sent} sent, {outcome.lost} lost ({share:.1f} %)"
    if outcome.broke:
        detail += f"; BROKE: {outcome.broke}"
    if note:
        detail += f"; {note}"
    return Row(STEP, f"{what} through the roll", not outcome.broke, appliance=moved, detail=detail)


def _summary(plan: Plan, outcomes: list[tuple[str, Outcome]]) -> None:
    """The closing row: no TCP flow broke, and the loss of every flow."""
    broken = [f"{name} {o.kind}" for name, o in outcomes if o.kind == "TCP" and o.broke]
    losses = ", ".join(
        f"{name} {o.kind} {o.lost}{' retransmitted' if o.kind == 'TCP' else f'/{o.sent} lost'}"
        for name, o in outcomes
    )
    verdict = f"TCP flows broke: {', '.join(broken)}" if broken else "no TCP flow broke"
    plan.add(
        Row(STEP, f"fleet rolled under {len(outcomes)} flows: {verdict}", not broken, detail=losses)
    )

"""Judging a probe: was it answered (or not, as expected), did one GWLB endpoint and one appliance
carry it both ways, or did a security group or network ACL stop it as AWS would."""

from __future__ import annotations

from lab import probes
from lab.flows import FlowRecord
from lab.gwlb import Emulator
from lab.rows import Row

# What a row demands of the GWLB: "required" (the set's design inspects it), "none" (it must not
# cross an endpoint: an appliance's own traffic), "any" (as the route tables decide).
INSPECTION = ("required", "none", "any")


def _names(pairs: set[tuple[str, str]], emulator: Emulator, index: int) -> str:
    return ", ".join(sorted({emulator.label(pair[index]) for pair in pairs})) or "none"


def judge(
    emulator: Emulator,
    step: str,
    flow: str,
    result: probes.Result,
    hops: str,
    expect_reply: bool = True,
    blocked: str = "",
    inspection: str = "required",
    optional: bool = True,
) -> Row:
    """A probe's row. `blocked` names the security group or ACL rule that stops the probe; an
    optional probe so stopped is BLOCKED (it must then go unanswered), a needed one FAILs."""
    if blocked:
        if result.ok:
            return Row(step, flow, False, hops, detail=f"answered although {blocked}")
        if not optional:
            return Row(step, flow, False, hops, detail=f"blocked: {blocked}")
        return Row(step, flow, True, hops, detail=blocked, blocked=True)
    record: FlowRecord | None = None
    if result.src[0]:
        record = emulator.record(result.proto, result.src, result.dst)
    if record is None:
        if not expect_reply and not result.ok:
            return Row(step, flow, True, hops, detail=result.detail)
        if inspection != "required" and result.ok:
            return Row(step, flow, True, hops, detail=f"{result.detail}; no GWLB endpoint on it")
        return Row(step, flow, False, hops, detail=f"{result.detail}; no GWLB endpoint saw it")
    # The probe's own direction: an ICMP flow is keyed by its addresses, so a probe the other
    # way between the same hosts is the same flow, first seen from the other end.
    way, other = ("out", "back") if record.first == tuple(result.src) else ("back", "out")
    sent_out, sent_back = set(record.sent[way]), set(record.sent[other])
    out, back = record.crossings(way), record.crossings(other)
    appliance = _names(out | back or sent_out, emulator, 1)
    seen_out, seen_back = (
        _names(out or sent_out, emulator, 1),
        _names(back or sent_back, emulator, 1),
    )
    if sent_back and seen_out != seen_back:  # which appliance saw which direction
        appliance = f"{seen_out} out, {seen_back} back"
    row = Row(
        step,
        flow,
        False,
        hops,
        _names(out or sent_out, emulator, 0),
        _names(back or sent_back, emulator, 0),
        appliance,
        result.detail,
    )
    if record.fail_open:
        row.detail += "; GWLB failed open: no healthy target, sent to an unhealthy one"
    if sent_out and not out:
        row.detail += "; the appliance returned nothing"
    if inspection == "none":
        row.detail += "; an appliance's own traffic must not cross a GWLB endpoint"
        return row
    if result.ok != expect_reply:
        if expect_reply and sent_back and sent_back != out:
            row.detail += "; the reply went to another endpoint or appliance than the request"
        return row
    if not expect_reply:
        row.ok = True
        return row
    if not record.symmetric:
        row.detail += "; NOT inspected by one endpoint and appliance both ways"
        return row
    row.ok = True
    return row


def need_one(rows: list[Row], key, step: str) -> list[Row]:
    """Where security groups or ACLs stop every probe of a pair, that pair has no way through."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return [
        Row(step, f"{name}: any probe", False, detail="security groups and network ACLs allow none")
        for name, members in groups.items()
        if all(member.blocked for member in members)
    ]

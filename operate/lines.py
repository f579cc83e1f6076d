"""Pure text of what operate shows: event lines and records, the tree, failures, changes,
outputs and tables; times in the viewer's zone with their offset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any

from operate.events import Event, StackNode, phase_elapsed, walk
from operate.failures import Failure

# Longest common status, so plain lines line up in a log.
_STATUS_WIDTH = len("UPDATE_ROLLBACK_COMPLETE_CLEANUP")


@dataclass(frozen=True)
class Change:
    """One row of a change set."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Change:
        change = raw.get("ResourceChange") or {}
        return cls(
            action=change.get("Action", ""),
            logical_id=change.get("LogicalResourceId", ""),
            resource_type=change.get("ResourceType", ""),
            replacement=str(change.get("Replacement") or ""),
        )


@dataclass(frozen=True)
class Row:
    """One line of a result table (smoke checks)."""

    check: str
    target: str
    passed: bool
    detail: str


def duration(seconds: float | None) -> str:
    """Compact elapsed time: 9s, 1m05s, 1h02m."""
    if seconds is None:
        return ""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def clock_time(moment: datetime, zone: tzinfo | None = None) -> str:
    """Time of day with its UTC offset, e.g. 14:03:07+08:00, in `zone` (None: this machine's),
    so an event time is never a bare UTC time read as local."""
    return moment.astimezone(zone).isoformat(timespec="seconds")[11:]


def style_of(status: str) -> str:
    if status.endswith("_FAILED"):
        return "bold red"
    if "ROLLBACK" in status:
        return "yellow" if status.endswith("_IN_PROGRESS") else "red"
    if status == "DELETE_COMPLETE" or status == "DELETE_SKIPPED":
        return "dim"
    if status.endswith("_COMPLETE"):
        return "green"
    if status.endswith("_IN_PROGRESS"):
        return "cyan"
    return ""


def stack_paths(tree: StackNode) -> dict[str, tuple[str, ...]]:
    """Path of logical ids from the root to each stack, by stack id and by stack name."""
    paths: dict[str, tuple[str, ...]] = {}
    for path, stack in walk(tree):
        paths[stack.stack_id] = path
        paths.setdefault(stack.name, path)
    return paths


def event_path(event: Event, paths: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    base = paths.get(event.stack_id) or paths.get(event.stack_name) or (event.stack_name,)
    return base if event.is_stack_itself else (*base, event.logical_id)


def event_line(
    event: Event,
    history: Sequence[Event],
    paths: dict[str, tuple[str, ...]],
    zone: tzinfo | None = None,
) -> str:
    """One plain log line: local time, status, where, type, elapsed, reason."""
    where = "/".join(event_path(event, paths))
    parts = [
        clock_time(event.timestamp, zone),
        f"{event.status:<{_STATUS_WIDTH}}",
        where,
        f"[{event.resource_type}]",
    ]
    elapsed = duration(phase_elapsed(history, event))
    if elapsed:
        parts.append(elapsed)
    if event.reason:
        parts.append(f"- {event.reason}")
    return " ".join(parts)


def event_record(event: Event, history: Sequence[Event], paths: dict[str, tuple[str, ...]]) -> dict:
    return {
        "kind": "event",
        "timestamp": event.timestamp.isoformat(),
        "stack": event.stack_name,
        "stack_id": event.stack_id,
        "path": list(event_path(event, paths)),
        "logical_id": event.logical_id,
        "physical_id": event.physical_id,
        "resource_type": event.resource_type,
        "status": event.status,
        "reason": event.reason,
        "elapsed_seconds": phase_elapsed(history, event),
    }


def _settled(stack: StackNode) -> bool:
    """Every resource of the stack and below finished, and none of them ever failed."""
    for _, inner in walk(stack):
        for resource in inner.resources.values():
            if resource.failure or not resource.status.endswith("_COMPLETE"):
                return False
    return bool(stack.resources)


def render_tree(tree: StackNode, now: datetime, expand_settled: bool = False) -> Any:
    """A rich Tree: each stack and resource with status and elapsed time; nested stacks that
    finished cleanly fold into one line so a large set still fits a terminal."""
    from rich.text import Text
    from rich.tree import Tree

    def label(name: str, kind: str, status: str, seconds: float | None, note: str = "") -> Text:
        text = Text()
        text.append(name, style="bold")
        if kind:
            text.append(f"  {kind}", style="dim")
        text.append(f"  {status or 'waiting'}", style=style_of(status))
        if seconds is not None:
            text.append(f"  {duration(seconds)}")
        if note:
            text.append(f"  {note}", style="red" if note.startswith("failed") else "dim")
        return text

    def add(branch: Any, stack: StackNode) -> None:
        for resource in stack.resources.values():  # in the order they first appeared
            child = resource.stack
            note = f"failed: {resource.failure}" if resource.failure else ""
            folded = child is not None and not expand_settled and _settled(child)
            if child is not None and folded:
                count = len(child.resources)
                note = f"{count} resource{'s' if count != 1 else ''}, all settled"
            if child is not None and child.deleted:
                note = (note + "; " if note else "") + "nested stack deleted"
            node = branch.add(
                label(
                    resource.logical_id,
                    resource.resource_type,
                    resource.status,
                    resource.elapsed(now),
                    note,
                )
            )
            if child is not None and not folded:
                add(node, child)

    note = "" if tree.reason == "User Initiated" else tree.reason
    root = Tree(label(tree.name, "", tree.status, tree.elapsed(now), note))
    add(root, tree)
    return root


def failure_lines(found: Sequence[Failure], zone: tzinfo | None = None) -> list[str]:
    """The root cause first, then every other real failure, each with where and why."""
    if not found:
        return []
    first, rest = found[0], found[1:]
    lines = ["Root cause: " + " > ".join(first.path) + f" ({first.resource_type})"]
    when = f"  {first.status} at {clock_time(first.timestamp, zone)}"
    if first.elapsed_seconds is not None:
        when += f", {duration(first.elapsed_seconds)} after it started"
    if len(first.path) > 2:
        when += f", in nested stack {first.stack_name}"
        if first.stack_deleted:
            when += " (since deleted; its events stay readable by stack id)"
    lines += [when, f"  {first.reason or '(no reason given)'}"]
    if rest:
        lines.append(f"Other failures ({len(rest)}):")
        for failure in rest:
            lines.append(
                f"  {' > '.join(failure.path)} ({failure.resource_type}) {failure.status}: "
                f"{failure.reason or '(no reason given)'}"
            )
    return lines


def failure_record(failure: Failure) -> dict:
    record = asdict(failure)
    record["path"] = list(failure.path)
    record["timestamp"] = failure.timestamp.isoformat()
    return record


def change_lines(changes: Sequence[Change]) -> list[str]:
    if not changes:
        return ["No changes."]
    width = max(len(c.logical_id) for c in changes)
    lines = [f"Changes ({len(changes)}):"]
    for change in changes:
        replace = f"  replacement: {change.replacement}" if change.replacement else ""
        lines.append(
            f"  {change.action:<7} {change.logical_id:<{width}}  {change.resource_type}{replace}"
        )
    return lines


def output_lines(outputs: dict[str, str]) -> list[str]:
    if not outputs:
        return ["Outputs: none"]
    width = max(len(k) for k in outputs)
    return ["Outputs:", *(f"  {k:<{width}}  {v}" for k, v in sorted(outputs.items()))]


def table_lines(rows: Sequence[Row]) -> list[str]:
    """Plain PASS/FAIL table."""
    if not rows:
        return ["(no checks)"]
    check_width = max(len(row.check) for row in rows)
    target_width = max(len(row.target) for row in rows)
    lines = [f"{'RESULT':<6}  {'CHECK':<{check_width}}  {'TARGET':<{target_width}}  DETAIL"]
    for row in rows:
        verdict = "PASS" if row.passed else "FAIL"
        lines.append(
            f"{verdict:<6}  {row.check:<{check_width}}  {row.target:<{target_width}}  {row.detail}"
        )
    return lines

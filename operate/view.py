"""What the user sees: a live colored tree on a terminal, plain lines in logs, or JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import IO, Any

from operate.events import Event, Failure, StackNode, phase_elapsed, walk

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


def event_line(event: Event, history: Sequence[Event], paths: dict[str, tuple[str, ...]]) -> str:
    """One plain log line: time, status, where, type, elapsed, reason."""
    where = "/".join(event_path(event, paths))
    parts = [
        f"{event.timestamp:%H:%M:%S}",
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


def failure_lines(found: Sequence[Failure]) -> list[str]:
    """The root cause first, then every other real failure, each with where and why."""
    if not found:
        return []
    first, rest = found[0], found[1:]
    lines = ["Root cause: " + " > ".join(first.path) + f" ({first.resource_type})"]
    when = f"  {first.status} at {first.timestamp:%H:%M:%S}"
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
    for c in changes:
        replace = f"  replacement: {c.replacement}" if c.replacement else ""
        lines.append(f"  {c.action:<7} {c.logical_id:<{width}}  {c.resource_type}{replace}")
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
    check_w = max(len(r.check) for r in rows)
    target_w = max(len(r.target) for r in rows)
    lines = [f"{'RESULT':<6}  {'CHECK':<{check_w}}  {'TARGET':<{target_w}}  DETAIL"]
    for r in rows:
        verdict = "PASS" if r.passed else "FAIL"
        lines.append(f"{verdict:<6}  {r.check:<{check_w}}  {r.target:<{target_w}}  {r.detail}")
    return lines


class PlainView:
    """Plain lines, for logs and pipes: one line per event as it arrives."""

    def __init__(self, out: IO[str] | None = None, now: Callable[[], datetime] | None = None):
        self.out = out or sys.stdout
        self.now = now

    def message(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.message(line)

    def changes(self, changes: Sequence[Change]) -> None:
        self.lines(change_lines(changes))

    def start(self, follower: Any) -> None:
        self.follower = follower

    def progress(self, new: Sequence[Event]) -> None:
        tree = self.follower.tree()
        paths = stack_paths(tree)
        for event in new:
            self.message(event_line(event, self.follower.events, paths))

    def stop(self) -> None:
        pass

    def failures(self, found: Sequence[Failure]) -> None:
        self.lines(failure_lines(found))

    def outputs(self, outputs: dict[str, str]) -> None:
        self.lines(output_lines(outputs))

    def table(self, title: str, rows: Sequence[Row]) -> None:
        self.message(title)
        self.lines(table_lines(rows))

    def result(self, record: dict) -> None:
        pass


class RichView(PlainView):
    """Colors and a live tree redrawn in place, for a terminal."""

    def __init__(self, console: Any, now: Callable[[], datetime]):
        super().__init__(console.file, now)
        self.console = console
        self.live: Any = None

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def start(self, follower: Any) -> None:
        from rich.live import Live

        self.follower = follower
        assert self.now is not None
        now = self.now
        self.live = Live(
            get_renderable=lambda: render_tree(follower.tree(), now()),
            console=self.console,
            refresh_per_second=2,
            transient=False,
            vertical_overflow="visible",
        )
        self.live.start()

    def progress(self, new: Sequence[Event]) -> None:
        if self.live is not None:
            self.live.refresh()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def failures(self, found: Sequence[Failure]) -> None:
        for index, line in enumerate(failure_lines(found)):
            style = "bold red" if index == 0 else ("red" if line.startswith("  ") else "")
            self.console.print(line, style=style, markup=False, highlight=False)

    def table(self, title: str, rows: Sequence[Row]) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in ("Result", "Check", "Target", "Detail"):
            table.add_column(column)
        for r in rows:
            verdict = "[bold green]PASS[/]" if r.passed else "[bold red]FAIL[/]"
            table.add_row(verdict, r.check, r.target, r.detail)
        self.console.print(table)


class JsonView(PlainView):
    """One JSON object per line on stdout, for machines."""

    def emit(self, record: dict) -> None:
        print(json.dumps(record, default=str, sort_keys=True), file=self.out, flush=True)

    def message(self, text: str) -> None:
        self.emit({"kind": "message", "text": text})

    def changes(self, changes: Sequence[Change]) -> None:
        self.emit({"kind": "changes", "changes": [asdict(c) for c in changes]})

    def progress(self, new: Sequence[Event]) -> None:
        tree = self.follower.tree()
        paths = stack_paths(tree)
        for event in new:
            self.emit(event_record(event, self.follower.events, paths))

    def failures(self, found: Sequence[Failure]) -> None:
        self.emit({"kind": "failures", "failures": [failure_record(f) for f in found]})

    def outputs(self, outputs: dict[str, str]) -> None:
        self.emit({"kind": "outputs", "outputs": outputs})

    def table(self, title: str, rows: Sequence[Row]) -> None:
        self.emit({"kind": "checks", "title": title, "checks": [asdict(r) for r in rows]})

    def result(self, record: dict) -> None:
        self.emit({"kind": "result", **record})


def choose(json_mode: bool, out: IO[str] | None = None) -> PlainView:
    """JSON when asked; the live tree on a terminal; plain lines otherwise (CI logs)."""
    from datetime import UTC

    out = out or sys.stdout
    if json_mode:
        return JsonView(out)
    if out.isatty():
        from rich.console import Console

        return RichView(Console(file=out), now=lambda: datetime.now(UTC))
    return PlainView(out)

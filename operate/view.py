"""What the user sees: a live colored tree on a terminal, plain lines in logs, or JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, tzinfo
from typing import IO, Any

from operate.events import Event
from operate.failures import Failure
from operate.lines import (
    Change,
    Row,
    change_lines,
    event_line,
    event_record,
    failure_lines,
    failure_record,
    output_lines,
    render_tree,
    stack_paths,
    table_lines,
)

__all__ = ["Change", "JsonView", "PlainView", "RichView", "Row", "choose"]


class PlainView:
    """Plain lines, for logs and pipes: one line per event as it arrives."""

    def __init__(
        self,
        out: IO[str] | None = None,
        now: Callable[[], datetime] | None = None,
        zone: tzinfo | None = None,
    ):
        self.out = out or sys.stdout
        self.now = now
        self.zone = zone  # None: this machine's time zone

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
            self.message(event_line(event, self.follower.events, paths, self.zone))

    def stop(self) -> None:
        pass

    def failures(self, found: Sequence[Failure]) -> None:
        self.lines(failure_lines(found, self.zone))

    def outputs(self, outputs: dict[str, str]) -> None:
        self.lines(output_lines(outputs))

    def table(self, title: str, rows: Sequence[Row]) -> None:
        self.message(title)
        self.lines(table_lines(rows))

    def quotas(self, title: str, lines: Sequence[str], checks: Sequence[Any]) -> None:
        self.message(title)
        self.lines(lines)

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
        for index, line in enumerate(failure_lines(found, self.zone)):
            style = "bold red" if index == 0 else ("red" if line.startswith("  ") else "")
            self.console.print(line, style=style, markup=False, highlight=False)

    def table(self, title: str, rows: Sequence[Row]) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in ("Result", "Check", "Target", "Detail"):
            table.add_column(column)
        for row in rows:
            verdict = "[bold green]PASS[/]" if row.passed else "[bold red]FAIL[/]"
            table.add_row(verdict, row.check, row.target, row.detail)
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

    def quotas(self, title: str, lines: Sequence[str], checks: Sequence[Any]) -> None:
        self.emit(
            {
                "kind": "quotas",
                "title": title,
                "quotas": [
                    {
                        "label": c.quota.label,
                        "service": c.quota.service,
                        "code": c.quota.code,
                        "need": c.need,
                        "in_use": c.in_use,
                        "limit": c.limit,
                        "source": c.source,
                        "ok": c.ok,
                    }
                    for c in checks
                ],
            }
        )

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

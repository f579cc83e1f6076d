"""Polls the events of a root stack and of every nested stack under it, deleted ones included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from operate.aws import error_code
from operate.events import STACK_TYPE, Event, Link, StackNode, build_tree, is_terminal


class Follower:
    """Collects the events of one operation: root events after a boundary event, nested events
    from the operation's first root event on. Nested stacks are read by id, which keeps working
    after CloudFormation deletes them in a rollback."""

    def __init__(self, cfn: Any, root_id: str, after_event_id: str | None = None) -> None:
        self.cfn = cfn
        self.root_id = root_id
        self.events: list[Event] = []
        self.links: list[Link] = []
        self._after = after_event_id
        self._seen: set[str] = set()
        self._since: datetime | None = None
        self._nested: dict[str, None] = {}  # physical ids of nested stacks, in discovery order
        self._unreadable: set[str] = set()

    @property
    def root_status(self) -> str | None:
        own = [e for e in self.events if e.stack_id == self.root_id and e.is_stack_itself]
        return own[-1].status if own else None

    def tree(self) -> StackNode:
        return build_tree(self.events, self.root_id, self.links)

    def poll(self) -> list[Event]:
        """New events since the last poll, oldest first."""
        new = self._read(self.root_id, stop_at=self._after)
        if self._since is None and new:
            self._since = min(e.timestamp for e in new)
        self._discover(new)
        if self._since is not None:
            index = 0
            while index < len(self._nested):  # grows while nested stacks are found
                stack = list(self._nested)[index]
                found = self._read(stack, stop_at=None)
                self._discover(found)
                new += found
                index += 1
        if any(
            e.stack_id == self.root_id and e.is_stack_itself and is_terminal(e.status) for e in new
        ):
            # Parents name their nested stacks in events on AWS; moto writes no such events, so
            # once at the end the resource lists fill the gaps (one call per stack, not per poll).
            new += self._link_children()
        new.sort(key=lambda e: e.timestamp)
        # A new list, assigned at once: the live view reads it from its refresh thread.
        self.events = sorted(self.events + new, key=lambda e: e.timestamp)
        return new

    def _read(self, stack: str, stop_at: str | None) -> list[Event]:
        """The stack's unseen events, oldest first (the API pages them newest first)."""
        return self._read_newest_first(stack, stop_at)[::-1]

    def _read_newest_first(self, stack: str, stop_at: str | None) -> list[Event]:
        from botocore.exceptions import ClientError

        if stack in self._unreadable:
            return []
        found: list[Event] = []
        arguments: dict[str, Any] = {"StackName": stack}
        while True:
            try:
                page = self.cfn.describe_stack_events(**arguments)
            except ClientError as error:
                if stack != self.root_id and error_code(error) == "ValidationError":
                    self._unreadable.add(stack)  # e.g. a name whose stack is gone: ids work
                    return found
                raise
            for raw in page.get("StackEvents") or []:
                event = Event.from_api(raw)
                if event.event_id in self._seen or event.event_id == stop_at:
                    return found
                if stack != self.root_id and self._since and event.timestamp < self._since:
                    return found  # an earlier operation on an existing nested stack
                self._seen.add(event.event_id)
                found.append(event)
            token = page.get("NextToken")
            if not token:
                return found
            arguments["NextToken"] = token

    def _discover(self, events: list[Event]) -> None:
        for event in events:
            nested = event.resource_type == STACK_TYPE and not event.is_stack_itself
            if nested and event.physical_id and event.physical_id not in self._nested:
                self._nested[event.physical_id] = None

    def _link_children(self) -> list[Event]:
        """Nested stacks a parent lists without events for them (moto writes none)."""
        from botocore.exceptions import ClientError

        found: list[Event] = []
        known = {(link.parent_stack_id, link.logical_id) for link in self.links}
        for stack in [self.root_id, *self._nested]:
            if stack in self._unreadable:
                continue
            try:
                summaries = self._resources(stack)
            except ClientError:
                continue  # a deleted stack lists nothing; its events still tell
            for item in summaries:
                if item.get("ResourceType") != STACK_TYPE or not item.get("PhysicalResourceId"):
                    continue
                physical = item["PhysicalResourceId"]
                if (stack, item["LogicalResourceId"]) not in known:
                    self.links.append(Link(stack, item["LogicalResourceId"], physical))
                    known.add((stack, item["LogicalResourceId"]))
                if physical not in self._nested:
                    self._nested[physical] = None
                    new = self._read(physical, stop_at=None)
                    self._discover(new)
                    found += new
        return found

    def _resources(self, stack: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {"StackName": stack}
        while True:
            page = self.cfn.list_stack_resources(**arguments)
            items += page.get("StackResourceSummaries") or []
            if not page.get("NextToken"):
                return items
            arguments["NextToken"] = page["NextToken"]


@dataclass(frozen=True)
class Outcome:
    status: str  # the root's last status, or TIMEOUT
    seconds: float


def follow(
    follower: Follower,
    on_poll: Callable[[list[Event]], None],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    poll_seconds: float,
    timeout_seconds: float,
) -> Outcome:
    """Poll until the root stack reaches a terminal status (or the time runs out)."""
    started = clock()
    while True:
        new = follower.poll()
        on_poll(new)
        status = follower.root_status
        if status and is_terminal(status):
            return Outcome(status, clock() - started)
        if clock() - started > timeout_seconds:
            return Outcome("TIMEOUT", clock() - started)
        sleep(poll_seconds)


def follow_in_view(
    ctx: Any, cfn: Any, stack_id: str, boundary: str | None, args: Any
) -> tuple[Follower, Outcome]:
    """Follow a stack operation from `boundary` on, drawing it in the context's view, with the
    poll interval and time limit the command was given."""
    follower = Follower(cfn, stack_id, after_event_id=boundary)
    ctx.view.start(follower)
    try:
        outcome = follow(
            follower,
            ctx.view.progress,
            clock=ctx.clock,
            sleep=ctx.sleep,
            poll_seconds=args.poll_seconds,
            timeout_seconds=args.timeout_minutes * 60,
        )
    finally:
        ctx.view.stop()
    return follower, outcome

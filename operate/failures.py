"""The failures of one stack operation, the root cause first, however deep it sits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from operate.events import (
    CASCADE,
    Event,
    Link,
    StackNode,
    build_tree,
    is_failure,
    phase_elapsed,
    walk,
)


@dataclass(frozen=True)
class Failure:
    """One real failure: the resource, where it sits, what CloudFormation said, and when."""

    path: tuple[str, ...]  # logical ids from the root stack's name down to the resource
    logical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime
    stack_name: str
    stack_deleted: bool  # the nested stack holding it no longer exists (rolled back, deleted)
    elapsed_seconds: float | None = None


def failures(events: Iterable[Event], root_id: str, links: Iterable[Link] = ()) -> list[Failure]:
    """Every failed resource whose failure is its own, oldest first, the deeper one first on a tie.

    Cancellations and "the following resources failed" are left out, and so is a nested stack
    resource whose own stack shows a failure: the failure inside is the one to read. A failed
    nested stack with nothing inside (a bad TemplateURL, a parameter it refused) stays in.
    """
    events = list(events)
    root = build_tree(events, root_id, links)
    by_stack = {stack.stack_id: (path, stack) for path, stack in walk(root)}
    own = [
        e
        for e in events
        if is_failure(e.status) and not e.is_stack_itself and not CASCADE.search(e.reason)
    ]
    # A stack with an own failure anywhere in it explains its parent's failed stack resource.
    explained = {e.stack_id for e in own}
    found: list[tuple[int, Failure]] = []
    for event in own:
        entry = by_stack.get(event.stack_id)
        if entry is None:
            continue
        path, stack = entry
        resource = stack.resources.get(event.logical_id)
        if resource is not None and resource.stack and resource.stack.stack_id in explained:
            continue
        elapsed = phase_elapsed(events, event)
        found.append(
            (
                len(path),
                Failure(
                    path=(*path, event.logical_id),
                    logical_id=event.logical_id,
                    resource_type=event.resource_type,
                    status=event.status,
                    reason=event.reason,
                    timestamp=event.timestamp,
                    stack_name=stack.name,
                    stack_deleted=stack.deleted and stack is not root,
                    elapsed_seconds=elapsed,
                ),
            )
        )
    if not found:
        found = _stack_level_failures(events, by_stack)
    if not found:
        # Only cascades were seen (the inner stack's events could not be read): better than none.
        found = [
            (0, _bare_failure(e, stack_deleted=False))
            for e in events
            if is_failure(e.status) and not e.is_stack_itself
        ]
    found.sort(key=lambda item: (item[1].timestamp, -item[0]))
    return [failure for _, failure in found]


def _bare_failure(event: Event, stack_deleted: bool) -> Failure:
    return Failure(
        path=(event.stack_name, event.logical_id),
        logical_id=event.logical_id,
        resource_type=event.resource_type,
        status=event.status,
        reason=event.reason,
        timestamp=event.timestamp,
        stack_name=event.stack_name,
        stack_deleted=stack_deleted,
    )


def _stack_level_failures(
    events: list[Event], by_stack: dict[str, tuple[tuple[str, ...], StackNode]]
) -> list[tuple[int, Failure]]:
    """Last resort: a stack that failed or rolled back for a reason of its own (a parameter it
    refused, a template it could not read) rather than because a resource failed."""
    out = []
    for event in events:
        bad = is_failure(event.status) or "ROLLBACK_IN_PROGRESS" in event.status
        if not (event.is_stack_itself and bad and event.reason) or CASCADE.search(event.reason):
            continue
        path, stack = by_stack.get(event.stack_id, ((event.stack_name,), None))
        failure = _bare_failure(event, stack_deleted=bool(stack and stack.deleted))
        out.append((len(path), replace(failure, path=path)))
    return out


def root_cause(events: Iterable[Event], root_id: str, links: Iterable[Link] = ()) -> Failure | None:
    """The first real failure of the operation, however deep; None when nothing failed."""
    found = failures(events, root_id, links)
    return found[0] if found else None

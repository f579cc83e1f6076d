"""Pure model of one stack operation: events and the nested-stack tree they build."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.sets import STACK_TYPE as STACK_TYPE

# The reasons CloudFormation gives, whole, to resources and stacks that failed only because
# something else did. Matched from the start: a real reason may well contain "cancelled"
# (a request the service cancelled) and must keep its root-cause path.
CASCADE = re.compile(
    r"^(Resource|Stack) (creation|update|deletion) cancelled\.?$"
    r"|^The following resource\(s\) failed to "
    r"|^Embedded stack \S+ was not successfully ",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Event:
    """One stack event, as DescribeStackEvents reports it."""

    event_id: str
    stack_id: str
    stack_name: str
    logical_id: str
    physical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime

    @property
    def is_stack_itself(self) -> bool:
        """True for the events a stack writes about itself (not about one of its resources)."""
        return self.resource_type == STACK_TYPE and self.physical_id == self.stack_id

    @classmethod
    def from_api(cls, raw: Mapping) -> Event:
        return cls(
            event_id=raw["EventId"],
            stack_id=raw["StackId"],
            stack_name=raw["StackName"],
            logical_id=raw["LogicalResourceId"],
            physical_id=raw.get("PhysicalResourceId") or "",
            resource_type=raw.get("ResourceType") or "",
            status=raw["ResourceStatus"],
            reason=raw.get("ResourceStatusReason") or "",
            timestamp=raw["Timestamp"],
        )


def is_terminal(status: str) -> bool:
    """A stack status no further event will follow by itself."""
    return not status.endswith("_IN_PROGRESS")


def is_failure(status: str) -> bool:
    return status.endswith("_FAILED")


def stack_name_of(stack_id: str) -> str:
    """Name part of a stack ARN (arn:...:stack/NAME/GUID); anything else is taken as a name."""
    parts = stack_id.split("/")
    return parts[1] if stack_id.startswith("arn:") and len(parts) >= 3 else stack_id


@dataclass
class ResourceNode:
    logical_id: str
    resource_type: str
    physical_id: str = ""
    status: str = ""
    reason: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    stack: StackNode | None = None  # the nested stack this resource is, once known
    failure: str = ""  # its own failure's reason, kept after a rollback deletes it

    def elapsed(self, now: datetime) -> float | None:
        """Seconds from this operation's first event on the resource to its last terminal one."""
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else now
        return max(0.0, (end - self.started).total_seconds())


@dataclass
class StackNode:
    stack_id: str
    name: str
    status: str = ""
    reason: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    resources: dict[str, ResourceNode] = field(default_factory=dict)
    failure: str = ""

    @property
    def deleted(self) -> bool:
        return self.status == "DELETE_COMPLETE"

    def elapsed(self, now: datetime) -> float | None:
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else now
        return max(0.0, (end - self.started).total_seconds())


@dataclass(frozen=True)
class Link:
    """A nested stack found through ListStackResources rather than through an event."""

    parent_stack_id: str
    logical_id: str
    physical_id: str


def _apply(node: ResourceNode | StackNode, event: Event) -> None:
    """Latest status wins; `started` is the start of the current phase (create, rollback, ...)."""
    in_progress = event.status.endswith("_IN_PROGRESS")
    # A new phase begins after a settled status (an instant one when it settles at once).
    if node.started is None or node.ended is not None:
        node.started = event.timestamp
    node.status, node.reason = event.status, event.reason
    node.ended = None if in_progress else event.timestamp
    if is_failure(event.status) and not CASCADE.search(event.reason):
        node.failure = event.reason or event.status


def phase_elapsed(history: Iterable[Event], event: Event) -> float | None:
    """Seconds a settled event's phase took: from the first of the in-progress events right
    before it on the same resource (or stack) to it. None for an in-progress event."""
    if event.status.endswith("_IN_PROGRESS"):
        return None
    start = event.timestamp
    same = [
        e
        for e in history
        if e.stack_id == event.stack_id
        and e.logical_id == event.logical_id
        and e.timestamp <= event.timestamp
        and e.event_id != event.event_id
    ]
    for earlier in sorted(same, key=lambda e: e.timestamp, reverse=True):
        if not earlier.status.endswith("_IN_PROGRESS"):
            break
        start = earlier.timestamp
    return (event.timestamp - start).total_seconds()


def _matches(physical_id: str, stack: StackNode) -> bool:
    return physical_id in (stack.stack_id, stack.name)


def build_tree(events: Iterable[Event], root_id: str, links: Iterable[Link] = ()) -> StackNode:
    """The root stack with its resources, each nested stack hung under the resource it is.

    Events are applied in time order; a nested stack is matched to its parent's resource by stack
    id or name (moto reports nested stacks by name, AWS by id).
    """
    ordered = sorted(events, key=lambda e: e.timestamp)
    stacks: dict[str, StackNode] = {}
    root = StackNode(stack_id=root_id, name=stack_name_of(root_id))
    stacks[root_id] = root
    for event in ordered:
        stack = stacks.get(event.stack_id)
        if stack is None:
            stack = stacks[event.stack_id] = StackNode(event.stack_id, event.stack_name)
        if event.is_stack_itself:
            _apply(stack, event)
            if stack is root:
                root.name = event.stack_name
            continue
        resource = stack.resources.get(event.logical_id)
        if resource is None:
            resource = stack.resources[event.logical_id] = ResourceNode(
                event.logical_id, event.resource_type
            )
        if event.physical_id:
            resource.physical_id = event.physical_id
        _apply(resource, event)
    for link in links:
        parent = stacks.get(link.parent_stack_id) or next(
            (s for s in stacks.values() if _matches(link.parent_stack_id, s)), None
        )
        if parent is not None and link.logical_id not in parent.resources:
            parent.resources[link.logical_id] = ResourceNode(
                link.logical_id, STACK_TYPE, physical_id=link.physical_id
            )
        elif parent is not None and not parent.resources[link.logical_id].physical_id:
            parent.resources[link.logical_id].physical_id = link.physical_id
    for stack in list(stacks.values()):
        for resource in stack.resources.values():
            if resource.resource_type != STACK_TYPE or not resource.physical_id:
                continue
            child = next(
                (s for s in stacks.values() if s is not root and _matches(resource.physical_id, s)),
                None,
            )
            if child is None:
                child = StackNode(resource.physical_id, stack_name_of(resource.physical_id))
                stacks[resource.physical_id] = child
            resource.stack = child
    return root


def walk(
    stack: StackNode, path: tuple[str, ...] = ()
) -> Iterable[tuple[tuple[str, ...], StackNode]]:
    """Every stack of the tree, depth first, with its path of logical ids from the root."""
    here = path or (stack.name,)
    yield here, stack
    for resource in stack.resources.values():
        if resource.stack is not None:
            yield from walk(resource.stack, (*here, resource.logical_id))

"""Recorded event histories (fixtures/*.json) and a CloudFormation stand-in that replays them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from operate.events import Event

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Recording:
    """A fixture file as DescribeStackEvents would return its events (oldest first here)."""

    def __init__(self, name: str) -> None:
        data = json.loads((FIXTURES / name).read_text())
        self.stacks: dict[str, str] = data["stacks"]
        self.root_id = self.stacks["root"]
        start = datetime.fromisoformat(data["start"])
        self.raw: list[dict[str, Any]] = []
        self.boundary: str | None = None
        for index, item in enumerate(data["events"]):
            stack_id = self.stacks[item["stack"]]
            physical = item["physical"]
            if physical.startswith("@"):
                physical = self.stacks[physical[1:]]
            event_id = f"{item['stack']}-{index:03d}"
            if "boundary" in data and item.get("event") == data["boundary"]:
                self.boundary = event_id
            self.raw.append(
                {
                    "EventId": event_id,
                    "StackId": stack_id,
                    "StackName": stack_id.split("/")[1],
                    "LogicalResourceId": item["id"],
                    "PhysicalResourceId": physical,
                    "ResourceType": item["type"],
                    "ResourceStatus": item["status"],
                    "ResourceStatusReason": item.get("reason", ""),
                    "Timestamp": start + timedelta(seconds=item["t"]),
                }
            )
        self.raw.sort(key=lambda e: e["Timestamp"])

    def events(self) -> list[Event]:
        return [Event.from_api(e) for e in self.raw]

    def operation_events(self) -> list[Event]:
        """The events after the boundary (the whole history when there is none)."""
        start = self._operation_start()
        return [Event.from_api(e) for e in self.raw if e["Timestamp"] >= start]

    def _operation_start(self) -> datetime:
        if self.boundary is None:
            return self.raw[0]["Timestamp"]
        index = next(i for i, e in enumerate(self.raw) if e["EventId"] == self.boundary)
        return self.raw[index + 1]["Timestamp"]


def _not_found(name: str, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}},
        operation,
    )


class ReplayCloudFormation:
    """Serves a recording a few events at a time: advance() reveals the next `step` events.

    Like CloudFormation, a deleted stack answers by id but no longer by name, and events come
    newest first in pages.
    """

    def __init__(self, recording: Recording, step: int = 3, page_size: int = 4) -> None:
        self.recording = recording
        self.step = step
        self.page_size = page_size
        self.visible = sum(
            1 for e in recording.raw if e["Timestamp"] < recording._operation_start()
        )
        self.calls: list[tuple[str, str]] = []

    def advance(self, seconds: float = 0) -> None:
        self.visible = min(len(self.recording.raw), self.visible + self.step)

    def reveal_all(self) -> None:
        self.visible = len(self.recording.raw)

    def _shown(self) -> list[dict[str, Any]]:
        return self.recording.raw[: self.visible]

    def _stack_id(self, name: str, operation: str) -> str:
        if name in self.recording.stacks.values():
            return name
        for stack_id in self.recording.stacks.values():
            if stack_id.split("/")[1] == name:
                if self._status(stack_id) == "DELETE_COMPLETE":
                    raise _not_found(name, operation)
                return stack_id
        raise _not_found(name, operation)

    def _status(self, stack_id: str) -> str:
        own = [
            e
            for e in self._shown()
            if e["StackId"] == stack_id and e["PhysicalResourceId"] == stack_id
        ]
        return own[-1]["ResourceStatus"] if own else "CREATE_IN_PROGRESS"

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict:  # noqa: N803
        self.calls.append(("describe_stack_events", StackName))
        stack_id = self._stack_id(StackName, "DescribeStackEvents")
        mine = [e for e in self._shown() if e["StackId"] == stack_id][::-1]
        offset = int(NextToken or 0)
        page = mine[offset : offset + self.page_size]
        answer: dict[str, Any] = {"StackEvents": page}
        if offset + self.page_size < len(mine):
            answer["NextToken"] = str(offset + self.page_size)
        return answer

    def list_stack_resources(self, StackName: str, NextToken: str | None = None) -> dict:  # noqa: N803
        self.calls.append(("list_stack_resources", StackName))
        stack_id = self._stack_id(StackName, "ListStackResources")
        latest: dict[str, dict[str, Any]] = {}
        for e in self._shown():
            if e["StackId"] == stack_id and e["PhysicalResourceId"] != stack_id:
                latest[e["LogicalResourceId"]] = e
        return {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": e["LogicalResourceId"],
                    "PhysicalResourceId": e["PhysicalResourceId"],
                    "ResourceType": e["ResourceType"],
                    "ResourceStatus": e["ResourceStatus"],
                }
                for e in latest.values()
                if e["ResourceStatus"] != "DELETE_COMPLETE"
            ]
        }

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803
        stack_id = self._stack_id(StackName, "DescribeStacks")
        return {
            "Stacks": [
                {
                    "StackId": stack_id,
                    "StackName": stack_id.split("/")[1],
                    "StackStatus": self._status(stack_id),
                    "Outputs": [],
                }
            ]
        }


class FakeSts:
    def __init__(self, partition: str = "aws") -> None:
        self.partition = partition

    def get_caller_identity(self) -> dict:
        return {"Arn": f"arn:{self.partition}:iam::111122223333:user/tester"}


class ReplayWithDelete(ReplayCloudFormation):
    """Also takes DeleteStack, so `make delete` can run over a recorded deletion."""

    deleted: list[str]

    def delete_stack(self, StackName: str) -> dict:  # noqa: N803
        self.deleted = [*getattr(self, "deleted", []), StackName]
        return {}

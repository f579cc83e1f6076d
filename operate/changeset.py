"""Change sets of an update: created with nested stacks included, read back with every nested
stack's changes under its path, deleted when they cannot run."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from operate.aws import api_errors
from operate.context import Context
from operate.errors import AwsError
from operate.lines import Change

READY = ("CREATE_COMPLETE", "FAILED")
WAIT_SECONDS = 600


def create_change_set(
    cfn: Any,
    stack: str,
    template_url: str,
    values: list[dict[str, Any]],
    capabilities: tuple[str, ...],
) -> str:
    """Create an UPDATE change set that includes the nested stacks' own changes; its id."""
    name = "deploy-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with api_errors("cloudformation:CreateChangeSet"):
        created = cfn.create_change_set(
            StackName=stack,
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            TemplateURL=template_url,
            Parameters=values,
            Capabilities=list(capabilities),
            IncludeNestedStacks=True,
            Description="make deploy",
        )
    return created["Id"]


def describe_all(cfn: Any, change_set_id: str) -> dict[str, Any]:
    """One change set with all its pages of changes."""
    with api_errors("cloudformation:DescribeChangeSet"):
        described = cfn.describe_change_set(ChangeSetName=change_set_id)
        token = described.get("NextToken")
        while token:  # a large set's changes come in pages
            more = cfn.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
            described["Changes"] = (described.get("Changes") or []) + (more.get("Changes") or [])
            token = more.get("NextToken")
    return described


def wait_change_set(cfn: Any, change_set_id: str, ctx: Context) -> dict[str, Any]:
    """The change set once CloudFormation has computed it (nested change sets included)."""
    deadline = ctx.clock() + WAIT_SECONDS
    while True:
        described = describe_all(cfn, change_set_id)
        if described["Status"] in READY:
            return described
        if ctx.clock() > deadline:
            raise AwsError(f"change set {change_set_id} not ready after {WAIT_SECONDS // 60} min")
        ctx.sleep(2)


def all_changes(cfn: Any, described: dict[str, Any], path: str = "") -> list[Change]:
    """The change set's changes, each nested stack's own changes after it under its path
    (NetworkStack/PublicSubnet1): without them an update shows only master-level lines."""
    found: list[Change] = []
    for raw in described.get("Changes") or []:
        change = Change.from_api(raw)
        if path:
            change = Change(
                change.action,
                f"{path}/{change.logical_id}",
                change.resource_type,
                change.replacement,
            )
        found.append(change)
        nested_id = (raw.get("ResourceChange") or {}).get("ChangeSetId")
        if nested_id and nested_id != described.get("ChangeSetId"):
            found += all_changes(cfn, describe_all(cfn, nested_id), change.logical_id)
    return found


def discard(cfn: Any, change_set_id: str) -> None:
    """Leave nothing behind: a change set that cannot run is deleted."""
    with contextlib.suppress(Exception):  # cleanup must not hide the real outcome
        cfn.delete_change_set(ChangeSetName=change_set_id)


def update_parameters(
    given: dict[str, str], declared: set[str], existing: dict[str, Any]
) -> list[dict[str, Any]]:
    """Given values, and every other current parameter kept: a parameter left out of an update
    would fall back to the template's default, silently undoing an earlier choice."""
    previous = {p["ParameterKey"] for p in existing.get("Parameters") or []}
    values: list[dict[str, Any]] = [
        {"ParameterKey": k, "ParameterValue": v} for k, v in sorted(given.items())
    ]
    values += [
        {"ParameterKey": k, "UsePreviousValue": True}
        for k in sorted((declared & previous) - set(given))
    ]
    return values

"""make watch: re-attach to a stack's latest operation (after Ctrl-C, or one started elsewhere),
follow it to its end and report it as deploy and delete do."""

from __future__ import annotations

import argparse
from typing import Any

from operate.aws import api_errors, checked_stack_name, existing_stack
from operate.context import Context
from operate.events import Event
from operate.report import watch_and_report

# Root statuses that open an operation; the watch starts right before the latest of them.
OPERATION_STARTS = (
    "CREATE_IN_PROGRESS",
    "UPDATE_IN_PROGRESS",
    "DELETE_IN_PROGRESS",
    "IMPORT_IN_PROGRESS",
    "REVIEW_IN_PROGRESS",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """watch takes only the common options."""


def validate(args: argparse.Namespace) -> None:
    checked_stack_name(args.stack)


def operation_boundary(cfn: Any, stack_id: str) -> str | None:
    """Id of the event right before the stack's latest operation began; None when that
    operation is the stack's first (its creation)."""
    arguments: dict[str, Any] = {"StackName": stack_id}
    start_seen = False
    while True:
        with api_errors(f"cloudformation:DescribeStackEvents {stack_id}"):
            page = cfn.describe_stack_events(**arguments)
        for raw in page.get("StackEvents") or []:  # newest first
            if start_seen:
                return raw["EventId"]
            event = Event.from_api(raw)
            start_seen = event.is_stack_itself and event.status in OPERATION_STARTS
        if not page.get("NextToken"):
            return None
        arguments["NextToken"] = page["NextToken"]


def run(args: argparse.Namespace, ctx: Context) -> int:
    validate(args)
    cfn, stack = existing_stack(ctx.client, ctx.region, args.stack)
    stack_id = stack["StackId"]
    boundary = operation_boundary(cfn, stack_id)
    ctx.view.message(f"Watching stack {args.stack} ({stack['StackStatus']}) in {ctx.region}")
    return watch_and_report(ctx, cfn, stack_id, boundary, args)

"""make delete: delete the stack, follow every nested stack, report what stayed and why."""

from __future__ import annotations

import argparse

from operate.aws import (
    api_errors,
    checked_stack_name,
    existing_stack,
    newest_event_id,
)
from operate.context import Context
from operate.errors import UsageError
from operate.report import watch_and_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """delete takes only the common options."""


def validate(args: argparse.Namespace) -> None:
    checked_stack_name(args.stack)


def run(args: argparse.Namespace, ctx: Context) -> int:
    validate(args)
    cfn, stack = existing_stack(ctx.client, ctx.region, args.stack)
    stack_id = stack["StackId"]
    ctx.record.stack_id, ctx.record.status = stack_id, stack["StackStatus"]
    if stack.get("EnableTerminationProtection"):
        raise UsageError(f"stack {args.stack} has termination protection on; turn it off first")
    boundary = newest_event_id(cfn, stack_id)
    if stack["StackStatus"] != "DELETE_IN_PROGRESS":
        ctx.record.changing = True
        with api_errors("cloudformation:DeleteStack"):
            cfn.delete_stack(StackName=stack_id)
    ctx.view.message(f"Deleting stack {args.stack} ({stack_id}) in {ctx.region}")
    return watch_and_report(ctx, cfn, stack_id, boundary, args)

"""make delete: delete the stack, follow every nested stack, report what stayed and why."""

from __future__ import annotations

import argparse

from operate.aws import api_errors, check_caller, describe_stack, newest_event_id
from operate.context import Context
from operate.errors import StackNotFound, UsageError
from operate.events import failures
from operate.follow import follow_in_view
from publisher.errors import PublishError
from publisher.naming import validate_stack_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    """delete takes only the common options."""


def validate(args: argparse.Namespace) -> None:
    try:
        validate_stack_name(args.stack)
    except PublishError as error:
        raise UsageError(str(error)) from None


def run(args: argparse.Namespace, ctx: Context) -> int:
    validate(args)
    view = ctx.view
    check_caller(ctx.client("sts"), ctx.region)
    cfn = ctx.client("cloudformation")
    stack = describe_stack(cfn, args.stack)
    if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
        raise StackNotFound(f"stack {args.stack} does not exist in {ctx.region}")
    stack_id = stack["StackId"]
    if stack.get("EnableTerminationProtection"):
        raise UsageError(f"stack {args.stack} has termination protection on; turn it off first")
    boundary = newest_event_id(cfn, stack_id)
    if stack["StackStatus"] != "DELETE_IN_PROGRESS":
        with api_errors("cloudformation:DeleteStack"):
            cfn.delete_stack(StackName=stack_id)
    view.message(f"Deleting stack {args.stack} ({stack_id}) in {ctx.region}")
    follower, outcome = follow_in_view(ctx, cfn, stack_id, boundary, args)
    ok = outcome.status == "DELETE_COMPLETE"
    kept = sorted(
        {
            f"{e.stack_name}/{e.logical_id} ({e.resource_type})"
            for e in follower.events
            if e.status == "DELETE_SKIPPED"
        }
    )
    if outcome.status == "TIMEOUT":
        view.message(
            f"Still {follower.root_status} after {args.timeout_minutes} min: stopped watching; "
            "the deletion goes on in CloudFormation."
        )
    else:
        view.message(f"delete: {outcome.status} after {int(outcome.seconds)} s")
    found = [] if ok else failures(follower.events, stack_id, follower.links)
    if found:
        view.message("Could not be deleted:")
        view.failures(found)
        view.message(
            f"Fix or remove those resources by hand, then run `make delete STACK={args.stack}` "
            "again (CloudFormation retries only what is left)."
        )
    if kept:
        view.lines(["Kept on purpose (DeletionPolicy Retain):", *(f"  {k}" for k in kept)])
    view.result(
        {
            "operation": "delete",
            "status": outcome.status,
            "ok": ok,
            "seconds": round(outcome.seconds, 1),
            "kept": kept,
        }
    )
    return 0 if ok else 1

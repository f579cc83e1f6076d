"""The watch-and-report tail deploy, delete and watch share: follow a stack operation to its end,
then say how it ended, why it failed, and what to do next."""

from __future__ import annotations

import shlex
from typing import Any

from operate.aws import describe_stack, outputs_of
from operate.context import Context
from operate.events import stack_name_of
from operate.failures import failures
from operate.follow import follow_in_view
from operate.lines import failure_record
from operate.result import DONE, FAILED

SUCCESS = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE")


def make_command(target: str, stack: str, region: str) -> str:
    """A make command line the user can paste, its values quoted for the shell."""
    return f"make {target} STACK={shlex.quote(stack)} REGION={shlex.quote(region)}"


def next_step(stack: str, status: str, region: str) -> str | None:
    """What a stack in `status` needs before it can be deployed again; None when nothing.

    The *_FAILED states after a rollback or delete never settle by themselves: each has its own
    way out, and waiting is not one of them.
    """
    delete = make_command("delete", stack, region)
    if status == "UPDATE_ROLLBACK_FAILED":
        return (
            f"stack {stack} is UPDATE_ROLLBACK_FAILED and stays so until told: run `aws "
            f"cloudformation continue-update-rollback --stack-name {shlex.quote(stack)} --region "
            f"{shlex.quote(region)}` (with --resources-to-skip for resources that cannot roll "
            f"back), then deploy again; or `{delete}`"
        )
    if status in ("ROLLBACK_FAILED", "DELETE_FAILED"):
        return (
            f"stack {stack} is {status} and cannot be updated: fix what the failures name, "
            f"then `{delete}` (it retries only what is left), then deploy again"
        )
    if status == "ROLLBACK_COMPLETE":
        return (
            f"stack {stack} is ROLLBACK_COMPLETE (its creation failed) and cannot be updated: "
            f"`{delete}`, fix the cause, then deploy again"
        )
    if status == "REVIEW_IN_PROGRESS":
        return (
            f"stack {stack} is REVIEW_IN_PROGRESS (a change set nobody executed): `{delete}` first"
        )
    if status.endswith("_IN_PROGRESS"):
        return (
            f"stack {stack} is {status}: follow it with `{make_command('watch', stack, region)}`, "
            "then deploy again"
        )
    return None


def watch_and_report(ctx: Context, cfn: Any, stack_id: str, boundary: str | None, args: Any) -> int:
    """Follow the operation after `boundary` to its end and report it; 0 only on success."""
    view, record = ctx.view, ctx.record
    record.stack_id = stack_id
    follower, outcome = follow_in_view(ctx, cfn, stack_id, boundary, args)
    record.status, record.seconds = outcome.status, outcome.seconds
    name = record.stack or stack_name_of(stack_id)
    last = follower.root_status or ""
    deleting = (last or outcome.status).startswith("DELETE")
    if outcome.status == "TIMEOUT":
        view.message(
            f"Still {last} after {args.timeout_minutes} min: stopped watching; the operation "
            f"goes on in CloudFormation: `{make_command('watch', name, ctx.region)}` follows it"
        )
        record.exit_code = FAILED
        return FAILED
    view.message(f"{record.command}: {outcome.status} after {int(outcome.seconds)} s")
    ok = outcome.status in SUCCESS
    found = [] if ok else failures(follower.events, stack_id, follower.links)
    if found:
        if deleting:
            view.message("Could not be deleted:")
        view.failures(found)
        record.root_cause = failure_record(found[0])
    if deleting:
        _report_deletion(ctx, follower.events, name, bool(found))
    elif ok:
        view.outputs(outputs_of(describe_stack(cfn, stack_id) or {}))
    step = None if ok or deleting else next_step(name, outcome.status, ctx.region)
    if step:
        view.message(step[0].upper() + step[1:])
    record.exit_code = DONE if ok else FAILED
    return record.exit_code


def _report_deletion(ctx: Context, events: list, name: str, failed: bool) -> None:
    kept = sorted(
        {
            f"{event.stack_name}/{event.logical_id} ({event.resource_type})"
            for event in events
            if event.status == "DELETE_SKIPPED"
        }
    )
    if failed:
        ctx.view.message(
            f"Fix or remove those resources by hand, then run "
            f"`{make_command('delete', name, ctx.region)}` again (CloudFormation retries only "
            "what is left)."
        )
    if kept:
        ctx.view.lines(["Kept on purpose (DeletionPolicy Retain):", *(f"  {k}" for k in kept)])

"""make deploy: check the plan, publish if asked, choose the zones, check quotas, then create the
stack or update it through a change set, and follow it to its end."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.naming import AVAILABILITY_ZONES_PARAMETER
from core.sets import ARCHITECTURES
from operate import master, zones
from operate.account import check_key_pair
from operate.aws import api_errors, check_caller, describe_stack, newest_event_id
from operate.changeset import (
    all_changes,
    create_change_set,
    discard,
    update_parameters,
    wait_change_set,
)
from operate.context import Context
from operate.errors import AwsError, PartitionError, UsageError
from operate.lines import Change
from operate.plan import CIDR_PARAMETER, KEY_PARAMETER, DeployPlan, check_zones_in_region
from operate.plan import plan_deploy as validate
from operate.preflight import run_preflight
from operate.report import next_step, watch_and_report

REPO = Path(__file__).resolve().parents[1]
# Stacks in these states take an update; any other state needs its own next step first.
UPDATABLE = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
)
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")

__all__ = ["add_arguments", "run", "validate"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key-pair", help="EC2 key pair name (RSA) for KeyPairName; to create")
    parser.add_argument("--bastion-cidr", help="IPv4 block allowed to RDP to the bastion: a /32")
    parser.add_argument(
        "--allow-wide-cidr",
        action="store_true",
        help="accept a BASTION_CIDR wider than a /28 (RDP open to all of it)",
    )
    parser.add_argument("--bucket", help="publish the set to this bucket first, deploy that copy")
    parser.add_argument("--prefix", help="key prefix inside the bucket")
    parser.add_argument("--template-url", help="an already published master (without --bucket)")
    parser.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        help="default: the existing stack's, else single-vpc",
    )
    parser.add_argument(
        "--availability-zones",
        metavar="ZONE,ZONE",
        help="zones to use, in order (default: chosen where every instance type is offered)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other master parameter (repeatable)",
    )
    parser.add_argument("--output", type=Path, default=REPO / "output", help="generated templates")
    parser.add_argument(
        "--no-execute", action="store_true", help="show the changes; upload and change nothing"
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    plan = validate(args)
    check_zones_in_region(plan.zones, ctx.region)  # before any request
    if plan.template_url:
        url_partition = master.template_partition(plan.template_url)
        if url_partition and url_partition != ctx.partition:
            raise PartitionError(
                f"--template-url is in partition {url_partition}, region {ctx.region} in "
                f"{ctx.partition}"
            )
    check_caller(ctx.client("sts"), ctx.region)
    cfn = ctx.client("cloudformation")
    existing = describe_stack(cfn, plan.stack)
    if existing is not None:
        ctx.record.stack_id, ctx.record.status = existing["StackId"], existing["StackStatus"]
        if existing["StackStatus"] not in UPDATABLE:
            step = next_step(plan.stack, existing["StackStatus"], ctx.region)
            raise UsageError(step or f"stack {plan.stack} is {existing['StackStatus']}")
    current = master.deployed_architecture(cfn, plan.stack) if existing else None
    architecture = master.choose_architecture(plan.architecture, current, plan.stack)
    parameters = dict(plan.parameters)
    if existing is None:
        _require_new_stack_parameters(parameters)
    if KEY_PARAMETER in parameters:
        check_key_pair(ctx.client("ec2"), parameters[KEY_PARAMETER], ctx.region)
    local = _local_set(plan, architecture, ctx.partition)
    if plan.bucket:
        # The master uploaded is the local one with URLs: its parameters are known before any
        # upload, so zones and quotas are settled before the bucket changes.
        assert local is not None  # publishing needs the local set, which loaded or refused
        declared = local.parameters
        region = master.bucket_region(plan, ctx)
        _settle(ctx, plan, local, existing, parameters, declared)
        upload = not plan.no_execute
        published = master.publish_set(plan, architecture, region, ctx, upload)
        template_url, capabilities = published.master.url, published.capabilities
        if plan.no_execute and existing is not None:
            stale = master.missing_uploads(published, ctx)
            if stale:
                return _not_uploaded(ctx, stale)
    else:
        template_url = plan.template_url or ""
        capabilities = local.capabilities if local else master.DEFAULT_CAPABILITIES
    if plan.bucket and plan.no_execute:
        summary: dict[str, Any] = {}  # nothing uploaded: CloudFormation cannot read the set
    else:
        with api_errors("cloudformation:GetTemplateSummary"):
            summary = cfn.get_template_summary(TemplateURL=template_url)
        in_summary = {p["ParameterKey"] for p in summary.get("Parameters") or []}
        _check_declared(in_summary, parameters | _zone_parameter(plan))
        # A TEMPLATE_URL says its architecture only in its Metadata.
        master.choose_architecture(master.metadata_architecture(summary), current, plan.stack)
        if not plan.bucket:
            declared = in_summary
            _settle(ctx, plan, local, existing, parameters, declared)
    if existing is None:
        return _create(ctx, cfn, args, plan, local, template_url, capabilities, parameters, summary)
    return _update(ctx, cfn, args, plan, existing, template_url, capabilities, parameters, declared)


def _settle(
    ctx: Context,
    plan: DeployPlan,
    local: master.LocalSet | None,
    existing: dict[str, Any] | None,
    parameters: dict[str, str],
    declared: set[str],
) -> None:
    """Check the parameters, fill AvailabilityZones when the template has it, and run the
    preflight before a create: all before anything is uploaded or created."""
    _check_declared(declared, parameters | _zone_parameter(plan))
    if AVAILABILITY_ZONES_PARAMETER in declared and AVAILABILITY_ZONES_PARAMETER not in parameters:
        chosen = zones.for_deploy(ctx, plan, local, existing, parameters)
        if chosen is not None:
            parameters[AVAILABILITY_ZONES_PARAMETER] = chosen
    if existing is not None:
        return
    if local is not None:
        run_preflight(ctx, local.directory, parameters, refuse=True)
    else:
        ctx.view.message("Preflight skipped: the set is not here to count what it needs.")


def _create(
    ctx: Context,
    cfn: Any,
    args: argparse.Namespace,
    plan: DeployPlan,
    local: master.LocalSet | None,
    template_url: str,
    capabilities: tuple[str, ...],
    parameters: dict[str, str],
    summary: dict[str, Any],
) -> int:
    ctx.view.message(f"Creating stack {plan.stack} in {ctx.region} from {template_url}")
    # A TEMPLATE_URL's master may differ from the local one: only its types are known then.
    ctx.view.changes(planned_creation(local if plan.bucket else None, summary))
    if plan.no_execute:
        ctx.view.message("--no-execute: nothing uploaded, nothing created.")
        ctx.record.status = "NOT_EXECUTED"
        return 0
    values = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
    ctx.record.changing = True
    with api_errors("cloudformation:CreateStack"):
        stack_id = cfn.create_stack(
            StackName=plan.stack,
            TemplateURL=template_url,
            Parameters=values,
            Capabilities=list(capabilities),
        )["StackId"]
    ctx.record.stack_id = stack_id
    return watch_and_report(ctx, cfn, stack_id, None, args)


def _update(
    ctx: Context,
    cfn: Any,
    args: argparse.Namespace,
    plan: DeployPlan,
    existing: dict[str, Any],
    template_url: str,
    capabilities: tuple[str, ...],
    parameters: dict[str, str],
    declared: set[str],
) -> int:
    view, stack_id = ctx.view, existing["StackId"]
    values = update_parameters(parameters, declared, existing)
    change_set_id = create_change_set(cfn, plan.stack, template_url, values, capabilities)
    change_set = wait_change_set(cfn, change_set_id, ctx)
    if change_set["Status"] == "FAILED":
        reason = change_set.get("StatusReason") or ""
        discard(cfn, change_set["ChangeSetId"])
        if any(text in reason for text in NO_CHANGES):
            view.message(f"Stack {plan.stack} already matches the template and parameters.")
            view.changes([])
            view.outputs(_outputs(existing))
            return 0
        raise AwsError(f"the change set failed: {reason or 'no reason given'}")
    view.message(f"Updating stack {plan.stack} in {ctx.region} from {template_url}")
    view.changes(all_changes(cfn, change_set))
    if plan.no_execute:
        view.message(f"Change set {change_set['ChangeSetName']} left for review; nothing changed.")
        ctx.record.status = "NOT_EXECUTED"
        return 0
    boundary = newest_event_id(cfn, stack_id)
    ctx.record.changing = True
    with api_errors("cloudformation:ExecuteChangeSet"):
        cfn.execute_change_set(ChangeSetName=change_set["ChangeSetId"])
    return watch_and_report(ctx, cfn, stack_id, boundary, args)


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}


def _local_set(plan: DeployPlan, architecture: str, partition: str) -> master.LocalSet | None:
    """The local set: needed to publish; with TEMPLATE_URL, used when it is here."""
    if plan.bucket:
        return master.load_local(plan.output, partition, architecture)
    try:
        return master.load_local(plan.output, partition, architecture)
    except UsageError:
        return None


def _zone_parameter(plan: DeployPlan) -> dict[str, str]:
    return {AVAILABILITY_ZONES_PARAMETER: ",".join(plan.zones)} if plan.zones else {}


def _require_new_stack_parameters(parameters: dict[str, str]) -> None:
    missing = [n for n in (KEY_PARAMETER, CIDR_PARAMETER) if n not in parameters]
    if missing:
        flags = {KEY_PARAMETER: "KEY=<RSA key pair>", CIDR_PARAMETER: "BASTION_CIDR=<a /32>"}
        raise UsageError(
            f"a new stack needs {' and '.join(flags[n] for n in missing)} ({', '.join(missing)})"
        )


def _check_declared(declared: set[str], given: dict[str, str]) -> None:
    unknown = sorted(set(given) - declared)
    if unknown:
        raise UsageError(f"the template has no parameter {', '.join(unknown)}")


def _not_uploaded(ctx: Context, stale: list[str]) -> int:
    """--no-execute uploads nothing, and a change set can only read the set from S3."""
    ctx.view.lines(
        [
            f"--no-execute uploads nothing, and {len(stale)} object(s) in the bucket differ from "
            "the local set, so no change set can show the update:",
            *(f"  {key}" for key in stale),
            "Publish first (make publish), then deploy with --no-execute, or with TEMPLATE_URL.",
        ]
    )
    ctx.record.status = "NOT_EXECUTED"
    return 0


def planned_creation(local: master.LocalSet | None, summary: dict[str, Any]) -> list[Change]:
    """What a new stack adds: the master's resources when its text is here, else their types."""
    if local is not None:
        return [
            Change("Add", logical_id, str(resource.get("Type", "")))
            for logical_id, resource in local.master["Resources"].items()
        ]
    return [Change("Add", "", kind) for kind in summary.get("ResourceTypes") or []]

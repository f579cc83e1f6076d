"""make deploy: publish if asked, create or update the stack through a change set, follow it live,
and on failure name the first real failure however deep it sits."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.partitions import PARTITIONS
from operate.aws import (
    api_errors,
    check_caller,
    describe_stack,
    error_code,
    newest_event_id,
    outputs_of,
    partition_of,
)
from operate.context import Context
from operate.errors import AwsError, PartitionError, UsageError
from operate.events import failures
from operate.follow import follow_in_view
from operate.view import Change, failure_record
from publisher.errors import PublishError
from publisher.naming import validate_stack_name
from publisher.templates import ARCHITECTURES

REPO = Path(__file__).resolve().parents[1]
SUCCESS = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
# Stacks in these states take an update; any other settled state needs a delete or a wait first.
UPDATABLE = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
)
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
KEY_PARAMETER = "KeyPairName"
CIDR_PARAMETER = "BastionAllowedCidr"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key-pair", help="EC2 key pair name (RSA) for KeyPairName; needed to create")
    p.add_argument("--bastion-cidr", help="IPv4 block allowed to RDP to the bastion, e.g. a /32")
    p.add_argument("--bucket", help="publish the set to this bucket first and deploy that copy")
    p.add_argument("--prefix", help="key prefix inside the bucket")
    p.add_argument("--template-url", help="an already published master (without --bucket)")
    p.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        help="default: the existing stack's, else single-vpc",
    )
    p.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other master parameter (repeatable)",
    )
    p.add_argument("--output", type=Path, default=REPO / "output", help="generated templates")
    p.add_argument("--no-execute", action="store_true", help="show the changes, change nothing")


def validate(args: argparse.Namespace) -> dict[str, str]:
    """Check every input that needs no request; returns the parameters to set."""
    try:
        validate_stack_name(args.stack)
    except PublishError as error:
        raise UsageError(str(error)) from None
    if args.bucket and args.template_url:
        raise UsageError("give BUCKET (publish, then deploy) or --template-url, not both")
    if not args.bucket and not args.template_url:
        raise UsageError(
            "no template to deploy: pass BUCKET=<bucket> to publish the set and deploy it, "
            "or TEMPLATE_URL=<https URL of a published CN-GWLB.yml> (--template-url)"
        )
    parameters: dict[str, str] = {}
    for item in args.parameter:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"invalid --parameter {item!r}: expected NAME=VALUE")
        parameters[name] = value
    if args.key_pair is not None:
        if not args.key_pair.strip():
            raise UsageError("KEY is empty: give the name of an RSA EC2 key pair")
        parameters[KEY_PARAMETER] = args.key_pair
    if args.bastion_cidr is not None:
        try:
            network = ipaddress.ip_network(args.bastion_cidr, strict=True)
        except ValueError:
            raise UsageError(
                f"invalid BASTION_CIDR {args.bastion_cidr!r}: expected an IPv4 block such as "
                "203.0.113.7/32"
            ) from None
        if network.version != 4:
            raise UsageError(f"BASTION_CIDR {args.bastion_cidr} is not IPv4")
        parameters[CIDR_PARAMETER] = str(network)
    if args.template_url:
        url = urlparse(args.template_url)
        if url.scheme != "https" or not url.netloc or not url.path.strip("/"):
            raise UsageError(f"invalid --template-url {args.template_url!r}: expected https://...")
    return parameters


def template_partition(url: str) -> str | None:
    """Partition an S3 template URL points into, when its host says so."""
    host = urlparse(url).netloc
    for partition in PARTITIONS.values():
        if host.endswith(f".{partition.domain}"):
            return partition.name
    return None


_ARCHITECTURE_IN_DESCRIPTION = re.compile(r"\((" + "|".join(ARCHITECTURES) + r"),")


def architecture_of(description: str | None) -> str | None:
    """The architecture a master's Description names, e.g. '... (separated-vpc, 2 AZ, ...'."""
    found = _ARCHITECTURE_IN_DESCRIPTION.search(description or "")
    return found.group(1) if found else None


def choose_architecture(requested: str | None, existing: dict | None) -> str:
    """The architecture to deploy: an update keeps the stack's own, since deploying the other
    one would replace every nested stack, VPCs and instances included."""
    current = architecture_of(existing.get("Description")) if existing else None
    if requested and current and requested != current:
        raise UsageError(
            f"stack {existing['StackName']} is {current}; deploying {requested} would replace "
            f"it whole: leave ARCH unset, or delete the stack first"
        )
    return requested or current or ARCHITECTURES[0]


def run(args: argparse.Namespace, ctx: Context) -> int:
    parameters = validate(args)
    view = ctx.view
    if args.template_url:
        url_partition = template_partition(args.template_url)
        if url_partition and url_partition != ctx.partition:
            raise PartitionError(
                f"--template-url is in partition {url_partition}, region {ctx.region} in "
                f"{ctx.partition}"
            )
    check_caller(ctx.client("sts"), ctx.region)
    cfn = ctx.client("cloudformation")
    existing = describe_stack(cfn, args.stack)
    if existing is not None and existing["StackStatus"] not in UPDATABLE:
        raise UsageError(not_updatable(args.stack, existing["StackStatus"]))
    args.architecture = choose_architecture(args.architecture, existing)
    if existing is None:
        missing = [n for n in (KEY_PARAMETER, CIDR_PARAMETER) if n not in parameters]
        if missing:
            flags = {KEY_PARAMETER: "KEY=<RSA key pair>", CIDR_PARAMETER: "BASTION_CIDR=<a /32>"}
            raise UsageError(
                f"a new stack needs {' and '.join(flags[n] for n in missing)}"
                f" ({', '.join(missing)})"
            )
    if KEY_PARAMETER in parameters:
        check_key_pair(ctx.client("ec2"), parameters[KEY_PARAMETER], ctx.region)

    master_body = None
    if args.bucket:
        check_parameters(local_parameters(args, ctx.partition), parameters)
        plan = publish_set(args, ctx)
        template_url, capabilities = plan.master.url, plan.capabilities
        master_body = plan.master.body
    else:
        template_url, capabilities = args.template_url, local_capabilities(args, ctx.partition)
    with api_errors("cloudformation:GetTemplateSummary"):
        summary = cfn.get_template_summary(TemplateURL=template_url)
    declared = {p["ParameterKey"] for p in summary.get("Parameters") or []}
    check_parameters(declared, parameters)
    # A TEMPLATE_URL names its architecture only in its Description.
    choose_architecture(architecture_of(summary.get("Description")), existing)

    if existing is None:
        view.message(f"Creating stack {args.stack} in {ctx.region} from {template_url}")
        view.changes(planned_creation(master_body, summary))
        if args.no_execute:
            view.message("--no-execute: nothing created.")
            return 0
        values = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
        with api_errors("cloudformation:CreateStack"):
            stack_id = cfn.create_stack(
                StackName=args.stack,
                TemplateURL=template_url,
                Parameters=values,
                Capabilities=list(capabilities),
            )["StackId"]
        return watch(ctx, cfn, stack_id, None, "deploy", args)

    stack_id = existing["StackId"]
    values = update_parameters(parameters, declared, existing)
    change_set = create_change_set(cfn, args.stack, template_url, values, capabilities)
    change_set = wait_change_set(cfn, change_set, ctx)
    if change_set["Status"] == "FAILED":
        reason = change_set.get("StatusReason") or ""
        discard(cfn, change_set["ChangeSetId"])
        if any(text in reason for text in NO_CHANGES):
            view.message(f"Stack {args.stack} already matches the template and parameters.")
            view.changes([])
            view.outputs(outputs_of(existing))
            view.result(
                {
                    "operation": "deploy",
                    "status": existing["StackStatus"],
                    "ok": True,
                    "outputs": outputs_of(existing),
                }
            )
            return 0
        raise AwsError(f"the change set failed: {reason or 'no reason given'}")
    view.message(f"Updating stack {args.stack} in {ctx.region} from {template_url}")
    view.changes([Change.from_api(c) for c in change_set.get("Changes") or []])
    if args.no_execute:
        view.message(f"Change set {change_set['ChangeSetName']} left for review; nothing changed.")
        return 0
    boundary = newest_event_id(cfn, stack_id)
    with api_errors("cloudformation:ExecuteChangeSet"):
        cfn.execute_change_set(ChangeSetName=change_set["ChangeSetId"])
    return watch(ctx, cfn, stack_id, boundary, "deploy", args)


def check_parameters(declared: set[str], given: dict[str, str]) -> None:
    unknown = sorted(set(given) - declared)
    if unknown:
        raise UsageError(f"the template has no parameter {', '.join(unknown)}")


def local_parameters(args: argparse.Namespace, partition: str) -> set[str]:
    """Parameters of the local master, checked before anything is uploaded."""
    from publisher.templates import load_template_set, parse_template

    try:
        template_set = load_template_set(args.output, partition, args.architecture)
    except PublishError as error:
        raise UsageError(str(error)) from None
    master = parse_template(template_set.master.body, template_set.master.name)
    return set(master.get("Parameters") or {})


def not_updatable(stack: str, status: str) -> str:
    if status == "ROLLBACK_COMPLETE":
        return (
            f"stack {stack} is ROLLBACK_COMPLETE (its creation failed) and cannot be updated: "
            f"run `make delete STACK={stack}`, then deploy again"
        )
    if status == "REVIEW_IN_PROGRESS":
        return (
            f"stack {stack} is REVIEW_IN_PROGRESS (a change set nobody executed): "
            f"run `make delete STACK={stack}` first"
        )
    return f"stack {stack} is {status}: wait until it settles, then deploy again"


def planned_creation(master_body: bytes | None, summary: dict[str, Any]) -> list[Change]:
    """What a new stack adds: the master's resources when its text is here, else their types."""
    if master_body is not None:
        from publisher.templates import parse_template

        resources = parse_template(master_body, "master")["Resources"]
        return [
            Change("Add", logical_id, str(resource.get("Type", "")))
            for logical_id, resource in resources.items()
        ]
    return [Change("Add", "", t) for t in summary.get("ResourceTypes") or []]


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


def watch(
    ctx: Context, cfn: Any, stack_id: str, boundary: str | None, operation: str, args: Any
) -> int:
    """Follow the operation to its end, then print outputs or the failures; 0 only on success."""
    view = ctx.view
    follower, outcome = follow_in_view(ctx, cfn, stack_id, boundary, args)
    found = failures(follower.events, stack_id, follower.links)
    ok = outcome.status in SUCCESS
    if outcome.status == "TIMEOUT":
        view.message(
            f"Still {follower.root_status} after {args.timeout_minutes} min: stopped watching; "
            "the operation goes on in CloudFormation."
        )
    else:
        view.message(f"{operation}: {outcome.status} after {int(outcome.seconds)} s")
    if not ok:
        view.failures(found)
    if outcome.status == "ROLLBACK_COMPLETE":
        name = stack_id.split("/")[1] if stack_id.startswith("arn:") else stack_id
        view.message(
            f"A stack whose creation rolled back cannot be updated: `make delete STACK={name}`, "
            "fix the cause, then deploy again."
        )
    final = describe_stack(cfn, stack_id) or {}
    outputs = outputs_of(final)
    if ok:
        view.outputs(outputs)
    view.result(
        {
            "operation": operation,
            "status": outcome.status,
            "ok": ok,
            "seconds": round(outcome.seconds, 1),
            "root_cause": failure_record(found[0]) if found and not ok else None,
            "outputs": outputs if ok else {},
        }
    )
    return 0 if ok else 1


def check_key_pair(ec2: Any, name: str, region: str) -> None:
    """The key pair must exist in the region and be RSA: the bastion's Windows password is
    encrypted to it, and Windows passwords cannot be decrypted with an ED25519 key."""
    from botocore.exceptions import ClientError

    with api_errors("ec2:DescribeKeyPairs"):
        try:
            pairs = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]
        except ClientError as error:
            if error_code(error) == "InvalidKeyPair.NotFound":
                raise UsageError(f"key pair {name!r} does not exist in {region}") from None
            raise
    key_type = (pairs[0].get("KeyType") or "rsa") if pairs else "rsa"
    if key_type != "rsa":
        raise UsageError(
            f"key pair {name!r} is {key_type}: the bastion needs an RSA key pair "
            "(Windows passwords cannot be decrypted with ED25519)"
        )


def publish_set(args: argparse.Namespace, ctx: Context) -> Any:
    """Upload the set with the publisher; the bucket must be in the deploy region's partition."""
    from publisher import s3
    from publisher.run import Request, publish

    try:
        client = ctx.s3_clients(ctx.profile, ctx.region, ctx.endpoint_url)
        bucket_region = s3.find_bucket_region(client, args.bucket)
        if partition_of(bucket_region) != ctx.partition:
            raise PartitionError(
                f"bucket {args.bucket} is in {bucket_region} (partition "
                f"{partition_of(bucket_region)}), the stack goes to {ctx.region} ({ctx.partition})"
            )
        request = Request(
            bucket=args.bucket,
            output_root=args.output,
            prefix=args.prefix,
            architecture=args.architecture,
            region=bucket_region,
            profile=ctx.profile,
            endpoint_url=ctx.endpoint_url,
            stack_name=args.stack,
        )
        result = publish(request, ctx.s3_clients, progress=ctx.view.message)
    except PublishError as error:
        raise UsageError(f"publishing failed: {error}") from None
    return result.plan


def local_capabilities(args: argparse.Namespace, partition: str) -> tuple[str, ...]:
    """Capabilities the local copy of the set needs; the usual three when it is not here."""
    from publisher.templates import load_template_set

    try:
        return load_template_set(args.output, partition, args.architecture).capabilities
    except (PublishError, OSError):
        return ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


def create_change_set(
    cfn: Any,
    stack: str,
    template_url: str,
    values: list[dict[str, Any]],
    capabilities: tuple[str, ...],
) -> str:
    """Create an UPDATE change set; returns its id."""
    name = "deploy-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with api_errors("cloudformation:CreateChangeSet"):
        created = cfn.create_change_set(
            StackName=stack,
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            TemplateURL=template_url,
            Parameters=values,
            Capabilities=list(capabilities),
            Description="make deploy",
        )
    return created["Id"]


def wait_change_set(cfn: Any, change_set_id: str, ctx: Context) -> dict[str, Any]:
    """The change set once CloudFormation has computed it, all pages of changes included."""
    deadline = ctx.clock() + 600
    while True:
        with api_errors("cloudformation:DescribeChangeSet"):
            described = cfn.describe_change_set(ChangeSetName=change_set_id)
            token = described.get("NextToken")
            while token:  # a large set's changes come in pages
                more = cfn.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
                described["Changes"] = (described.get("Changes") or []) + (
                    more.get("Changes") or []
                )
                token = more.get("NextToken")
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        if ctx.clock() > deadline:
            raise AwsError(f"change set {change_set_id} not ready after 10 min")
        ctx.sleep(2)


def discard(cfn: Any, change_set_id: str) -> None:
    """Leave nothing behind: a change set that cannot run is deleted."""
    with contextlib.suppress(Exception):  # cleanup must not hide the real outcome
        cfn.delete_change_set(ChangeSetName=change_set_id)

"""The set deploy launches: the local copy (its parameters, capabilities, recorded options), the
architecture an existing stack was made with, and publishing it (or saying what would be)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from core import cfn_yaml
from core.partitions import PARTITIONS
from core.sets import ARCHITECTURES, recorded_options
from operate.aws import api_errors, partition_of
from operate.context import Context
from operate.errors import PartitionError, UsageError
from operate.plan import DeployPlan
from publisher.errors import NoSuchBucket, PublishError

# What a set that is not here needs acknowledged: it may hold IAM resources and nests stacks.
DEFAULT_CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


@dataclass(frozen=True)
class LocalSet:
    """The generated set in output/<partition>/<architecture>/, as deploy needs it."""

    directory: Path
    master: dict[str, Any]
    capabilities: tuple[str, ...]
    options: dict[str, object] = field(default_factory=dict)

    @property
    def parameters(self) -> set[str]:
        return set(self.master.get("Parameters") or {})

    @property
    def az_count(self) -> int | None:
        count = self.options.get("az_count")
        return count if isinstance(count, int) else None


def load_local(output: Path, partition: str, architecture: str) -> LocalSet:
    """The local set, read and checked by the publisher; a UsageError when it is not usable."""
    from publisher.templates import load_template_set, parse_template

    try:
        template_set = load_template_set(output, partition, architecture)
    except PublishError as error:
        raise UsageError(str(error)) from None
    master = parse_template(template_set.master.body, template_set.master.name)
    recorded = recorded_options(master)
    return LocalSet(
        template_set.directory,
        master,
        template_set.capabilities,
        recorded[1] if recorded else {},
    )


def architecture_in(template_body: object) -> str | None:
    """The architecture a master records in its Metadata (never read from its Description)."""
    if isinstance(template_body, str):
        try:
            template_body = cfn_yaml.loads(template_body)
        except yaml.YAMLError:
            return None
    recorded = recorded_options(template_body)
    return recorded[0] if recorded and recorded[0] in ARCHITECTURES else None


def metadata_architecture(summary: dict[str, Any]) -> str | None:
    """The architecture in a GetTemplateSummary's Metadata (a JSON text of the template's)."""
    text = summary.get("Metadata")
    try:
        metadata = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return architecture_in({"Metadata": metadata})


def deployed_architecture(cfn: Any, stack: str) -> str | None:
    """The architecture the existing stack's own master records."""
    with api_errors(f"cloudformation:GetTemplate {stack}"):
        body = cfn.get_template(StackName=stack, TemplateStage="Original").get("TemplateBody")
    return architecture_in(body)


def choose_architecture(requested: str | None, current: str | None, stack: str) -> str:
    """The architecture to deploy: an update keeps the stack's own, since deploying the other
    one would replace every nested stack, VPCs and instances included."""
    if requested and current and requested != current:
        raise UsageError(
            f"stack {stack} is {current}; deploying {requested} would replace "
            f"it whole: leave ARCH unset, or delete the stack first"
        )
    return requested or current or ARCHITECTURES[0]


def template_partition(url: str) -> str | None:
    """Partition an S3 template URL points into, when its host says so."""
    host = urlparse(url).netloc
    for partition in PARTITIONS.values():
        if host.endswith(f".{partition.domain}"):
            return partition.name
    return None


def bucket_region(plan: DeployPlan, ctx: Context) -> str:
    """The bucket's region, read before anything else is done with it; it must be in the deploy
    region's partition."""
    from publisher import s3

    bucket = plan.bucket or ""
    try:
        client = ctx.s3_clients(ctx.profile, ctx.region, ctx.endpoint_url)
        region = s3.find_bucket_region(client, bucket)
    except NoSuchBucket:
        raise UsageError(
            f"bucket {bucket} does not exist: create it with `make publish BUCKET={bucket} "
            f"REGION={ctx.region} ARGS=--create-bucket`, or give another BUCKET"
        ) from None
    except PublishError as error:
        raise UsageError(f"publishing failed: {error}") from None
    if partition_of(region) != ctx.partition:
        raise PartitionError(
            f"bucket {bucket} is in {region} (partition {partition_of(region)}), the stack "
            f"goes to {ctx.region} ({ctx.partition})"
        )
    return region


def publish_set(
    plan: DeployPlan, architecture: str, region: str, ctx: Context, upload: bool
) -> Any:
    """The publisher's plan for the bucket in `region`, uploaded only when `upload` (without
    it, nothing is requested)."""
    from publisher.run import Request, publish

    request = Request(
        bucket=plan.bucket or "",
        output_root=plan.output,
        prefix=plan.prefix,
        architecture=architecture,
        region=region,
        profile=ctx.profile,
        endpoint_url=ctx.endpoint_url,
        stack_name=plan.stack,
        dry_run=not upload,
    )
    if upload:
        ctx.record.changing = True  # objects in a shared bucket change from here on
    try:
        return publish(request, ctx.s3_clients, progress=ctx.view.message).plan
    except PublishError as error:
        raise UsageError(f"publishing failed: {error}") from None


def missing_uploads(plan: Any, ctx: Context) -> list[str]:
    """Keys of the publication plan whose S3 object differs from what would be uploaded."""
    from publisher import s3

    client = ctx.s3_clients(ctx.profile, plan.region, ctx.endpoint_url)
    try:
        return [u.key for u in plan.uploads if not s3.is_current(client, plan.bucket, u)]
    except PublishError as error:
        raise UsageError(f"reading the bucket failed: {error}") from None

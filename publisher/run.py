"""One publication from start to end: checks, bucket region, plan, uploads; S3 client injected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.naming import validate_stack_name
from publisher import s3
from publisher.errors import NoSuchBucket, TemplateSetError, UsageError
from publisher.naming import (
    normalize_prefix,
    partition_of,
    validate_bucket_name,
    validate_region,
)
from publisher.plan import Plan, build_plan
from publisher.templates import ARCHITECTURES, load_template_set

# (profile, region, endpoint_url) -> boto3 S3 client
ClientFactory = Callable[[str | None, str, str | None], Any]
# Region that addresses the first request when none is configured; any region of the aws
# partition answers GetBucketLocation for any bucket of that partition.
LOOKUP_REGION = "us-east-1"


@dataclass(frozen=True)
class Request:
    bucket: str
    output_root: Path
    prefix: str | None = None
    architecture: str = "single-vpc"
    region: str | None = None  # --region, else the profile's or environment's region, else None
    profile: str | None = None
    endpoint_url: str | None = None
    stack_name: str | None = None
    create_bucket: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class Result:
    plan: Plan
    uploaded: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    dry_run: bool = False


def publish(
    request: Request,
    client_factory: ClientFactory,
    progress: Callable[[str], None] = lambda line: None,
) -> Result:
    """Publish the template set for the bucket's partition; raises a PublishError on any failure.

    With dry_run nothing is requested: the bucket's region cannot be looked up, so it is the
    given (or configured) region, and whether objects changed is not known.
    """
    bucket = validate_bucket_name(request.bucket)
    prefix = normalize_prefix(request.prefix)
    if request.architecture not in ARCHITECTURES:
        raise UsageError(f"invalid architecture {request.architecture!r}: one of {ARCHITECTURES}")
    try:
        stack_name = validate_stack_name(request.stack_name or f"gwlb-{request.architecture}")
    except ValueError as error:
        raise UsageError(str(error)) from None
    if request.region is not None:
        validate_region(request.region)
        partition_of(request.region)
    if not request.output_root.is_dir():
        raise TemplateSetError(f"{request.output_root} does not exist: run `make templates` first")

    def plan_for(region: str) -> Plan:
        template_set = load_template_set(
            request.output_root, partition_of(region), request.architecture
        )
        return build_plan(
            template_set,
            bucket=bucket,
            region=region,
            prefix=prefix,
            stack_name=stack_name,
            profile=request.profile,
        )

    if request.dry_run:
        if request.region is None:
            raise UsageError(
                "--dry-run makes no request, so it cannot look up the bucket's region: "
                "pass --region (or configure a region for the profile)"
            )
        return Result(plan=plan_for(request.region), dry_run=True)

    def client_for(region: str) -> Any:
        return client_factory(request.profile, region, request.endpoint_url)

    client_region = request.region or LOOKUP_REGION
    client = client_for(client_region)
    try:
        region = s3.find_bucket_region(client, bucket)
    except NoSuchBucket:
        if not request.create_bucket:
            raise
        if request.region is None:
            raise UsageError(
                f"bucket {bucket} does not exist and --create-bucket needs --region "
                "to know where to create it"
            ) from None
        region = request.region
        plan = plan_for(region)  # a bad template set stops the run before a bucket is created
        s3.create_bucket(client, bucket, region)
        progress(f"Created bucket s3://{bucket} in {region}")
    else:
        progress(f"Bucket s3://{bucket} is in {region} (partition {partition_of(region)})")
        plan = plan_for(region)

    if region != client_region:
        # Requests are signed for the bucket's region; a China bucket also needs the China endpoint.
        client = client_for(region)
    progress(f"Publishing {plan.source_dir} to s3://{bucket}/{prefix + '/' if prefix else ''}")
    outcome = s3.execute(plan, client, progress)
    return Result(plan=plan, uploaded=tuple(outcome.uploaded), unchanged=tuple(outcome.unchanged))

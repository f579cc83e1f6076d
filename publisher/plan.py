"""Turns a checked template set into a publication plan: keys, bodies, URLs, launch commands."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path

from publisher.errors import PartitionMismatch, TemplateSetError
from publisher.naming import (
    MAX_TEMPLATE_URL_LENGTH,
    launch_url,
    master_key,
    nested_key,
    object_url,
    partition_of,
)
from publisher.templates import TemplateSet, rewrite_master


@dataclass(frozen=True)
class Upload:
    """One object to put: where it comes from, where it goes, and exactly what goes there."""

    source: str
    key: str
    url: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Plan:
    bucket: str
    region: str
    partition: str
    architecture: str
    source_dir: Path
    nested: tuple[Upload, ...]
    master: Upload
    stack_name: str
    capabilities: tuple[str, ...]
    launch_url: str
    create_stack_command: str

    @property
    def uploads(self) -> tuple[Upload, ...]:
        """Nested templates first, the master last: a master never points at missing objects."""
        return (*self.nested, self.master)


def build_plan(
    template_set: TemplateSet,
    *,
    bucket: str,
    region: str,
    prefix: str,
    stack_name: str,
    profile: str | None = None,
) -> Plan:
    """Plan the publication of `template_set` to `bucket` in `region`; makes no request."""
    partition = partition_of(region)
    if template_set.partition != partition:
        raise PartitionMismatch(
            f"the {template_set.partition} template set cannot go to bucket {bucket} in {region} "
            f"(partition {partition})"
        )
    arch = template_set.architecture
    nested = tuple(
        Upload(
            source=item.name,
            key=(key := nested_key(prefix, arch, item.name, item.sha256)),
            url=object_url(bucket, region, key),
            body=item.body,
        )
        for item in template_set.nested
    )
    key = master_key(prefix, arch)
    master_url = object_url(bucket, region, key)
    for url in (master_url, *(n.url for n in nested)):
        if len(url) > MAX_TEMPLATE_URL_LENGTH:
            raise TemplateSetError(f"template URL longer than 1024 characters: {url[:80]}...")
    master = Upload(
        source=template_set.master.name,
        key=key,
        url=master_url,
        body=rewrite_master(template_set.master.body, {n.source: n.url for n in nested}),
    )
    return Plan(
        bucket=bucket,
        region=region,
        partition=partition,
        architecture=arch,
        source_dir=template_set.directory,
        nested=nested,
        master=master,
        stack_name=stack_name,
        capabilities=template_set.capabilities,
        launch_url=launch_url(region, master_url, stack_name),
        create_stack_command=create_stack_command(
            region=region,
            stack_name=stack_name,
            template_url=master_url,
            capabilities=template_set.capabilities,
            parameters=template_set.parameters_without_default,
            profile=profile,
        ),
    )


def create_stack_command(
    *,
    region: str,
    stack_name: str,
    template_url: str,
    capabilities: tuple[str, ...],
    parameters: tuple[str, ...] = (),
    profile: str | None = None,
) -> str:
    """The equivalent `aws cloudformation create-stack`, shell-quoted; parameters the master has
    no default for get a REPLACE_ME value the user must fill in."""
    words = ["aws", "cloudformation", "create-stack"]
    if profile:
        words += ["--profile", profile]
    words += ["--region", region, "--stack-name", stack_name, "--template-url", template_url]
    if capabilities:
        words += ["--capabilities", *capabilities]
    if parameters:
        words += [
            "--parameters",
            *(f"ParameterKey={p},ParameterValue=REPLACE_ME" for p in parameters),
        ]
    return " ".join(shlex.quote(word) for word in words)


def describe(plan: Plan) -> list[str]:
    """Lines that show the plan: what goes where, and how to launch it."""
    lines = [
        f"Template set: {plan.source_dir} (partition {plan.partition})",
        f"Bucket: s3://{plan.bucket} in {plan.region}",
        "Objects, in upload order (all private):",
    ]
    width = max(len(upload.source) for upload in plan.uploads)
    for upload in plan.uploads:
        lines.append(f"  {upload.source:<{width}} -> {upload.key}")
        lines.append(f"  {'':<{width}}    {upload.url}")
    lines += launch_lines(plan)
    return lines


def launch_lines(plan: Plan) -> list[str]:
    capabilities = ", ".join(plan.capabilities) or "none"
    return [
        f"Capabilities to acknowledge: {capabilities}",
        "Launch in the console (quick-create):",
        f"  {plan.launch_url}",
        "Or with the AWS CLI:",
        f"  {plan.create_stack_command}",
    ]

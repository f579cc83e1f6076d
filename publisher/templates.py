"""Reads and checks one generated template set, derives its capabilities, rewrites its master."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core import cfn_yaml
from core.sets import ARCHITECTURES as ARCHITECTURES
from core.sets import MAX_TEMPLATE_BYTES, NESTED_GLOB, STACK_TYPE
from publisher.errors import TemplateSetError
from publisher.naming import MASTER_NAME, PARTITIONS
from verify import files as set_files
from verify.contract import unused_files
from verify.errors import SetError

# IAM resource types that need CAPABILITY_IAM, and the properties that give them a custom name
# (a custom name needs CAPABILITY_NAMED_IAM instead).
_IAM_NAME_PROPERTIES = {
    "AWS::IAM::AccessKey": (),
    "AWS::IAM::Group": ("GroupName",),
    "AWS::IAM::InstanceProfile": ("InstanceProfileName",),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName",),
    "AWS::IAM::Policy": (),
    "AWS::IAM::Role": ("RoleName",),
    "AWS::IAM::User": ("UserName",),
    "AWS::IAM::UserToGroupAddition": (),
}
# One TemplateURL on its own line, as troposphere's to_yaml() writes it; quotes are tolerated.
_TEMPLATE_URL_LINE = re.compile(
    r"^(?P<head>[ \t]+TemplateURL:[ \t]*)(?P<q>['\"]?)(?P<value>[^'\"\s#]+)(?P=q)"
    r"(?P<tail>[ \t]*\r?)$",
    re.MULTILINE,
)


def parse_template(body: bytes, name: str) -> dict[str, Any]:
    """Parse a YAML template into plain data, or raise TemplateSetError naming the file."""
    try:
        data = cfn_yaml.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TemplateSetError(f"{name} is not a readable YAML template: {first_line}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateSetError(f"{name} is not a CloudFormation template (no Resources mapping)")
    return data


def nested_stacks(template: dict[str, Any], name: str) -> dict[str, str]:
    """Logical id -> TemplateURL of each nested stack; each URL must be a plain string."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != STACK_TYPE:
            continue
        url = (resource.get("Properties") or {}).get("TemplateURL")
        if not isinstance(url, str):
            raise TemplateSetError(
                f"{name}: nested stack {logical_id} has no plain TemplateURL to rewrite"
            )
        found[logical_id] = url
    return found


def required_capabilities(templates: list[dict[str, Any]]) -> list[str]:
    """Capabilities a create-stack of the master must acknowledge, from all templates of the set.

    The root stack acknowledges for its nested stacks, so IAM resources anywhere count.
    CAPABILITY_AUTO_EXPAND is strictly needed for macros (Transform); the console also asks for it
    whenever a template nests stacks, so it is listed then too (acknowledging it is harmless).
    """
    iam = named_iam = expand = False
    for template in templates:
        if "Transform" in template or _mentions_key(template, "Fn::Transform"):
            expand = True
        for resource in template["Resources"].values():
            if not isinstance(resource, dict):
                continue
            kind = resource.get("Type")
            if kind == STACK_TYPE:
                expand = True
            if kind in _IAM_NAME_PROPERTIES:
                iam = True
                properties = resource.get("Properties") or {}
                if any(p in properties for p in _IAM_NAME_PROPERTIES[kind]):
                    named_iam = True
    capabilities = []
    if named_iam:
        capabilities.append("CAPABILITY_NAMED_IAM")
    elif iam:
        capabilities.append("CAPABILITY_IAM")
    if expand:
        capabilities.append("CAPABILITY_AUTO_EXPAND")
    return capabilities


def _mentions_key(value: Any, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(_mentions_key(v, key) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_key(v, key) for v in value)
    return False


@dataclass(frozen=True)
class TemplateFile:
    name: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class TemplateSet:
    """One checked output/<partition>/<architecture>/ directory."""

    partition: str
    architecture: str
    directory: Path
    master: TemplateFile
    nested: tuple[TemplateFile, ...]  # sorted by name
    capabilities: tuple[str, ...]
    parameters_without_default: tuple[str, ...]


def load_template_set(output_root: Path, partition: str, architecture: str) -> TemplateSet:
    """Read and check output/<partition>/<architecture>/; never writes to it."""
    if partition not in PARTITIONS:
        raise TemplateSetError(f"unknown partition {partition!r}")
    if architecture not in ARCHITECTURES:
        raise TemplateSetError(f"unknown architecture {architecture!r}")
    directory = output_root / partition / architecture
    master_path = directory / MASTER_NAME
    if not master_path.is_file():
        raise TemplateSetError(
            f"no generated templates at {master_path}: run `make templates` first"
        )
    master = TemplateFile(MASTER_NAME, _read(master_path))
    master_data = parse_template(master.body, MASTER_NAME)
    references = nested_stacks(master_data, MASTER_NAME)

    on_disk = {p.name for p in directory.glob(NESTED_GLOB) if p.is_file()}
    for logical_id, file_name in sorted(references.items()):
        # The publisher rewrites plain file names only; the set reader matches any URL form.
        if "/" in file_name or "\\" in file_name or file_name not in on_disk:
            raise TemplateSetError(
                f"{MASTER_NAME}: nested stack {logical_id} refers to {file_name!r}, "
                f"which is not a Nested-*.yml file in {directory}: run `make templates`"
            )
    nested = tuple(TemplateFile(n, _read(directory / n)) for n in sorted(on_disk))
    parsed = [master_data]
    for item in nested:
        data = parse_template(item.body, item.name)
        if nested_stacks(data, item.name):
            raise TemplateSetError(
                f"{item.name} nests stacks itself; only the master's nested stacks are published"
            )
        parsed.append(data)

    try:
        unreferenced = unused_files(set_files.load(directory, master=MASTER_NAME))
    except SetError as error:
        raise TemplateSetError(str(error)) from None
    if unreferenced:
        raise TemplateSetError(
            f"{', '.join(unreferenced)} in {directory} not referenced by {MASTER_NAME} "
            "(stale output?): run `make templates`"
        )

    parameters = master_data.get("Parameters") or {}
    without_default = tuple(
        name
        for name, spec in parameters.items()
        if not (isinstance(spec, dict) and "Default" in spec)
    )
    return TemplateSet(
        partition=partition,
        architecture=architecture,
        directory=directory,
        master=master,
        nested=nested,
        capabilities=tuple(required_capabilities(parsed)),
        parameters_without_default=without_default,
    )


def _read(path: Path) -> bytes:
    body = path.read_bytes()
    if len(body) > MAX_TEMPLATE_BYTES:
        raise TemplateSetError(f"{path} is larger than CloudFormation's 1 MB template limit")
    return body


def rewrite_master(master: bytes, url_by_file: dict[str, str]) -> bytes:
    """Replace each nested TemplateURL value by its URL; every other byte stays as it was.

    The rewrite is textual so the uploaded master is the committed file plus URLs; it is then
    parsed back and compared with the original, so a line the pattern misread cannot slip through.
    """
    text = master.decode("utf-8")
    original = parse_template(master, MASTER_NAME)
    expected_urls = nested_stacks(original, MASTER_NAME)
    replaced = []

    def substitute(match: re.Match[str]) -> str:
        value = match.group("value")
        if value not in url_by_file:
            return match.group(0)
        replaced.append(value)
        return f"{match.group('head')}{url_by_file[value]}{match.group('tail')}"

    rewritten = _TEMPLATE_URL_LINE.sub(substitute, text)
    if sorted(replaced) != sorted(expected_urls.values()):
        raise TemplateSetError(
            f"{MASTER_NAME}: found {len(replaced)} TemplateURL lines to rewrite for "
            f"{len(expected_urls)} nested stacks; expected one `TemplateURL: <file>` line each"
        )
    result = rewritten.encode("utf-8")
    check = parse_template(result, MASTER_NAME)
    for logical_id, file_name in expected_urls.items():
        original["Resources"][logical_id]["Properties"]["TemplateURL"] = url_by_file[file_name]
    if check != original:
        raise TemplateSetError(f"{MASTER_NAME}: rewriting TemplateURLs changed more than the URLs")
    return result

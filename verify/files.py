"""Finds a set's templates on disk: which one is the master (the one no other template nests, or
the one named), and which file each nested stack's TemplateURL means, whatever the URL's form."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core import cfn_yaml
from core.sets import MASTER_FILE, STACK_TYPE
from verify.errors import SetError

TEMPLATE_SUFFIXES = (".yml", ".yaml", ".json", ".template")


@dataclass
class SetFiles:
    """A set as parsed templates: the master's file name, every file, and each nested stack's
    file (by the master's logical ID of the stack)."""

    master: str
    templates: dict[str, dict]
    nested: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    # Stacks whose TemplateURL names no file of the set: logical ID -> what is wrong.
    broken: dict[str, str] = field(default_factory=dict)

    @property
    def master_body(self) -> dict:
        return self.templates[self.master]


def url_file_name(url: object) -> str | None:
    """The file a TemplateURL names: its last path segment, whether the URL is a file name, an
    S3 URL, or an Fn::Sub / Fn::Join that builds one. None when no name can be seen."""
    if isinstance(url, dict) and len(url) == 1:
        ((fn, arg),) = url.items()
        if fn == "Fn::Sub":
            url = arg[0] if isinstance(arg, list) else arg
        elif fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = arg[1] if isinstance(arg[1], list) else []
            url = "".join(p if isinstance(p, str) else "/" for p in parts)
        else:
            return None
    if not isinstance(url, str):
        return None
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name or None


def _stacks(body: dict) -> dict[str, dict]:
    resources = body.get("Resources") if isinstance(body, dict) else None
    if not isinstance(resources, dict):
        return {}
    return {
        k: r for k, r in resources.items() if isinstance(r, dict) and r.get("Type") == STACK_TYPE
    }


def _parse(directory: Path) -> tuple[dict[str, dict], dict[str, int]]:
    templates, sizes = {}, {}
    for path in sorted(directory.iterdir()):
        if path.suffix not in TEMPLATE_SUFFIXES or not path.is_file():
            continue
        try:
            body = cfn_yaml.load(path)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SetError(f"{path.name}: not a readable template: {first}") from None
        if isinstance(body, dict) and isinstance(body.get("Resources"), dict):
            templates[path.name] = body
            sizes[path.name] = path.stat().st_size
    return templates, sizes


def _choose_master(templates: dict[str, dict], nested_names: set[str], directory: Path) -> str:
    roots = [name for name in templates if name not in nested_names]
    if MASTER_FILE in roots:
        return MASTER_FILE
    nesting = [name for name in roots if _stacks(templates[name])]
    if len(roots) == 1:
        return roots[0]
    if len(nesting) == 1:
        return nesting[0]
    raise SetError(
        f"{directory}: {len(roots)} templates are nested by no other one "
        f"({', '.join(sorted(roots)[:4])}); name the master with --master FILE"
    )


def load(directory: Path, master: str | None = None) -> SetFiles:
    """Parse every template of a set directory and wire its nested stacks to files."""
    if not directory.is_dir():
        raise SetError(f"{directory}: no such directory")
    templates, sizes = _parse(directory)
    if not templates:
        raise SetError(f"{directory}: holds no CloudFormation template")
    if master is not None and master not in templates:
        raise SetError(f"{directory}: --master {master} is not a template of the set")
    names = {
        url_file_name(r.get("Properties", {}).get("TemplateURL"))
        for body in templates.values()
        for r in _stacks(body).values()
    }
    chosen = master or _choose_master(templates, {n for n in names if n}, directory)
    return _wire(SetFiles(chosen, templates, sizes=sizes))


def _wire(files: SetFiles) -> SetFiles:
    """Match each of the master's stacks to a file; what matches none is recorded as broken."""
    for logical, resource in _stacks(files.master_body).items():
        url = resource.get("Properties", {}).get("TemplateURL")
        name = url_file_name(url)
        if name is None:
            files.broken[logical] = f"{files.master}: {logical}: TemplateURL {url!r} names no file"
        elif name not in files.templates or name == files.master:
            files.broken[logical] = (
                f"{files.master}: {logical}: TemplateURL names {name}, not a file of the set"
            )
        else:
            files.nested[logical] = name
    return files


def from_templates(templates: dict[str, dict], master: str = MASTER_FILE) -> SetFiles:
    """A set already parsed in memory ({file name: template})."""
    if master not in templates:
        raise SetError(f"{master}: missing from the set")
    return _wire(SetFiles(master, templates))

"""The cross-template contract of a rendered set: what the master passes to each nested stack,
with which types, and which outputs it reads back. cfn-lint checks each template alone; a set
can lint clean and still fail at launch (an SSM-typed value handed to an SSM-typed nested
parameter is looked up a second time, as a parameter name), so this checks the set as a whole.

Run: python -m verify.contract DIR [DIR ...]   (exit 1 and one line per finding; 2 for a set
that cannot be read)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

from core import naming
from core.sets import MAX_TEMPLATE_BYTES, TEMPLATE_LIMITS
from verify import contract_transit, reader, timeouts
from verify import files as set_files
from verify.errors import SetError
from verify.evaluate import evaluate

SSM_TYPE = re.compile(r"^AWS::SSM::Parameter::Value<(?P<inner>.+)>$")


def value_type(master_type: str) -> str:
    """The type of what a Ref to a master parameter yields: SSM-typed parameters yield the value
    they resolved to (e.g. an AMI id), not the Parameter Store name."""
    match = SSM_TYPE.match(master_type)
    return match["inner"] if match else master_type


def compatible(given: str, declared: str) -> bool:
    """Whether a value of type `given` may feed a nested parameter declared `declared`."""
    if SSM_TYPE.match(declared):
        return False  # the nested stack would look the value up again as a parameter name
    if declared == "String" or given == declared:
        return True
    # A plain string (a nested output, a pseudo parameter) is checked by the AWS-specific type.
    return given == "String" and declared.startswith("AWS::")


def check(templates: dict[str, dict], sizes: dict[str, int] | None = None) -> list[str]:
    """Findings for one of our sets held in memory: {file: parsed template}."""
    try:
        files = set_files.from_templates(templates)
    except SetError as exc:
        return [str(exc)]
    files.sizes = sizes or {}
    return check_set(files)


def check_set(files: set_files.SetFiles) -> list[str]:
    """Findings for one set: what the master passes, what it reads back, what is left over."""
    templates, master = files.templates, files.master_body
    findings = list(_ssm_types_only_in_master(templates, files.master))
    findings += files.broken.values()
    stacks = {k: r for k, r in master.get("Resources", {}).items() if k in files.nested}
    for logical, stack in stacks.items():
        findings += _check_parameters(logical, stack, master, templates[files.nested[logical]])
    findings += _check_output_reads(master, {k: templates[f] for k, f in files.nested.items()})
    findings += [f"{name}: no stack of the master uses this file" for name in unused_files(files)]
    findings += _check_limits(templates, files.sizes)
    if not findings:  # a set that breaks the contract is not evaluated further
        stacks = evaluate(files)
        model = reader.read(stacks)
        findings += timeouts.problems(model)
        findings += contract_transit.problems(stacks, model)
    return findings


def unused_files(files: set_files.SetFiles) -> list[str]:
    """Templates of the set that neither are the master nor back a stack of it."""
    return sorted(set(files.templates) - set(files.nested.values()) - {files.master})


def _ssm_types_only_in_master(templates: dict[str, dict], master: str) -> Iterator[str]:
    for name, body in templates.items():
        if name == master:
            continue
        for pname, param in body.get("Parameters", {}).items():
            if SSM_TYPE.match(param.get("Type", "")):
                yield f"{name}: parameter {pname} has SSM type {param['Type']} (master only)"


def _check_parameters(logical: str, stack: dict, master: dict, nested: dict) -> Iterator[str]:
    passed = stack.get("Properties", {}).get("Parameters", {})
    declared = nested.get("Parameters", {})
    for name in sorted(set(passed) - set(declared)):
        yield f"{logical}: passes {name}, which the nested template does not declare"
    for name in sorted(set(declared) - set(passed)):
        if "Default" not in declared[name]:
            yield f"{logical}: nested parameter {name} has no default and is not passed"
    master_params = master.get("Parameters", {})
    for name in sorted(set(passed) & set(declared)):
        given = _given_type(passed[name], master_params, master.get("Resources", {}))
        want = declared[name].get("Type", "String")
        if given is None:
            yield f"{logical}: {name} is fed by {passed[name]!r}, which the master does not define"
        elif not compatible(given, want):
            yield f"{logical}: {name} is given a value of type {given} but is declared {want}"


def _given_type(value, master_params: dict, master_resources: dict) -> str | None:
    """Type of the value a master expression yields; None for a Ref to nothing."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        ref = value["Ref"]
        if ref.startswith("AWS::") or ref in master_resources:
            return "String"  # a pseudo parameter, or the ID of a resource the master holds
        if ref in master_params:
            return value_type(master_params[ref].get("Type", "String"))
        return None
    return "String"  # GetAtt of a nested output, Sub, Join: a string


def _check_output_reads(master: dict, nested_of: dict[str, dict]) -> Iterator[str]:
    for stack, output in sorted(set(_output_reads(master))):
        if stack not in nested_of:
            continue  # a GetAtt of some other resource; cfn-lint checks those
        if output not in nested_of[stack].get("Outputs", {}):
            yield f"master reads {stack}.Outputs.{output}, which that template does not output"


def _output_reads(node) -> Iterator[tuple[str, str]]:
    if isinstance(node, list):
        for item in node:
            yield from _output_reads(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::GetAtt" and isinstance(value, list) and len(value) == 2:
                output = naming.parse_nested_output_attribute(str(value[1]))
                if output is not None:
                    yield str(value[0]), output
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                yield from naming.sub_output_reads(str(text))
            yield from _output_reads(value)


def _check_limits(templates: dict[str, dict], sizes: dict[str, int]) -> Iterator[str]:
    for name, body in templates.items():
        for section, limit in TEMPLATE_LIMITS.items():
            count = len(body.get(section, {}))
            if count > limit:
                yield f"{name}: {count} {section.lower()}, over CloudFormation's {limit}"
        size = sizes.get(name, 0)
        if size > MAX_TEMPLATE_BYTES:
            yield f"{name}: {size} bytes, over the {MAX_TEMPLATE_BYTES} bytes CloudFormation reads"


def check_directory(directory: Path, master: str | None = None) -> list[str]:
    return check_set(set_files.load(directory, master))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    master = None
    if len(args) >= 2 and args[0] == "--master":
        master, args = args[1], args[2:]
    if not args:
        print("usage: python -m verify.contract [--master FILE] DIR [DIR ...]", file=sys.stderr)
        return 2
    failed = False
    for arg in args:
        directory = Path(arg)
        try:
            findings = check_directory(directory, master)
        except SetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for finding in findings:
            print(f"{directory}: {finding}")
        failed = failed or bool(findings)
        if not findings:
            print(f"{directory}: contract holds")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The values a template's parameters take when it is read: those given on the command line,
checked as CloudFormation checks them, else the defaults."""

from __future__ import annotations

from collections.abc import Callable

from verify.errors import SetError


def parameter_values(
    body: dict, given: dict[str, object], unresolved: Callable[[str], object]
) -> dict[str, object]:
    """A template's parameter values: given ones (within its AllowedValues, as CloudFormation
    demands), else defaults, else unknown until launch (`unresolved` makes that value)."""
    declared = body.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise SetError(f"--parameter {unknown[0]}: the master declares no such parameter")
    values: dict[str, object] = {}
    for name, spec in declared.items():
        value = given.get(name, spec.get("Default"))
        allowed = spec.get("AllowedValues")
        if name in given and allowed and value not in [str(a) for a in allowed]:
            raise SetError(f"--parameter {name}={value}: allowed values are {', '.join(allowed)}")
        if value is None:  # required, with no value: fine until something needs it
            value = unresolved(f"<{name}>")
        elif str(spec.get("Type", "")).startswith("List<") or spec.get("Type") == (
            "CommaDelimitedList"
        ):
            value = [v.strip() for v in str(value).split(",")]
        values[name] = value
    return values

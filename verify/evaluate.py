"""Evaluates a set as CloudFormation would wire it: parameters (defaults or given), Conditions and
Fn::If, Mappings, nested stacks' outputs into their users' parameters, and symbolic physical IDs
("Stack/Logical") for every resource. A construct it cannot evaluate becomes an Unresolved
value, which the reader turns into one error line when (and only when) it needs that value."""

from __future__ import annotations

import re
from collections.abc import Iterator

from core import naming
from verify.cidr import fn_cidr
from verify.errors import SetError
from verify.files import SetFiles
from verify.ipv6_values import Ipv6Blocks, vpc_ipv6_blocks
from verify.launch_values import parameter_values

MASTER_STACK = "Master"
# What Fn::GetAZs yields: names that stand for the region's zones, in order.
AZ_NAMES = tuple(f"az{i}" for i in range(6))
# A ${Name} or ${Name.Attribute} in Fn::Sub text.
SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


# GetAtt attributes that are one of the resource's own properties, so known before launch.
_ATTRIBUTE_PROPERTIES = {
    ("AWS::EC2::Subnet", "CidrBlock"): "CidrBlock",
    ("AWS::EC2::VPC", "CidrBlock"): "CidrBlock",
    ("AWS::EC2::Subnet", "AvailabilityZone"): "AvailabilityZone",
    ("AWS::EC2::Subnet", "VpcId"): "VpcId",
}


def attribute_value(ref: str, attribute: str) -> str:
    """What Fn::GetAtt of an attribute known only at launch (an instance's PrivateIp) evaluates
    to: one symbolic string per resource and attribute, which readers may match back."""
    return f"{ref}.{attribute}"


class Unresolved(str):
    """A value the reader cannot know offline (Fn::ImportValue, an unknown pseudo parameter)."""


class _NoValue:
    """AWS::NoValue: the property is removed."""


NO_VALUE = _NoValue()


class _Pending(Exception):
    """A nested stack's output that is not evaluated yet."""


class Stack:
    """One template instance with its parameter values: evaluates any part of it."""

    def __init__(
        self,
        name: str,
        file: str,
        body: dict,
        params: dict[str, object],
        outputs: dict[str, dict[str, object]] | None = None,
        ipv6: Ipv6Blocks | None = None,
    ):
        self.name, self.file, self.body, self.params = name, file, body, params
        self.ipv6 = ipv6 if ipv6 is not None else Ipv6Blocks()
        self._outputs = outputs if outputs is not None else {}
        self._conditions: dict[str, bool] = {}
        # Conditions may Ref resources; they are judged against the whole list, then it shrinks.
        self.resources = body.get("Resources", {})
        self.resources = {
            k: r for k, r in self.resources.items() if self.condition(r.get("Condition"), k)
        }

    def ref(self, logical: str) -> str:
        return naming.resource_ref(self.name, logical)

    def condition(self, name: object, where: str = "") -> bool:
        if name is None:
            return True
        if not isinstance(name, str) or name not in self.body.get("Conditions", {}):
            raise SetError(f"{self.file}: {where}: condition {name!r} is not defined")
        if name not in self._conditions:
            self._conditions[name] = False  # a condition that names itself is false, not a loop
            self._conditions[name] = bool(self._truth(self.body["Conditions"][name], name))
        return self._conditions[name]

    def _truth(self, node: object, where: str) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Condition":
                return self.condition(arg, where)
            if fn == "Fn::Equals":
                left, right = (self.eval(a) for a in arg)
                return str(left) == str(right)
            if fn == "Fn::Not":
                return not self._truth(arg[0], where)
            if fn == "Fn::And":
                return all(self._truth(a, where) for a in arg)
            if fn == "Fn::Or":
                return any(self._truth(a, where) for a in arg)
        raise SetError(f"{self.file}: condition {where}: cannot evaluate {node!r}")

    def eval(self, value: object) -> object:
        """The value CloudFormation would pass, with symbolic IDs for resources."""
        if isinstance(value, list):
            return [v for v in (self.eval(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref", "Condition")):
            evaluated = {k: self.eval(v) for k, v in value.items()}
            return {k: v for k, v in evaluated.items() if v is not NO_VALUE}
        ((fn, arg),) = value.items()
        handler = _FUNCTIONS.get(fn)
        if handler is None:
            return Unresolved(f"<{fn}>")
        return handler(self, arg)

    def _ref(self, arg: str) -> object:
        if arg in self.params:
            return self.params[arg]
        if arg == "AWS::NoValue":
            return NO_VALUE
        if arg == "AWS::StackName":
            return self.name
        if arg in self.resources:
            return self.ref(arg)
        if isinstance(arg, str) and arg.startswith("AWS::"):
            return Unresolved(f"<{arg}>")  # a pseudo parameter known only at launch
        # CloudFormation refuses the template before it creates anything.
        raise SetError(
            f"{self.file}: Template format error: Unresolved resource dependencies [{arg}] in "
            "the Resources block of the template"
        )

    def _getatt(self, arg: object) -> object:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        resource, attribute = (self.eval(a) for a in arg)
        if str(attribute).startswith("Outputs.") and resource in self._outputs:
            outputs = self._outputs[resource]
            if outputs is None:
                raise _Pending(resource)
            key = str(attribute).removeprefix("Outputs.")
            if key not in outputs:
                raise SetError(f"{self.file}: reads {resource}.{attribute}, which is no output")
            return outputs[key]
        if attribute == "Ipv6CidrBlocks" and str(resource) in self.resources:
            return vpc_ipv6_blocks(self, str(resource), self.ipv6)
        property_name = _ATTRIBUTE_PROPERTIES.get(
            (self.resources.get(str(resource), {}).get("Type"), str(attribute))
        )
        if property_name is not None:
            return self.eval(self.resources[str(resource)].get("Properties", {}).get(property_name))
        return attribute_value(self.ref(str(resource)), str(attribute))

    def _sub(self, arg: object) -> object:
        text, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
        values = {k: self.eval(v) for k, v in dict(variables).items()}

        def one(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and name.split(".", 1)[0] not in self.params:
                return str(self._getatt(name.split(".", 1)))
            return str(self._ref(name))

        return SUB_VARIABLE.sub(one, str(text))

    def _select(self, arg: list) -> object:
        index, items = self.eval(arg[0]), self.eval(arg[1])
        if isinstance(items, str) and not isinstance(items, Unresolved):
            items = items.split(",")
        if not isinstance(items, list):
            return Unresolved("<Fn::Select>")
        return items[int(index)]

    def _find_in_map(self, arg: list) -> object:
        mapping, first, second = (self.eval(a) for a in arg)
        try:
            return self.body["Mappings"][mapping][first][second]
        except (KeyError, TypeError):
            raise SetError(f"{self.file}: Fn::FindInMap {arg!r} names no entry") from None

    def props(self, logical: str) -> dict:
        """The evaluated Properties of one resource."""
        value = self.eval(self.resources[logical].get("Properties", {}))
        return value if isinstance(value, dict) else {}

    def of_type(self, type_: str) -> list[str]:
        return [k for k, r in self.resources.items() if r.get("Type") == type_]

    def outputs(self) -> dict[str, object]:
        return {
            k: self.eval(o.get("Value"))
            for k, o in self.body.get("Outputs", {}).items()
            if self.condition(o.get("Condition"), f"output {k}")
        }


_FUNCTIONS = {
    "Ref": Stack._ref,
    "Condition": lambda s, a: s.condition(a, "Condition"),
    "Fn::If": lambda s, a: s.eval(a[1] if s.condition(a[0], "Fn::If") else a[2]),
    "Fn::GetAtt": Stack._getatt,
    "Fn::Sub": Stack._sub,
    "Fn::Select": Stack._select,
    "Fn::FindInMap": Stack._find_in_map,
    "Fn::GetAZs": lambda s, a: list(AZ_NAMES),
    "Fn::Cidr": lambda s, a: fn_cidr(s.file, [s.eval(x) for x in a]),
    "Fn::Join": lambda s, a: str(s.eval(a[0])).join(str(i) for i in s.eval(a[1])),
    "Fn::Split": lambda s, a: str(s.eval(a[1])).split(str(s.eval(a[0]))),
    # The text itself: readers want user data, not its encoding.
    "Fn::Base64": lambda s, a: s.eval(a),
    "Fn::Equals": lambda s, a: s._truth({"Fn::Equals": a}, "Fn::Equals"),
}


# What evaluating a malformed template raises; readers turn it into one SetError line.
READ_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError)


def _why(exc: Exception) -> str:
    return f"cannot evaluate ({type(exc).__name__}: {exc})"


def evaluate(files: SetFiles, parameters: dict[str, str] | None = None) -> list[Stack]:
    """The master and every nested stack, parameters resolved, inputs before their users."""
    if files.broken:
        raise SetError(next(iter(files.broken.values())))
    body = files.master_body
    outputs: dict[str, dict[str, object] | None] = {k: None for k in files.nested}
    try:
        master = Stack(
            MASTER_STACK,
            files.master,
            body,
            parameter_values(body, parameters or {}, Unresolved),
            outputs,
        )
    except SetError:
        raise
    except READ_ERRORS as exc:
        raise SetError(f"{files.master}: {_why(exc)}") from None
    pending = {k: master.resources[k] for k in files.nested if k in master.resources}
    stacks = [master]
    while pending:
        progressed = False
        for logical, resource in list(pending.items()):
            try:
                params = master.eval(resource.get("Properties", {}).get("Parameters", {}))
            except _Pending:
                continue
            except SetError:
                raise
            except READ_ERRORS as exc:
                raise SetError(f"{files.master}: {logical}: Parameters: {_why(exc)}") from None
            nested = files.nested[logical]
            if not isinstance(params, dict):
                raise SetError(f"{files.master}: {logical}: Parameters is not a mapping")
            try:
                body = files.templates[nested]
                values = {**parameter_values(body, {}, Unresolved), **params}
                stack = Stack(logical, nested, body, values, ipv6=master.ipv6)
                outputs[logical] = stack.outputs()
            except SetError:
                raise
            except READ_ERRORS as exc:
                raise SetError(f"{nested}: as {logical}: {_why(exc)}") from None
            stacks.append(stack)
            del pending[logical]
            progressed = True
        if not progressed:
            raise SetError(f"{files.master}: nested stacks wait on each other: {sorted(pending)}")
    return stacks


def each(stacks: list[Stack], type_: str) -> Iterator[tuple[Stack, str]]:
    """Every resource of one type across the set, as (stack, logical ID)."""
    for stack in stacks:
        for logical in stack.of_type(type_):
            yield stack, logical

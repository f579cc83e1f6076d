"""What every part of the set reader shares: the evaluated stacks, the model being built, each
resource of a type with its evaluated properties, and the checks that turn a value the reader
needs but cannot use into one SetError line naming the template and resource."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator

from core import naming
from verify.errors import SetError
from verify.evaluate import Stack, Unresolved
from verify.model import SetModel


class ReadContext:
    """The stacks being read, the model being built, and where reading is (for error lines)."""

    def __init__(self, stacks: list[Stack]):
        self.stacks = stacks
        self.model = SetModel()
        self.model.labels = _labels(stacks)

    def each(self, type_: str) -> Iterator[tuple[str, str, dict]]:
        """(logical ID, resource id, evaluated properties) of every resource of one type."""
        for stack in self.stacks:
            for logical in stack.of_type(type_):
                self.where = f"{stack.file}: {logical}"
                yield logical, stack.ref(logical), stack.props(logical)

    def resource(self, ident: str) -> tuple[Stack, str]:
        name, logical = naming.parse_resource_ref(str(ident))
        for stack in self.stacks:
            if stack.name == name and logical in stack.resources:
                return stack, logical
        raise SetError(f"{self.where}: {ident} is not a resource of this set")

    def stack_of(self, ref: str) -> Stack:
        name, _ = naming.parse_resource_ref(ref)
        return next(stack for stack in self.stacks if stack.name == name)

    def ident(self, p: dict, key: str) -> str:
        """A property that must name a resource: a string, or one clear line."""
        value = p.get(key)
        if not isinstance(value, str) or isinstance(value, Unresolved):
            raise SetError(f"{self.where}: {key} is {value!r}, not a resource of this set")
        return value

    def idents(self, p: dict, key: str) -> tuple[str, ...]:
        values = p.get(key, [])
        if not isinstance(values, list):
            raise SetError(f"{self.where}: {key} is {values!r}, not a list")
        return tuple(self.ident({key: v}, key) for v in values)

    def cidr(self, value: object, what: str) -> str:
        if isinstance(value, Unresolved) or not isinstance(value, str):
            raise SetError(f"{self.where}: {what} is {value!r}, which cannot be evaluated offline")
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise SetError(f"{self.where}: {what} {value!r} is not a CIDR block") from None


def _labels(stacks: list[Stack]) -> dict[str, str]:
    """Every resource's label; a label two stacks would share names its stack instead."""
    plain = {
        s.ref(logical): naming.resource_label(s.name, logical)
        for s in stacks
        for logical in s.resources
    }
    counts = Counter(plain.values())
    return {
        rid: label
        if counts[label] == 1
        else naming.stack_qualified_label(*naming.parse_resource_ref(rid))
        for rid, label in plain.items()
    }

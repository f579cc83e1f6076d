"""The shared evaluator (generator.deployed) plus the intrinsics the lab needs beyond it."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from generator import deployed


def cidr_blocks(block: str, count: int, host_bits: int) -> list[str]:
    """Fn::Cidr: the first `count` blocks with `host_bits` host bits each, in address order."""
    net = ipaddress.IPv4Network(block, strict=False)
    prefix = 32 - int(host_bits)
    if not net.prefixlen <= prefix <= 32:
        raise ValueError(f"Fn::Cidr: /{prefix} does not fit in {block}")
    out = []
    for sub in net.subnets(new_prefix=prefix):
        if len(out) == int(count):
            break
        out.append(str(sub))
    if len(out) < int(count):
        raise ValueError(f"Fn::Cidr: {block} holds only {len(out)} /{prefix} blocks")
    return out


class LabStack(deployed._Stack):
    """deployed's stack, also resolving Fn::Cidr, Fn::Join, Fn::Split and Fn::Base64 (kept as
    the plain text, since the lab reads user data rather than shipping it)."""

    def eval(self, value):
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Fn::Cidr":
                block, count, bits = self.eval(arg)
                return cidr_blocks(str(block), int(count), int(bits))
            if fn == "Fn::Select":
                index, items = self.eval(arg[0]), self.eval(arg[1])
                return items[int(index)]
            if fn == "Fn::Join":
                sep, items = self.eval(arg[0]), self.eval(arg[1])
                return str(sep).join(str(i) for i in items)
            if fn == "Fn::Split":
                sep, text = self.eval(arg[0]), self.eval(arg[1])
                return str(text).split(str(sep))
            if fn == "Fn::Base64":
                return self.eval(arg)
        return super().eval(value)


def _resolved(value, stack: LabStack):
    """Parameters deployed.evaluate left as unresolved intrinsics get resolved here."""
    if isinstance(value, dict):
        return stack.eval(value)
    if isinstance(value, list):
        return [_resolved(v, stack) for v in value]
    return value


def stacks(templates: dict[str, dict]) -> list[LabStack]:
    """Every nested stack, inputs before users, with the lab's extra intrinsics available."""
    out = []
    for s in deployed.evaluate(templates):
        lab = LabStack(s.name, s.body, {})
        lab.params = {k: _resolved(v, lab) for k, v in s.params.items()}
        out.append(lab)
    return out


def load(directory: Path) -> list[LabStack]:
    return stacks(deployed.load_set(directory))

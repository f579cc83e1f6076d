"""Fn::Cidr as CloudFormation computes it: the first blocks of a given size inside a block, in
address order; a request that does not fit is one SetError line naming the template."""

from __future__ import annotations

import ipaddress
import itertools

from verify.errors import SetError


def cidr_blocks(block: str, count: int, host_bits: int) -> list[str]:
    """Fn::Cidr: the first `count` blocks with `host_bits` host bits each, in address order."""
    network = ipaddress.ip_network(block, strict=False)
    prefix = network.max_prefixlen - host_bits
    if not network.prefixlen <= prefix <= network.max_prefixlen:
        raise ValueError(f"Fn::Cidr: /{prefix} does not fit in {block}")
    blocks = [str(n) for n in itertools.islice(network.subnets(new_prefix=prefix), count)]
    if len(blocks) < count:
        raise ValueError(f"Fn::Cidr: {block} holds only {len(blocks)} /{prefix} blocks")
    return blocks


def fn_cidr(file: str, args: list) -> list[str]:
    """The evaluated arguments [block, count, host bits] of an Fn::Cidr in template `file`."""
    try:
        block, count, bits = args
        return cidr_blocks(str(block), int(count), int(bits))
    except (ValueError, TypeError) as exc:
        raise SetError(f"{file}: {exc}") from None

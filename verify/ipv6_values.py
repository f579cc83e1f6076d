"""What offline evaluation gives for IPv6 values known only at launch: a VPC's Amazon-provided /56
is a documentation-range stand-in (RFC 3849), 2001:db8:n00::/56 for the n-th VPC asked about in
a set's evaluation order, which is the generator's own VPC order for our sets."""

from __future__ import annotations

DOC_BLOCK = "2001:db8:{n}00::/56"
BLOCK_TYPE = "AWS::EC2::VPCCidrBlock"


class Ipv6Blocks:
    """One per evaluated set: hands out each VPC's stand-in /56 once, in the order asked."""

    def __init__(self) -> None:
        self.given: dict[str, str] = {}

    def amazon_provided(self, vpc_ref: str) -> str:
        if vpc_ref not in self.given:
            self.given[vpc_ref] = DOC_BLOCK.format(n=len(self.given) + 1)
        return self.given[vpc_ref]


def vpc_ipv6_blocks(stack, vpc_logical: str, blocks: Ipv6Blocks) -> list[str]:
    """GetAtt <VPC>.Ipv6CidrBlocks: the IPv6 blocks the stack's VPCCidrBlock resources (those
    its conditions keep) give the VPC, in template order; none gives []."""
    found = []
    for resource in stack.resources.values():
        if resource.get("Type") != BLOCK_TYPE:
            continue
        props = resource.get("Properties", {})
        if stack.eval(props.get("VpcId")) != stack.ref(vpc_logical):
            continue
        if str(stack.eval(props.get("AmazonProvidedIpv6CidrBlock"))).lower() == "true":
            found.append(blocks.amazon_provided(stack.ref(vpc_logical)))
        elif props.get("Ipv6CidrBlock") is not None:
            found.append(str(stack.eval(props["Ipv6CidrBlock"])))
    return found

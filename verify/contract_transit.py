"""What must hold across a set's stacks for its transit gateway: every VPC route to a TGW is
created after its VPC's attachment (CloudFormation creates what nothing orders in parallel, and
AWS refuses a route to a TGW the VPC is not attached to yet), and every attachment is associated
with a TGW route table and reachable: some other attachment's table sends its VPC's addresses
to it (a spoke whose propagation is forgotten is reachable by nothing)."""

from __future__ import annotations

import ipaddress

from core import naming
from verify import transit
from verify.evaluate import SUB_VARIABLE, Stack
from verify.model import SetModel

ROUTE = "AWS::EC2::Route"


def references(node: object) -> set[str]:
    """The names an expression refers to by Ref, Fn::GetAtt or Fn::Sub: what CloudFormation
    orders a resource after, besides its DependsOn."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                # CloudFormation's own two spellings: [Name, Attribute] and "Name.Attribute"
                parts = value.split(".", 1) if isinstance(value, str) else value
                if isinstance(parts, list) and parts and isinstance(parts[0], str):
                    found.add(parts[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {name.split(".", 1)[0] for name in SUB_VARIABLE.findall(str(text))}
            found |= references(value)
    return found


def after(body: dict, logical: str) -> set[str]:
    """Every resource of a template that CloudFormation creates before `logical`."""
    resources = body.get("Resources", {})
    seen: set[str] = set()
    todo = [logical]
    while todo:
        resource = resources.get(todo.pop(), {})
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        names = {d for d in depends if isinstance(d, str)} if isinstance(depends, list) else set()
        names |= references(resource.get("Properties", {}))
        for name in names & set(resources) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def problems(stacks: list[Stack], net: SetModel) -> list[str]:
    """Findings about the set's transit gateway wiring across stacks, one line each."""
    return _route_order(stacks, net) + _attachments(net)


def _route_order(stacks: list[Stack], net: SetModel) -> list[str]:
    found = []
    master = stacks[0]  # evaluate() puts the master first
    for stack in stacks:
        for logical in stack.of_type(ROUTE):
            props = stack.props(logical)
            tgw, table = props.get("TransitGatewayId"), props.get("RouteTableId")
            vpc = net.table_vpc.get(str(table))
            attachments = [
                a.id for a in net.tgw_attachments.values() if a.tgw == tgw and a.vpc == vpc
            ]
            if tgw is None or not attachments:
                continue  # no TGW route, or one validate already refuses
            att_stack, att_logical = naming.parse_resource_ref(attachments[0])
            if att_stack == stack.name:
                ordered = att_logical in after(stack.body, logical)
            else:  # the stacks themselves must be ordered, in the master
                route_anchor = logical if stack is master else stack.name
                att_anchor = att_logical if att_stack == master.name else att_stack
                ordered = att_anchor in after(master.body, route_anchor)
            if not ordered:
                found.append(
                    f"{stack.file}: {logical}: routes to the transit gateway but is not ordered "
                    f"after {net.label(attachments[0])}: CloudFormation may create it first, "
                    "and AWS refuses a route to a TGW the VPC is not attached to yet"
                )
    return found


def _attachments(net: SetModel) -> list[str]:
    found = []
    for att in net.tgw_attachments.values():
        if transit.table_of(net, att.id) is None:
            found.append(f"{att.label}: associated with no TGW route table")
        cidr = net.vpcs[att.vpc].cidr if att.vpc in net.vpcs else None
        others = {transit.table_of(net, a) for a in net.tgw_attachments if a != att.id}
        back = [t for t in others - {None} if _sends(net, t, cidr, att.id)]
        if cidr is not None and not back:
            found.append(
                f"{att.label}: no other attachment's TGW route table routes {cidr} to it: "
                "nothing can reach its VPC through the transit gateway"
            )
    return found


def _sends(net: SetModel, table: str, cidr: str | None, attachment: str) -> bool:
    """Whether a TGW table sends the first address of a VPC's block to the attachment."""
    if cidr is None:
        return False
    route = transit.lookup(net, table, str(ipaddress.ip_network(cidr)[1]))
    return route is not None and route.attachment == attachment and not route.blackhole

"""What AWS would refuse, or accept and then drop, in a set's transit gateway wiring. Refusals carry
AWS's error code; what AWS accepts but can never carry traffic gets the code WOULD_DROP, so the
line still says why a launch would look fine and then lose packets."""

from __future__ import annotations

from collections import Counter

from verify import transit
from verify.model import SetModel
from verify.refusal import Refusal

WOULD_DROP = "AcceptedButDrops"  # not an AWS error: AWS creates it, then drops the traffic
NOT_FOUND = {
    "tgw": "InvalidTransitGatewayID.NotFound",
    "attachment": "InvalidTransitGatewayAttachmentID.NotFound",
    "table": "InvalidRouteTableID.NotFound",
    "vpc": "InvalidVpcID.NotFound",
    "subnet": "InvalidSubnetID.NotFound",
}


def problems(net: SetModel) -> list[Refusal]:
    """Every refusal in the set's transit gateway wiring, in a stable order."""
    return _references(net) + _attachments(net) + _tables(net) + _subnet_routes(net)


def _references(net: SetModel) -> list[Refusal]:
    """IDs that name nothing of the set, or a part of another transit gateway."""
    found = []

    def need(label: str, kind: str, ident: object, pool: dict) -> bool:
        if ident in pool:
            return True
        found.append(Refusal(label, NOT_FOUND[kind], f"the {kind} ID {ident!r} does not exist"))
        return False

    for att in net.tgw_attachments.values():
        need(att.label, "tgw", att.tgw, net.transit_gateways)
        need(att.label, "vpc", att.vpc, net.vpcs)
        for subnet in att.subnets:
            if need(att.label, "subnet", subnet, net.subnets) and net.vpc_of(subnet) != att.vpc:
                found.append(
                    Refusal(
                        att.label,
                        "InvalidParameterValue",
                        f"subnet {net.label(subnet)} is not in VPC {net.label(att.vpc)}",
                    )
                )
    for table in net.tgw_tables.values():
        need(table.label, "tgw", table.tgw, net.transit_gateways)
    links = [(a, t, "associated with") for a, ts in net.tgw_associations.items() for t in ts]
    links += [(a, t, "propagated to") for t, ats in net.tgw_propagations.items() for a in ats]
    for attachment, table, how in links:
        label = net.label(attachment)
        if need(label, "attachment", attachment, net.tgw_attachments) and need(
            label, "table", table, net.tgw_tables
        ):
            found += _same_gateway(net, label, attachment, table, how)
    for table, routes in net.tgw_routes.items():
        if not need(net.label(table), "table", table, net.tgw_tables):
            continue
        for route in routes:
            if route.attachment is not None and need(
                net.label(route.id), "attachment", route.attachment, net.tgw_attachments
            ):
                found += _same_gateway(net, net.label(route.id), route.attachment, table, "sent by")
    return found


def _same_gateway(net: SetModel, label: str, attachment: str, table: str, how: str) -> list:
    """An attachment and a TGW route table of two different gateways cannot be linked."""
    if net.tgw_attachments[attachment].tgw == net.tgw_tables[table].tgw:
        return []
    return [
        Refusal(
            label,
            NOT_FOUND["attachment"],
            f"{net.label(attachment)} is {how} {net.label(table)}, a route table of another "
            "transit gateway",
        )
    ]


def _attachments(net: SetModel) -> list[Refusal]:
    """One subnet per AZ; exactly one route table association (the default one included)."""
    found = []
    for att in net.tgw_attachments.values():
        zones = Counter(net.subnets[s].az for s in att.subnets if s in net.subnets)
        for az, count in zones.items():
            if count > 1:
                found.append(
                    Refusal(
                        att.label,
                        "DuplicateSubnetsInSameZone",
                        f"{count} subnets in {az}: an attachment takes one subnet per AZ",
                    )
                )
        tgw = net.transit_gateways.get(att.tgw)
        tables = [net.label(t) for t in net.tgw_associations.get(att.id, [])]
        if tgw is not None and tgw.default_association and tables:
            tables.insert(0, f"the default route table of {tgw.label}")
        if len(tables) > 1:
            found.append(
                Refusal(
                    att.label,
                    "Resource.AlreadyAssociated",
                    f"associated with {len(tables)} route tables ({', '.join(tables)}); an "
                    "attachment can have one",
                )
            )
        elif tgw is not None and transit.table_of(net, att.id) is None:
            found.append(
                Refusal(
                    att.label,
                    WOULD_DROP,
                    f"associated with no route table and {tgw.label} has default association "
                    "disabled: every packet entering the TGW from it is dropped",
                )
            )
    return found


def _tables(net: SetModel) -> list[Refusal]:
    """A static route names an attachment or is a blackhole; one route per destination."""
    found = []
    for table, routes in net.tgw_routes.items():
        counts = Counter(r.destination for r in routes)
        for route in routes:
            label = net.label(route.id)
            if counts[route.destination] > 1:
                found.append(
                    Refusal(
                        label,
                        "RouteAlreadyExists",
                        f"{route.destination} already has a route in {net.label(table)}",
                    )
                )
            if route.blackhole == (route.attachment is not None):
                found.append(
                    Refusal(
                        label,
                        "InvalidParameterCombination",
                        "a transit gateway route names either an attachment or Blackhole: true",
                    )
                )
    return found


def _subnet_routes(net: SetModel) -> list[Refusal]:
    """Routes from a VPC route table to a transit gateway: the VPC must be attached to it (AWS
    refuses the route otherwise), and each AZ using the route needs an attachment subnet (AWS
    accepts the route, then drops what the AZ's resources send)."""
    found = []
    for table, routes in net.routes.items():
        vpc = net.table_vpc.get(table)
        subnets = [s for s, t in net.table_of_subnet.items() if t == table and s in net.subnets]
        for route in (r for r in routes if r.kind == "tgw"):
            label = net.label(route.id)
            if route.target not in net.transit_gateways:
                found.append(
                    Refusal(label, NOT_FOUND["tgw"], f"the tgw ID {route.target!r} does not exist")
                )
                continue
            attachments = [
                a for a in net.tgw_attachments.values() if a.tgw == route.target and a.vpc == vpc
            ]
            if not attachments:
                found.append(
                    Refusal(
                        label,
                        "InvalidParameterValue",
                        f"route table {net.label(table)} and network gateway "
                        f"{net.label(route.target)} belong to different networks (the VPC has no "
                        "attachment to it)",
                    )
                )
                continue
            azs = transit.attachment_azs(net, attachments[0])
            for subnet in subnets:
                if net.subnets[subnet].az not in azs:
                    found.append(
                        Refusal(
                            label,
                            WOULD_DROP,
                            f"{net.label(subnet)} routes to {net.label(route.target)} from "
                            f"{net.subnets[subnet].az}, where {attachments[0].label} has no "
                            "subnet: its resources cannot reach the transit gateway",
                        )
                    )
    return found

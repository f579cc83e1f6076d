"""The transit gateway's data path on the set model, as AWS documents it: which route table an
attachment's packets are looked up in, its effective routes (static and propagated, longest
prefix first, static beating propagated), the attachment a destination goes to, the AZs the TGW
may leave an attachment by (appliance mode: one flow-hash choice for both directions; otherwise AZ
affinity), and the attachment ENI a subnet's route to a TGW uses. Pure functions, shared by the
route-path verifier and the lab."""

from __future__ import annotations

from verify import ip
from verify.model import SetModel
from verify.model_transit import TgwAttachment, TgwRoute


def table_of(net: SetModel, attachment: str) -> str | None:
    """The TGW route table an attachment is associated with: its explicit association, else the
    gateway's default table when default association is on; None when it has none (AWS then
    drops what enters the TGW from it). With several associations (AWS refuses the second, see
    verify/validate_transit.py) the first in template order is the one that took."""
    explicit = net.tgw_associations.get(attachment, [])
    if explicit:
        return explicit[0]
    att = net.tgw_attachments.get(attachment)
    tgw = net.transit_gateways.get(att.tgw) if att else None
    if tgw is not None and tgw.default_association:
        return tgw.default_table
    return None


def propagating(net: SetModel, table: str) -> list[str]:
    """Attachments whose VPC CIDR is propagated into a table: its explicit propagations, and for a
    gateway's default table every attachment of it when default propagation is on."""
    found = list(net.tgw_propagations.get(table, []))
    tgw = net.transit_gateways.get(table)  # the default table is keyed by its gateway's id
    if tgw is not None and tgw.default_propagation:
        own = [a.id for a in net.tgw_attachments.values() if a.tgw == tgw.id]
        found += [a for a in own if a not in found]
    return found


def effective_routes(net: SetModel, table: str) -> list[TgwRoute]:
    """The table's routes as the TGW uses them: static routes, plus each propagating attachment's
    VPC CIDR unless a static route has the same prefix (static wins); longest prefix first, then
    static before propagated, then template order."""
    static = list(net.tgw_routes.get(table, []))
    taken = {r.destination for r in static}
    propagated = []
    for attachment in propagating(net, table):
        att = net.tgw_attachments.get(attachment)
        vpc = net.vpcs.get(att.vpc) if att else None
        if vpc is None or vpc.cidr in taken:
            continue
        taken.add(vpc.cidr)  # two VPCs with one CIDR: AWS does not propagate the second
        propagated.append(TgwRoute(attachment, vpc.cidr, attachment, propagated=True))
    ordered = [(r, i) for i, r in enumerate(static + propagated)]
    ordered.sort(key=lambda ri: (-ri[0].prefixlen, ri[0].propagated, ri[1]))
    return [r for r, _ in ordered]


def lookup(net: SetModel, table: str, destination: str) -> TgwRoute | None:
    """The route a destination address matches in a TGW table (longest prefix; a blackhole route
    is returned as such), or None when nothing matches."""
    addr = ip.address(destination)
    for route in effective_routes(net, table):
        block = ip.network(route.destination)
        if block.version == addr.version and addr in block:
            return route
    return None


def attachment_azs(net: SetModel, attachment: TgwAttachment) -> list[str]:
    """The AZs an attachment has an ENI in, in its SubnetIds order."""
    azs: list[str] = []
    for subnet in attachment.subnets:
        az = net.subnets[subnet].az if subnet in net.subnets else None
        if az is not None and az not in azs:
            azs.append(az)
    return azs


def eni_subnet(net: SetModel, attachment: TgwAttachment, az: str) -> str | None:
    """The subnet holding the attachment's ENI in an AZ, or None when it has none there."""
    for subnet in attachment.subnets:
        if subnet in net.subnets and net.subnets[subnet].az == az:
            return subnet
    return None


def exit_azs(net: SetModel, attachment: TgwAttachment, entry_az: str) -> list[str]:
    """The AZs through which the TGW may deliver a packet that entered it in `entry_az` to this
    attachment. Appliance mode: any of the attachment's AZs, chosen by a flow hash unknown
    offline; the caller must use one choice for both directions of a flow. Otherwise AZ affinity:
    the entry AZ when the attachment has an ENI there, else any of its AZs (not known offline)."""
    azs = attachment_azs(net, attachment)
    if attachment.appliance_mode or entry_az not in azs:
        return azs
    return [entry_az]


def attachment_from(net: SetModel, subnet: str, tgw: str) -> TgwAttachment | None:
    """The attachment that joins a subnet's VPC to a transit gateway, if any (the first in
    template order; AWS allows one VPC attachment per VPC and gateway only with distinct ids)."""
    vpc = net.subnets[subnet].vpc
    for attachment in net.tgw_attachments.values():
        if attachment.tgw == tgw and attachment.vpc == vpc:
            return attachment
    return None


def entry(net: SetModel, subnet: str, tgw: str) -> tuple[TgwAttachment, str] | None:
    """The attachment and ENI subnet a subnet's route to a TGW sends packets to: the VPC's
    attachment's ENI in the sending subnet's AZ. None when the VPC has no attachment to that TGW
    or the attachment has no subnet in that AZ: AWS then drops the packet."""
    attachment = attachment_from(net, subnet, tgw)
    if attachment is None:
        return None
    eni = eni_subnet(net, attachment, net.subnets[subnet].az)
    return (attachment, eni) if eni is not None else None

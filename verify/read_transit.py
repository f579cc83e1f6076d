"""The set reader's part for transit gateways: the gateways with their default-table flags, VPC
attachments (also the older AWS::EC2::TransitGatewayAttachment type), TGW route tables, their
associations, propagations and static routes (blackholes included)."""

from __future__ import annotations

from verify.errors import SetError
from verify.model_transit import TgwAttachment, TgwRoute, TgwRouteTable, TransitGateway
from verify.read_context import ReadContext

# Both types make a VPC attachment; the older one's Options arrived in later specs.
ATTACHMENT_TYPES = ("AWS::EC2::TransitGatewayVpcAttachment", "AWS::EC2::TransitGatewayAttachment")
ENABLE, DISABLE = "enable", "disable"


def transit(reader: ReadContext) -> None:
    """Transit gateways, their VPC attachments, route tables, associations, propagations and
    static routes, into the reader's model."""
    model = reader.model
    for logical, rid, p in reader.each("AWS::EC2::TransitGateway"):
        model.transit_gateways[rid] = TransitGateway(
            rid,
            logical,
            model.label(rid),
            _flag(reader, p, "DefaultRouteTableAssociation", ENABLE),
            _flag(reader, p, "DefaultRouteTablePropagation", ENABLE),
        )
    for type_ in ATTACHMENT_TYPES:
        for logical, rid, p in reader.each(type_):
            options = p.get("Options", {})
            if not isinstance(options, dict):
                raise SetError(f"{reader.where}: Options is {options!r}, not a mapping")
            model.tgw_attachments[rid] = TgwAttachment(
                rid,
                logical,
                model.label(rid),
                reader.ident(p, "TransitGatewayId"),
                reader.ident(p, "VpcId"),
                reader.idents(p, "SubnetIds"),
                _flag(reader, options, "ApplianceModeSupport", DISABLE),
            )
    for logical, rid, p in reader.each("AWS::EC2::TransitGatewayRouteTable"):
        tgw = reader.ident(p, "TransitGatewayId")
        model.tgw_tables[rid] = TgwRouteTable(rid, logical, model.label(rid), tgw)
        model.tgw_routes.setdefault(rid, [])
    for _, _, p in reader.each("AWS::EC2::TransitGatewayRouteTableAssociation"):
        attachment = reader.ident(p, "TransitGatewayAttachmentId")
        table = reader.ident(p, "TransitGatewayRouteTableId")
        model.tgw_associations.setdefault(attachment, []).append(table)
    for _, _, p in reader.each("AWS::EC2::TransitGatewayRouteTablePropagation"):
        attachment = reader.ident(p, "TransitGatewayAttachmentId")
        table = reader.ident(p, "TransitGatewayRouteTableId")
        model.tgw_propagations.setdefault(table, []).append(attachment)
    for _, rid, p in reader.each("AWS::EC2::TransitGatewayRoute"):
        table = reader.ident(p, "TransitGatewayRouteTableId")
        model.tgw_routes.setdefault(table, []).append(_route(reader, rid, p))


def _route(reader: ReadContext, rid: str, p: dict) -> TgwRoute:
    destination = reader.cidr(p.get("DestinationCidrBlock"), "DestinationCidrBlock")
    blackhole = p.get("Blackhole", False)
    if str(blackhole).lower() not in ("true", "false"):
        raise SetError(f"{reader.where}: Blackhole is {blackhole!r}, not true or false")
    attachment = (
        reader.ident(p, "TransitGatewayAttachmentId") if "TransitGatewayAttachmentId" in p else None
    )
    return TgwRoute(rid, destination, attachment, str(blackhole).lower() == "true")


def _flag(reader: ReadContext, p: dict, key: str, default: str) -> bool:
    """An enable/disable property as a bool; anything else is one clear line."""
    value = p.get(key, default)
    if value not in (ENABLE, DISABLE):
        raise SetError(f"{reader.where}: {key} is {value!r}, not {ENABLE} or {DISABLE}")
    return value == ENABLE

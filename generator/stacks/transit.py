"""The transit gateway's parts as templates see them (tgw-centralized): Nested-TransitGateway
holds the gateway and its route tables; each attached VPC's template holds its own attachment,
association and propagation, and the static routes that point at its attachment."""

from __future__ import annotations

from troposphere import Ref, ec2

from core import naming
from generator.model import Topology, Vpc
from generator.stacks.base import VPC_ID, Nested, NestedBuilder

CONCERN = "TransitGateway"
GATEWAY_OUTPUT = naming.resource_output(naming.TRANSIT_GATEWAY_ID)


def build(topology: Topology, catalogue: dict) -> Nested:
    """The gateway with default association and propagation off: every attachment is placed in
    a table on purpose, so no spoke can reach another except through the inspection VPC."""
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: transit gateway and its route tables (spokes, inspection, ingress).",
        catalogue,
        topology,
    )
    template = builder.template
    template.add_resource(
        ec2.TransitGateway(
            naming.TRANSIT_GATEWAY_ID,
            Description="GWLB quickstart: centralized inspection",
            AutoAcceptSharedAttachments="disable",
            DefaultRouteTableAssociation="disable",
            DefaultRouteTablePropagation="disable",
            DnsSupport="enable",
            VpnEcmpSupport="enable",
            Tags=builder.tags("transit gateway"),
        )
    )
    builder.output(GATEWAY_OUTPUT, Ref(naming.TRANSIT_GATEWAY_ID), "ID of the transit gateway.")
    assert topology.transit is not None
    for table in topology.transit.tables:
        logical = naming.transit_table_id(table.name)
        template.add_resource(
            ec2.TransitGatewayRouteTable(
                logical,
                TransitGatewayId=Ref(naming.TRANSIT_GATEWAY_ID),
                Tags=builder.tags("transit gateway", table.name.lower(), "route table"),
            )
        )
        builder.output(
            naming.resource_output(logical),
            Ref(logical),
            f"Transit gateway route table of the {table.name.lower()} attachments.",
        )
    return builder.done()


def gateway_ref(builder: NestedBuilder) -> Ref:
    return builder.output_of(CONCERN, GATEWAY_OUTPUT, what="ID of the transit gateway.")


def table_ref(builder: NestedBuilder, name: str) -> Ref:
    return builder.output_of(CONCERN, naming.resource_output(naming.transit_table_id(name)))


def add_attachment(builder: NestedBuilder, vpc: Vpc) -> list[str]:
    """The VPC's attachment, its association, its propagations and the static routes that
    point at it; returns their logical IDs, which whatever needs the path can depend on."""
    transit = builder.topology.transit
    assert transit is not None
    attachment = transit.attachment(vpc.name)
    template = builder.template
    template.add_resource(
        ec2.TransitGatewayVpcAttachment(
            naming.TRANSIT_ATTACHMENT_ID,
            TransitGatewayId=gateway_ref(builder),
            VpcId=Ref(VPC_ID),
            SubnetIds=[Ref(naming.subnet_id(s)) for s in attachment.subnets],
            # Appliance mode: the gateway keeps both directions of a flow on one AZ's
            # interface of this VPC, whatever AZs its ends are in, so one endpoint sees both.
            Options=ec2.Options(
                ApplianceModeSupport="enable" if attachment.appliance_mode else "disable",
                DnsSupport="enable",
            ),
            Tags=builder.tags(builder.vpc_label(vpc), "transit gateway attachment"),
        )
    )
    made = [naming.TRANSIT_ATTACHMENT_ID, naming.TRANSIT_ASSOCIATION_ID]
    template.add_resource(
        ec2.TransitGatewayRouteTableAssociation(
            naming.TRANSIT_ASSOCIATION_ID,
            TransitGatewayAttachmentId=Ref(naming.TRANSIT_ATTACHMENT_ID),
            TransitGatewayRouteTableId=table_ref(builder, attachment.table),
        )
    )
    for name in attachment.propagates_to:
        logical = naming.transit_propagation_id(name)
        template.add_resource(
            ec2.TransitGatewayRouteTablePropagation(
                logical,
                TransitGatewayAttachmentId=Ref(naming.TRANSIT_ATTACHMENT_ID),
                TransitGatewayRouteTableId=table_ref(builder, name),
            )
        )
        made.append(logical)
    for table in transit.tables:
        for destination, target in table.static:
            if target != vpc.name:
                continue
            word = "Internet" if destination == "0.0.0.0/0" else destination
            logical = naming.transit_route_id(table.name, word, vpc)
            template.add_resource(
                ec2.TransitGatewayRoute(
                    logical,
                    DestinationCidrBlock=destination,
                    TransitGatewayAttachmentId=Ref(naming.TRANSIT_ATTACHMENT_ID),
                    TransitGatewayRouteTableId=table_ref(builder, table.name),
                )
            )
            made.append(logical)
    return made

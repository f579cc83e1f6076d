"""A small hub-and-spokes transit gateway model, built in memory for the lab's TGW tests: two
spoke VPCs whose workload subnets send everything to the TGW, and a hub VPC whose transit subnets
send the spokes' blocks straight back to it (a hairpin through the hub, standing in for the
inspection VPC's endpoints), in two AZs."""

from __future__ import annotations

from verify.model import Host, Route, SetModel, Subnet, Vpc
from verify.model_transit import TgwAttachment, TgwRoute, TgwRouteTable, TransitGateway

ZONES = ("az-a", "az-b")
TGW = "Net/Tgw"
HUB, SPOKE1, SPOKE2 = "Net/HubVpc", "Net/Spoke1Vpc", "Net/Spoke2Vpc"
SPOKES_RT, HUB_RT = "Net/SpokesRt", "Net/HubRt"
HUB_ATT, SPOKE1_ATT, SPOKE2_ATT = (
    "Net/HubAttachment",
    "Net/Spoke1Attachment",
    "Net/Spoke2Attachment",
)


def subnet_id(vpc: str, tier: str, zone: int) -> str:
    return f"{vpc.removesuffix('Vpc')}{tier}Subnet{zone + 1}"


def host_id(spoke: int, zone: int) -> str:
    return f"Net/Spoke{spoke}Host{zone + 1}"


def hub_and_spokes(
    appliance_mode: bool = True,
    associate_spoke2: bool = True,
    propagate_spoke2: bool = True,
    hub_zones: tuple[str, ...] = ZONES,
) -> SetModel:
    model = SetModel()
    blocks = {HUB: 0, SPOKE1: 1, SPOKE2: 2}
    for vpc, number in blocks.items():
        model.vpcs[vpc] = Vpc(vpc, vpc.split("/")[1], f"10.{number}.0.0/16")
        zones = hub_zones if vpc == HUB else ZONES
        for zone, az in enumerate(zones):
            for tier, third in (("Transit", 100 + zone), ("Work", zone)):
                sid = subnet_id(vpc, tier, zone)
                cidr = f"10.{number}.{third}.0/24"
                model.subnets[sid] = Subnet(sid, sid, sid.split("/")[1], cidr, az, vpc)
    model.transit_gateways[TGW] = TransitGateway(TGW, "Tgw", "Tgw", False, False)
    for att, vpc, mode in ((HUB_ATT, HUB, appliance_mode), (SPOKE1_ATT, SPOKE1, False)):
        model.tgw_attachments[att] = _attachment(model, att, vpc, mode)
    model.tgw_attachments[SPOKE2_ATT] = _attachment(model, SPOKE2_ATT, SPOKE2, False)
    for table in (SPOKES_RT, HUB_RT):
        model.tgw_tables[table] = TgwRouteTable(table, table, table.split("/")[1], TGW)
    model.tgw_associations = {SPOKE1_ATT: [SPOKES_RT], HUB_ATT: [HUB_RT]}
    if associate_spoke2:
        model.tgw_associations[SPOKE2_ATT] = [SPOKES_RT]
    model.tgw_propagations[HUB_RT] = [SPOKE1_ATT] + ([SPOKE2_ATT] if propagate_spoke2 else [])
    model.tgw_routes[SPOKES_RT] = [TgwRoute("Net/SpokesDefault", "0.0.0.0/0", HUB_ATT)]
    # Workload subnets: everything to the TGW. The hub's transit subnets: the spokes back to it.
    for vpc in (SPOKE1, SPOKE2):
        table = f"{vpc}WorkRt"
        model.routes[table] = [Route(f"{table}Default", "0.0.0.0/0", "tgw", TGW)]
        for zone in range(len(ZONES)):
            model.table_of_subnet[subnet_id(vpc, "Work", zone)] = table
    hub_table = f"{HUB}TransitRt"
    model.routes[hub_table] = [
        Route(f"{hub_table}{n}", f"10.{n}.0.0/16", "tgw", TGW) for n in (1, 2)
    ]
    for zone in range(len(hub_zones)):
        model.table_of_subnet[subnet_id(HUB, "Transit", zone)] = hub_table
    for table in model.routes:
        model.table_vpc[table] = table.removesuffix("WorkRt").removesuffix("TransitRt")
    for spoke, vpc in ((1, SPOKE1), (2, SPOKE2)):
        for zone in range(len(ZONES)):
            ident = host_id(spoke, zone)
            name = ident.split("/")[1]
            model.hosts[ident] = Host(ident, name, subnet_id(vpc, "Work", zone), "other", "", False)
    for ident in [*model.subnets, *model.tgw_attachments, *model.tgw_tables, TGW, *model.hosts]:
        model.labels[ident] = ident.split("/")[1]
    return model


def _attachment(model: SetModel, att: str, vpc: str, mode: bool) -> TgwAttachment:
    subnets = tuple(s.id for s in model.subnets.values() if s.vpc == vpc and "Transit" in s.id)
    return TgwAttachment(att, att.split("/")[1], att.split("/")[1], TGW, vpc, subnets, mode)

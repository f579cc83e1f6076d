"""Builds the set model from the evaluated stacks: one reader for every view of a rendered set.
A value it needs but cannot evaluate, or a shape it does not know, is one SetError line naming the
template and the resource."""

from __future__ import annotations

from pathlib import Path

from verify import files as set_files
from verify import read_balancers, read_filters, read_hosts, read_ipv6, read_transit
from verify.errors import SetError
from verify.evaluate import READ_ERRORS, Stack, evaluate
from verify.model import (
    ROUTE_DESTINATIONS,
    ROUTE_TARGETS,
    Igw,
    Nat,
    Route,
    SetModel,
    Subnet,
    Vpc,
)
from verify.read_context import ReadContext


class SetReader(ReadContext):
    """Reads evaluated stacks into one SetModel: the network here, the rest in read_*."""

    def read(self) -> SetModel:
        model = self.model
        for _, rid, p in self.each("AWS::EC2::VPC"):
            model.vpcs[rid] = Vpc(rid, model.label(rid), self.cidr(p.get("CidrBlock"), "CidrBlock"))
        for logical, rid, p in self.each("AWS::EC2::Subnet"):
            cidr = self.cidr(p.get("CidrBlock"), "CidrBlock")
            az = p.get("AvailabilityZone", "")
            model.subnets[rid] = Subnet(
                rid, logical, model.label(rid), cidr, str(az), self.ident(p, "VpcId")
            )
        for _, rid, p in self.each("AWS::EC2::RouteTable"):
            model.routes.setdefault(rid, [])
            model.table_vpc[rid] = self.ident(p, "VpcId")
        for _, rid, p in self.each("AWS::EC2::SubnetRouteTableAssociation"):
            subnet = self.ident(p, "SubnetId")
            model.table_of_subnet[subnet] = self.ident(p, "RouteTableId")
            model.associations.setdefault(subnet, []).append(rid)
        for logical, rid, p in self.each("AWS::EC2::Route"):
            table = self.ident(p, "RouteTableId")
            model.routes.setdefault(table, []).append(self._route(logical, rid, p))
        self._gateways()
        read_transit.transit(self)
        read_balancers.balancers(self)
        read_hosts.hosts(self)
        read_filters.security_groups(self)
        read_filters.network_acls(self)
        read_ipv6.ipv6(self)
        return model

    def _route(self, logical: str, rid: str, p: dict) -> Route:
        kinds = [k for k in p if k in ROUTE_TARGETS]
        if len(kinds) != 1:
            raise SetError(f"{self.where}: a route names one target; this one names {kinds}")
        destinations = [k for k in ROUTE_DESTINATIONS if k in p]
        if len(destinations) != 1:
            raise SetError(
                f"{self.where}: a route has one destination; this one has {destinations}"
            )
        if destinations[0] == "DestinationPrefixListId":
            raise SetError(f"{self.where}: prefix-list destinations cannot be evaluated offline")
        destination = self.cidr(p[destinations[0]], destinations[0])
        return Route(rid, destination, ROUTE_TARGETS[kinds[0]], self.ident(p, kinds[0]))

    def _gateways(self) -> None:
        model = self.model
        igw_vpc = {
            self.ident(p, "InternetGatewayId"): self.ident(p, "VpcId")
            for *_, p in self.each("AWS::EC2::VPCGatewayAttachment")
            if "InternetGatewayId" in p
        }
        igw_table = {
            self.ident(p, "GatewayId"): self.ident(p, "RouteTableId")
            for *_, p in self.each("AWS::EC2::GatewayRouteTableAssociation")
        }
        for logical, rid, _ in self.each("AWS::EC2::InternetGateway"):
            if rid in igw_vpc:
                label = model.label(rid)
                model.igws[rid] = Igw(rid, logical, label, igw_vpc[rid], igw_table.get(rid))
        for logical, rid, p in self.each("AWS::EC2::NatGateway"):
            if p.get("ConnectivityType", "public") != "public":
                raise SetError(f"{self.where}: private NAT gateways are not modelled")
            model.nats[rid] = Nat(rid, logical, model.label(rid), self.ident(p, "SubnetId"))


def read(stacks: list[Stack]) -> SetModel:
    """The model of an evaluated set."""
    reader = SetReader(stacks)
    reader.where = ""
    try:
        return reader.read()
    except SetError:
        raise
    except READ_ERRORS as exc:
        raise SetError(f"{reader.where}: cannot read ({type(exc).__name__}: {exc})") from None


def parameters(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs from a command line, as launch-time parameter values."""
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SetError(f"--parameter wants KEY=VALUE, got {pair!r}")
        values[key] = value
    return values


def load(
    directory: Path, master: str | None = None, parameters: dict[str, str] | None = None
) -> SetModel:
    """The model of the set in a directory."""
    return read(evaluate(set_files.load(directory, master), parameters))


def from_templates(templates: dict[str, dict]) -> SetModel:
    """The model of one of our sets already parsed in memory ({file name: template})."""
    return read(evaluate(set_files.from_templates(templates)))

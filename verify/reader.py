"""Builds the set model from the evaluated stacks: one reader for every view of a rendered set.
A value it needs but cannot evaluate, or a shape it does not know, is one SetError line naming the
template and the resource."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from core import naming
from verify import files as set_files
from verify import read_balancers, read_filters, read_hosts
from verify.errors import SetError
from verify.evaluate import READ_ERRORS, Stack, Unresolved, evaluate
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


class SetReader:
    """Reads evaluated stacks into one SetModel; the read_* modules read their parts."""

    def __init__(self, stacks: list[Stack]):
        self.stacks = stacks
        self.model = SetModel()
        self.model.labels = _labels(stacks)

    def each(self, type_: str) -> Iterator[tuple[str, str, dict]]:
        """(logical ID, resource id, evaluated properties) of every resource of one type."""
        for stack in self.stacks:
            for logical in stack.of_type(type_):
                self.where = f"{stack.file}: {logical}"
                yield logical, stack.ref(logical), stack.props(logical)

    def resource(self, ident: str) -> tuple[Stack, str]:
        name, logical = naming.parse_resource_ref(str(ident))
        for stack in self.stacks:
            if stack.name == name and logical in stack.resources:
                return stack, logical
        raise SetError(f"{self.where}: {ident} is not a resource of this set")

    def stack_of(self, ref: str) -> Stack:
        name, _ = naming.parse_resource_ref(ref)
        return next(stack for stack in self.stacks if stack.name == name)

    def ident(self, p: dict, key: str) -> str:
        """A property that must name a resource: a string, or one clear line."""
        value = p.get(key)
        if not isinstance(value, str) or isinstance(value, Unresolved):
            raise SetError(f"{self.where}: {key} is {value!r}, not a resource of this set")
        return value

    def idents(self, p: dict, key: str) -> tuple[str, ...]:
        values = p.get(key, [])
        if not isinstance(values, list):
            raise SetError(f"{self.where}: {key} is {values!r}, not a list")
        return tuple(self.ident({key: v}, key) for v in values)

    def cidr(self, value: object, what: str) -> str:
        if isinstance(value, Unresolved) or not isinstance(value, str):
            raise SetError(f"{self.where}: {what} is {value!r}, which cannot be evaluated offline")
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise SetError(f"{self.where}: {what} {value!r} is not a CIDR block") from None

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
        read_balancers.balancers(self)
        read_hosts.hosts(self)
        read_filters.security_groups(self)
        read_filters.network_acls(self)
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


def _labels(stacks: list[Stack]) -> dict[str, str]:
    """Every resource's label; a label two stacks would share names its stack instead."""
    plain = {
        s.ref(logical): naming.resource_label(s.name, logical)
        for s in stacks
        for logical in s.resources
    }
    counts = Counter(plain.values())
    return {
        rid: label
        if counts[label] == 1
        else naming.stack_qualified_label(*naming.parse_resource_ref(rid))
        for rid, label in plain.items()
    }


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

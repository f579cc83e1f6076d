"""The typed model of a set's transit gateways: the gateways with their default-table flags, VPC
attachments (subnets, appliance mode), TGW route tables and their static routes. Pure data; the
associations and propagations that tie them live on SetModel (verify/model.py)."""

from __future__ import annotations

from dataclasses import dataclass

from verify import ip


@dataclass(frozen=True)
class TransitGateway:
    id: str
    name: str  # logical ID
    label: str
    # With DefaultRouteTableAssociation/Propagation enabled AWS creates a default route table that
    # every new attachment associates with / propagates to. The model keys that table by the
    # gateway's own id (it has no resource of its own in the set).
    default_association: bool
    default_propagation: bool

    @property
    def default_table(self) -> str:
        """The key of the default route table AWS creates when either default is enabled."""
        return self.id


@dataclass(frozen=True)
class TgwAttachment:
    """A VPC attachment: one ENI per listed subnet, in that subnet's AZ."""

    id: str
    name: str  # logical ID
    label: str
    tgw: str
    vpc: str
    subnets: tuple[str, ...]
    appliance_mode: bool  # Options.ApplianceModeSupport == enable


@dataclass(frozen=True)
class TgwRouteTable:
    id: str
    name: str  # logical ID
    label: str
    tgw: str


@dataclass(frozen=True)
class TgwRoute:
    """A route in a TGW route table: static (a TransitGatewayRoute) or propagated from an
    attachment's VPC CIDR. A blackhole route has no attachment and drops what it matches."""

    id: str  # the TransitGatewayRoute's id; for a propagated route, the attachment's id
    destination: str
    attachment: str | None
    blackhole: bool = False
    propagated: bool = False

    @property
    def prefixlen(self) -> int:
        return ip.network(self.destination).prefixlen

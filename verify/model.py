"""The typed model of a rendered set: VPCs, subnets, route tables and routes with typed targets,
gateways, GWLB endpoints and the endpoint services and load balancers behind them, target groups
with their attributes, instances and groups, security groups. Pure data; resources are keyed by
their symbolic physical ID ("Stack/Logical") and carry one label for people."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from verify.model_transit import TgwAttachment, TgwRoute, TgwRouteTable, TransitGateway

# Each route property names its target's kind. Readers decide which kinds they can follow; new
# kinds (transit gateways, egress-only gateways) need no change here beyond this table.
ROUTE_TARGETS = {
    "GatewayId": "igw",
    "NatGatewayId": "nat",
    "VpcEndpointId": "gwlbe",
    "TransitGatewayId": "tgw",
    "EgressOnlyInternetGatewayId": "eigw",
    "InstanceId": "instance",
    "NetworkInterfaceId": "eni",
    "VpcPeeringConnectionId": "peering",
    "LocalGatewayId": "local-gateway",
    "CarrierGatewayId": "carrier",
    "CoreNetworkArn": "core-network",
}
ROUTE_DESTINATIONS = ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId")


@dataclass(frozen=True)
class Route:
    id: str
    destination: str
    kind: str  # a value of ROUTE_TARGETS
    target: str

    @property
    def version(self) -> int:
        return ipaddress.ip_network(self.destination, strict=False).version


@dataclass(frozen=True)
class Vpc:
    id: str
    label: str
    cidr: str


@dataclass(frozen=True)
class Subnet:
    id: str
    name: str  # logical ID
    label: str  # set-wide name, e.g. App2PublicSubnet1
    cidr: str
    az: str
    vpc: str


@dataclass(frozen=True)
class HealthCheck:
    protocol: str
    port: int
    path: str
    interval: float
    timeout: float
    healthy: int
    unhealthy: int
    matcher: str


@dataclass(frozen=True)
class TargetGroup:
    id: str
    name: str
    protocol: str
    port: int
    health: HealthCheck
    attributes: dict[str, str]
    targets: tuple[tuple[str, int], ...] = ()  # (instance id, port) listed in the group

    @property
    def rebalance(self) -> bool:
        return self.attributes.get("target_failover.on_unhealthy") == "rebalance"


@dataclass(frozen=True)
class Gwlb:
    id: str
    name: str
    subnets: tuple[str, ...]
    cross_zone: bool
    target_group: str | None  # the listener's target group
    listener_attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointService:
    id: str
    name: str
    gwlbs: tuple[str, ...]


@dataclass(frozen=True)
class Endpoint:
    id: str
    name: str
    label: str
    subnet: str
    service_name: str
    gwlb: str | None  # the GWLB behind its service, when the service is in the set


@dataclass(frozen=True)
class Nat:
    id: str
    name: str
    label: str
    subnet: str


@dataclass(frozen=True)
class Igw:
    id: str
    name: str
    label: str
    vpc: str
    table: str | None  # route table associated with the gateway (ingress routing)


@dataclass(frozen=True)
class SgRule:
    protocol: int  # IP protocol number; -1 for all
    from_port: int  # ports, or ICMP type and code; -1 for all
    to_port: int
    cidr: str | None
    group: str | None  # SourceSecurityGroupId / DestinationSecurityGroupId


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str
    ingress: tuple[SgRule, ...]
    egress: tuple[SgRule, ...]


@dataclass(frozen=True)
class NaclEntry:
    """One network ACL rule. Rules are judged in rule-number order; the first match decides."""

    number: int
    egress: bool
    allow: bool
    protocol: int  # IP protocol number; -1 for all
    cidr: str | None  # IPv4 or IPv6 block
    from_port: int  # TCP/UDP ports; -1 for all
    to_port: int
    icmp_type: int  # -1 for all
    icmp_code: int


@dataclass(frozen=True)
class NetworkAcl:
    id: str
    name: str
    vpc: str
    entries: tuple[NaclEntry, ...]


@dataclass(frozen=True)
class Host:
    id: str
    name: str  # set-wide label: namespaces, directories and table rows use it
    subnet: str
    role: str  # appliance, web, other
    user_data: str
    public: bool  # holds an Elastic IP
    security_groups: tuple[str, ...] = ()
    group: str | None = None  # the Auto Scaling group it stands for one member of
    # CloudFormation waits for its signal (a ResourceSignal creation policy on it or its group,
    # or user data that calls cfn-signal or signal-resource): it must reach CloudFormation.
    signals: bool = False
    # An instance profile: Session Manager's agent will try to reach its API.
    profile: bool = False


@dataclass(frozen=True)
class Group:
    """An Auto Scaling group: its zones' subnets and the target groups it registers with."""

    id: str
    name: str
    subnets: tuple[str, ...]
    target_groups: tuple[str, ...]
    desired: int
    min_size: int = 0
    max_size: int = 0


@dataclass(frozen=True)
class Alb:
    id: str
    name: str
    label: str
    subnets: tuple[str, ...]
    port: int
    target_group: str
    targets: tuple[tuple[str, int], ...]  # (host id, port)
    security_groups: tuple[str, ...] = ()


@dataclass
class Ipv6:
    """The IPv6 side of a set: blocks by VPC or subnet id, egress-only gateways by id (their
    VPC). A subnet absent from `blocks` has no IPv6."""

    blocks: dict[str, str] = field(default_factory=dict)
    egress_only: dict[str, str] = field(default_factory=dict)
    assigning: set[str] = field(default_factory=set)  # subnets giving instances an address
    dualstack: set[str] = field(default_factory=set)  # load balancers with IPv6 addresses


@dataclass
class SetModel:
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    routes: dict[str, list[Route]] = field(default_factory=dict)  # route table -> routes
    table_of_subnet: dict[str, str] = field(default_factory=dict)
    table_vpc: dict[str, str] = field(default_factory=dict)  # route table -> its VPC
    # Every association a subnet has, in template order: AWS allows one.
    associations: dict[str, list[str]] = field(default_factory=dict)
    igws: dict[str, Igw] = field(default_factory=dict)
    nats: dict[str, Nat] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    endpoint_services: dict[str, EndpointService] = field(default_factory=dict)
    gwlbs: dict[str, Gwlb] = field(default_factory=dict)
    target_groups: dict[str, TargetGroup] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    albs: dict[str, Alb] = field(default_factory=dict)
    security_groups: dict[str, SecurityGroup] = field(default_factory=dict)
    # Subnets without an association use their VPC's default ACL, which allows everything.
    network_acls: dict[str, NetworkAcl] = field(default_factory=dict)
    acl_of_subnet: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # every resource id -> its label
    # Transit gateways (verify/model_transit.py; the data path is in verify/transit.py).
    transit_gateways: dict[str, TransitGateway] = field(default_factory=dict)
    tgw_attachments: dict[str, TgwAttachment] = field(default_factory=dict)
    tgw_tables: dict[str, TgwRouteTable] = field(default_factory=dict)
    # attachment -> every TGW route table it is associated with, in template order (AWS: one)
    tgw_associations: dict[str, list[str]] = field(default_factory=dict)
    # TGW route table -> attachments propagating their VPC CIDR into it, in template order
    tgw_propagations: dict[str, list[str]] = field(default_factory=dict)
    # TGW route table -> its static routes (TransitGatewayRoute), in template order
    tgw_routes: dict[str, list[TgwRoute]] = field(default_factory=dict)
    # Dual-stack (verify.read_ipv6): each VPC's and subnet's IPv6 block, egress-only gateways.
    ipv6: Ipv6 = field(default_factory=lambda: Ipv6())

    def hosts_of(self, role: str) -> list[Host]:
        return [h for h in self.hosts.values() if h.role == role]

    def vpc_of(self, subnet_id: str) -> str:
        return self.subnets[subnet_id].vpc

    def label(self, resource_id: str) -> str:
        return self.labels.get(resource_id, resource_id)

    def appliance_subnets(self) -> list[str]:
        """Subnets of the groups that register with a GENEVE target group, in listed order."""
        geneve = {t for t, g in self.target_groups.items() if g.protocol == "GENEVE"}
        found: list[str] = []
        for group in self.groups.values():
            if geneve & set(group.target_groups):
                found += [s for s in group.subnets if s not in found]
        return found

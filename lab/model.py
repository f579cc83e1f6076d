"""What the lab builds, read from a rendered template set: VPCs, subnets, route tables, gateways,
GWLBs and their endpoints, target groups, ALBs and hosts with their user data. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from generator import deployed
from generator.deployed import Stack

ROUTE_TARGETS = {"GatewayId": "igw", "NatGatewayId": "nat", "VpcEndpointId": "gwlbe"}


class ModelError(ValueError):
    """The set holds something the lab cannot build."""


@dataclass(frozen=True)
class Route:
    destination: str
    kind: str  # igw, nat, gwlbe
    target: str


@dataclass(frozen=True)
class Subnet:
    id: str
    name: str
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

    @property
    def rebalance(self) -> bool:
        return self.attributes.get("target_failover.on_unhealthy") == "rebalance"


@dataclass(frozen=True)
class Gwlb:
    id: str
    name: str
    subnets: tuple[str, ...]
    cross_zone: bool
    target_group: str


@dataclass(frozen=True)
class Endpoint:
    id: str
    name: str
    subnet: str
    gwlb: str


@dataclass(frozen=True)
class Nat:
    id: str
    name: str
    subnet: str


@dataclass(frozen=True)
class Igw:
    id: str
    name: str
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
class Host:
    id: str
    name: str
    subnet: str
    role: str  # appliance, web, other
    user_data: str
    public: bool  # holds an Elastic IP
    security_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alb:
    id: str
    name: str
    subnets: tuple[str, ...]
    port: int
    target_group: str
    targets: tuple[tuple[str, int], ...]  # (host id, port)
    security_groups: tuple[str, ...] = ()


@dataclass
class LabSpec:
    vpcs: dict[str, str] = field(default_factory=dict)  # id -> CIDR
    subnets: dict[str, Subnet] = field(default_factory=dict)
    routes: dict[str, list[Route]] = field(default_factory=dict)  # route table -> routes
    table_of_subnet: dict[str, str] = field(default_factory=dict)
    igws: dict[str, Igw] = field(default_factory=dict)
    nats: dict[str, Nat] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    gwlbs: dict[str, Gwlb] = field(default_factory=dict)
    target_groups: dict[str, TargetGroup] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    albs: dict[str, Alb] = field(default_factory=dict)
    security_groups: dict[str, SecurityGroup] = field(default_factory=dict)

    def hosts_of(self, role: str) -> list[Host]:
        return [h for h in self.hosts.values() if h.role == role]

    def vpc_of(self, subnet_id: str) -> str:
        return self.subnets[subnet_id].vpc


def short(resource_id: str) -> str:
    return resource_id.split("/", 1)[-1]


def _attrs(items) -> dict[str, str]:
    return {a["Key"]: str(a["Value"]) for a in items or []}


def _health(p: dict, gateway: bool) -> HealthCheck:
    """Target group health check with AWS's defaults for GWLB (gateway) or ALB target groups."""
    return HealthCheck(
        protocol=str(p.get("HealthCheckProtocol", "TCP" if gateway else p.get("Protocol", "HTTP"))),
        port=int(p.get("HealthCheckPort", 80 if gateway else p.get("Port", 80))),
        path=str(p.get("HealthCheckPath", "/")),
        interval=float(p.get("HealthCheckIntervalSeconds", 10 if gateway else 30)),
        timeout=float(p.get("HealthCheckTimeoutSeconds", 5)),
        healthy=int(p.get("HealthyThresholdCount", 5)),
        unhealthy=int(p.get("UnhealthyThresholdCount", 2)),
        matcher=str((p.get("Matcher") or {}).get("HttpCode", "200-399" if gateway else "200")),
    )


PROTOCOLS = {"-1": -1, "all": -1, "tcp": 6, "udp": 17, "icmp": 1}


def _sg_rule(p: dict) -> SgRule:
    proto = str(p.get("IpProtocol", "-1")).lower()
    number = PROTOCOLS[proto] if proto in PROTOCOLS else int(proto)
    group = p.get("SourceSecurityGroupId") or p.get("DestinationSecurityGroupId")
    return SgRule(
        number,
        int(p.get("FromPort", -1)),
        int(p.get("ToPort", -1)),
        p.get("CidrIp"),
        group,
    )


def _service_gwlb(service_name: str, services: dict[str, list[str]]) -> str:
    """The GWLB behind an endpoint's ServiceName, which names the endpoint service resource."""
    for service, lbs in services.items():
        if service_name.endswith("." + service) or service_name == service:
            return lbs[0]
    raise ModelError(f"endpoint service {service_name!r} is not in this set")


class _Reader:
    def __init__(self, stacks: list[Stack]):
        self.stacks = stacks
        self.spec = LabSpec()

    def each(self, type_: str):
        for s in self.stacks:
            for logical in s.of_type(type_):
                yield s, logical, f"{s.name}/{logical}", s.props(logical)

    def resource(self, ident: str) -> tuple[Stack, str]:
        name, _, logical = ident.partition("/")
        for s in self.stacks:
            if s.name == name and logical in s.resources:
                return s, logical
        raise ModelError(f"{ident} is not a resource of this set")

    def read(self) -> LabSpec:
        spec = self.spec
        for _, _, rid, p in self.each("AWS::EC2::VPC"):
            spec.vpcs[rid] = p["CidrBlock"]
        for _, logical, rid, p in self.each("AWS::EC2::Subnet"):
            spec.subnets[rid] = Subnet(
                rid, logical, p["CidrBlock"], p["AvailabilityZone"], p["VpcId"]
            )
        for _, _, rid, _ in self.each("AWS::EC2::RouteTable"):
            spec.routes.setdefault(rid, [])
        for _, _, _, p in self.each("AWS::EC2::SubnetRouteTableAssociation"):
            spec.table_of_subnet[p["SubnetId"]] = p["RouteTableId"]
        for _, logical, _, p in self.each("AWS::EC2::Route"):
            kinds = [k for k in p if k.endswith("Id") and k != "RouteTableId"]
            known = [k for k in kinds if k in ROUTE_TARGETS]
            if not known:
                raise ModelError(f"{logical}: the lab does not emulate route target {kinds}")
            if "DestinationCidrBlock" not in p:
                continue  # IPv6 routes: the lab carries IPv4 only
            k = known[0]
            spec.routes.setdefault(p["RouteTableId"], []).append(
                Route(p["DestinationCidrBlock"], ROUTE_TARGETS[k], p[k])
            )
        igw_vpc = {
            p["InternetGatewayId"]: p["VpcId"]
            for *_, p in self.each("AWS::EC2::VPCGatewayAttachment")
            if "InternetGatewayId" in p
        }
        igw_table = {
            p["GatewayId"]: p["RouteTableId"]
            for *_, p in self.each("AWS::EC2::GatewayRouteTableAssociation")
        }
        for _, logical, rid, _ in self.each("AWS::EC2::InternetGateway"):
            if rid in igw_vpc:
                spec.igws[rid] = Igw(rid, logical, igw_vpc[rid], igw_table.get(rid))
        for _, logical, rid, p in self.each("AWS::EC2::NatGateway"):
            if p.get("ConnectivityType", "public") != "public":
                raise ModelError(f"{logical}: private NAT gateways are not emulated")
            spec.nats[rid] = Nat(rid, logical, p["SubnetId"])
        self._balancers()
        self._hosts()
        self._security_groups()
        return spec

    def _security_groups(self) -> None:
        extra: dict[str, dict[str, list[SgRule]]] = {}
        for kind, way in (("Ingress", "ingress"), ("Egress", "egress")):
            for *_, p in self.each(f"AWS::EC2::SecurityGroup{kind}"):
                extra.setdefault(p["GroupId"], {}).setdefault(way, []).append(_sg_rule(p))
        for _, logical, rid, p in self.each("AWS::EC2::SecurityGroup"):
            more = extra.get(rid, {})
            ingress = [_sg_rule(r) for r in p.get("SecurityGroupIngress", [])]
            if "SecurityGroupEgress" in p:
                egress = [_sg_rule(r) for r in p["SecurityGroupEgress"]]
            else:  # AWS's default: everything out
                egress = [SgRule(-1, -1, -1, "0.0.0.0/0", None)]
            self.spec.security_groups[rid] = SecurityGroup(
                rid,
                logical,
                tuple(ingress + more.get("ingress", [])),
                tuple(egress + more.get("egress", [])),
            )

    def _balancers(self) -> None:
        spec = self.spec
        for _, logical, rid, p in self.each("AWS::ElasticLoadBalancingV2::TargetGroup"):
            gateway = p.get("Protocol") == "GENEVE"
            spec.target_groups[rid] = TargetGroup(
                rid,
                logical,
                str(p.get("Protocol", "HTTP")),
                int(p.get("Port", 80)),
                _health(p, gateway),
                _attrs(p.get("TargetGroupAttributes")),
            )
        forward: dict[str, str] = {}  # load balancer -> its listener's target group
        port: dict[str, int] = {}
        for _, _, _, p in self.each("AWS::ElasticLoadBalancingV2::Listener"):
            for action in p.get("DefaultActions", []):
                if action.get("Type") == "forward":
                    forward[p["LoadBalancerArn"]] = action["TargetGroupArn"]
                    port[p["LoadBalancerArn"]] = int(p.get("Port", 80))
        for _, logical, rid, p in self.each("AWS::ElasticLoadBalancingV2::LoadBalancer"):
            if rid not in forward:
                raise ModelError(f"{logical} has no forwarding listener")
            tg = forward[rid]
            if p.get("Type") == "gateway":
                attrs = _attrs(p.get("LoadBalancerAttributes"))
                cross = attrs.get("load_balancing.cross_zone.enabled") == "true"
                spec.gwlbs[rid] = Gwlb(rid, logical, tuple(p["Subnets"]), cross, tg)
            elif p.get("Type", "application") == "application":
                if p.get("Scheme") != "internet-facing":
                    raise ModelError(f"{logical}: internal ALBs are not emulated")
                targets = self.resource(tg)
                tprops = targets[0].props(targets[1])
                listed = tuple((t["Id"], int(t.get("Port", 80))) for t in tprops.get("Targets", []))
                groups = tuple(p.get("SecurityGroups", []))
                spec.albs[rid] = Alb(
                    rid, logical, tuple(p["Subnets"]), port[rid], tg, listed, groups
                )
        services = {
            rid: p["GatewayLoadBalancerArns"]
            for _, _, rid, p in self.each("AWS::EC2::VPCEndpointService")
            if p.get("GatewayLoadBalancerArns")
        }
        for _, logical, rid, p in self.each("AWS::EC2::VPCEndpoint"):
            if p.get("VpcEndpointType") == "GatewayLoadBalancer":
                gwlb = _service_gwlb(str(p["ServiceName"]), services)
                spec.endpoints[rid] = Endpoint(rid, logical, p["SubnetIds"][0], gwlb)

    def _hosts(self) -> None:
        spec = self.spec
        eip_instances = {
            p["InstanceId"] for *_, p in self.each("AWS::EC2::EIP") if "InstanceId" in p
        }
        web_targets = {t for alb in spec.albs.values() for t, _ in alb.targets}
        for _, logical, rid, p in self.each("AWS::EC2::Instance"):
            role = "web" if rid in web_targets else "other"
            spec.hosts[rid] = Host(
                rid,
                logical,
                p["SubnetId"],
                role,
                str(p.get("UserData", "")),
                rid in eip_instances,
                tuple(p.get("SecurityGroupIds", [])),
            )
        gateway_tgs = {t for t, g in spec.target_groups.items() if g.protocol == "GENEVE"}
        for _s, logical, rid, p in self.each("AWS::AutoScaling::AutoScalingGroup"):
            lt = p.get("LaunchTemplate", {}).get("LaunchTemplateId")
            if lt is None:
                raise ModelError(f"{logical}: only launch templates are emulated")
            lt_stack, lt_logical = self.resource(lt)
            data = lt_stack.props(lt_logical)["LaunchTemplateData"]
            role = "appliance" if gateway_tgs & set(p.get("TargetGroupARNs", [])) else "other"
            subnets = p["VPCZoneIdentifier"]
            count = int(p.get("DesiredCapacity", p.get("MinSize", 1)))
            for i in range(count):
                # Auto Scaling spreads instances evenly over the zones, in the listed order.
                hid = f"{rid}#{i + 1}"
                spec.hosts[hid] = Host(
                    hid,
                    f"{logical}{i + 1}",
                    subnets[i % len(subnets)],
                    role,
                    str(data.get("UserData", "")),
                    False,
                    tuple(data.get("SecurityGroupIds", [])),
                )


def unique_names(spec: LabSpec) -> LabSpec:
    """Hosts named alike in several stacks (WebServer1 of each application VPC) get their
    stack's name in front, so namespaces, directories and table rows never collide."""
    counts: dict[str, int] = {}
    for h in spec.hosts.values():
        counts[h.name] = counts.get(h.name, 0) + 1
    for hid, h in list(spec.hosts.items()):
        if counts[h.name] > 1:
            spec.hosts[hid] = replace(h, name=f"{hid.split('/', 1)[0]}-{h.name}")
    return spec


def read(stacks: list[Stack]) -> LabSpec:
    """The lab's model of an evaluated set."""
    try:
        return _Reader(stacks).read()
    except (KeyError, IndexError, TypeError) as exc:
        raise ModelError(f"unexpected template shape: {exc!r}") from None


def load_spec(directory: Path) -> LabSpec:
    return unique_names(read(deployed.evaluate(deployed.load_set(directory))))

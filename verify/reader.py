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
from verify.errors import SetError
from verify.evaluate import READ_ERRORS, Stack, Unresolved, evaluate
from verify.model import (
    ROUTE_DESTINATIONS,
    ROUTE_TARGETS,
    Alb,
    Endpoint,
    EndpointService,
    Group,
    Gwlb,
    HealthCheck,
    Host,
    Igw,
    NaclEntry,
    Nat,
    NetworkAcl,
    Route,
    SecurityGroup,
    SetModel,
    SgRule,
    Subnet,
    TargetGroup,
    Vpc,
)

PROTOCOLS = {"-1": -1, "all": -1, "tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}


def _attrs(items: object) -> dict[str, str]:
    return {str(a["Key"]): str(a["Value"]) for a in items or [] if isinstance(a, dict)}


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


def _sg_rule(p: dict) -> SgRule:
    proto = str(p.get("IpProtocol", "-1")).lower()
    number = PROTOCOLS[proto] if proto in PROTOCOLS else int(proto)
    group = p.get("SourceSecurityGroupId") or p.get("DestinationSecurityGroupId")
    cidr = p.get("CidrIp")
    if isinstance(cidr, Unresolved):
        cidr = None  # a required parameter with no value: the rule admits no one we can name
    return SgRule(number, int(p.get("FromPort", -1)), int(p.get("ToPort", -1)), cidr, group)


class _Reader:
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
        self._balancers()
        self._hosts()
        self._security_groups()
        self._network_acls()
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

    def _security_groups(self) -> None:
        extra: dict[str, dict[str, list[SgRule]]] = {}
        for kind, way in (("Ingress", "ingress"), ("Egress", "egress")):
            for *_, p in self.each(f"AWS::EC2::SecurityGroup{kind}"):
                extra.setdefault(self.ident(p, "GroupId"), {}).setdefault(way, []).append(
                    _sg_rule(p)
                )
        for logical, rid, p in self.each("AWS::EC2::SecurityGroup"):
            more = extra.get(rid, {})
            ingress = [_sg_rule(r) for r in p.get("SecurityGroupIngress", [])]
            if "SecurityGroupEgress" in p:
                egress = [_sg_rule(r) for r in p["SecurityGroupEgress"]]
            else:  # AWS's default: everything out
                egress = [SgRule(-1, -1, -1, "0.0.0.0/0", None)]
            self.model.security_groups[rid] = SecurityGroup(
                rid,
                logical,
                tuple(ingress + more.get("ingress", [])),
                tuple(egress + more.get("egress", [])),
            )

    def _network_acls(self) -> None:
        entries: dict[str, list[NaclEntry]] = {}
        for _, _, p in self.each("AWS::EC2::NetworkAclEntry"):
            proto = str(p.get("Protocol", "-1")).lower()
            ports = p.get("PortRange") or {}
            icmp = p.get("Icmp") or {}
            egress = p.get("Egress") in (True, "true", "True")
            cidr = p.get("CidrBlock") or p.get("Ipv6CidrBlock")
            entries.setdefault(self.ident(p, "NetworkAclId"), []).append(
                NaclEntry(
                    int(p["RuleNumber"]),
                    egress,
                    str(p.get("RuleAction", "")).lower() == "allow",
                    PROTOCOLS[proto] if proto in PROTOCOLS else int(proto),
                    None if isinstance(cidr, Unresolved) else cidr,
                    int(ports.get("From", -1)),
                    int(ports.get("To", -1)),
                    int(icmp.get("Type", -1)),
                    int(icmp.get("Code", -1)),
                )
            )
        for logical, rid, p in self.each("AWS::EC2::NetworkAcl"):
            ordered = tuple(sorted(entries.get(rid, []), key=lambda e: (e.egress, e.number)))
            self.model.network_acls[rid] = NetworkAcl(rid, logical, p.get("VpcId"), ordered)
        for _, _, p in self.each("AWS::EC2::SubnetNetworkAclAssociation"):
            self.model.acl_of_subnet[self.ident(p, "SubnetId")] = self.ident(p, "NetworkAclId")

    def _balancers(self) -> None:
        model = self.model
        for logical, rid, p in self.each("AWS::ElasticLoadBalancingV2::TargetGroup"):
            gateway = p.get("Protocol") == "GENEVE"
            listed = tuple((str(t["Id"]), int(t.get("Port", 80))) for t in p.get("Targets", []))
            model.target_groups[rid] = TargetGroup(
                rid,
                logical,
                str(p.get("Protocol", "HTTP")),
                int(p.get("Port", 80)),
                _health(p, gateway),
                _attrs(p.get("TargetGroupAttributes")),
                listed,
            )
        forward: dict[str, tuple[str, int]] = {}  # load balancer -> (target group, port)
        listener_attributes: dict[str, dict[str, str]] = {}
        for _, _, p in self.each("AWS::ElasticLoadBalancingV2::Listener"):
            balancer = self.ident(p, "LoadBalancerArn")
            listener_attributes[balancer] = _attrs(p.get("ListenerAttributes"))
            for action in p.get("DefaultActions", []):
                if action.get("Type") == "forward" and "TargetGroupArn" in action:
                    forward[self.ident(p, "LoadBalancerArn")] = (
                        self.ident(action, "TargetGroupArn"),
                        int(p.get("Port", 80)),
                    )
        for logical, rid, p in self.each("AWS::ElasticLoadBalancingV2::LoadBalancer"):
            target_group, port = forward.get(rid, (None, 0))
            subnets = self.idents(p, "Subnets") or tuple(
                self.ident(m, "SubnetId") for m in p.get("SubnetMappings", [])
            )
            if p.get("Type") == "gateway":
                attrs = _attrs(p.get("LoadBalancerAttributes"))
                cross = attrs.get("load_balancing.cross_zone.enabled") == "true"
                model.gwlbs[rid] = Gwlb(
                    rid, logical, subnets, cross, target_group, listener_attributes.get(rid, {})
                )
            elif p.get("Type", "application") == "application":
                if target_group is None:
                    raise SetError(f"{self.where}: the ALB has no forwarding listener")
                if p.get("Scheme") != "internet-facing":
                    raise SetError(f"{self.where}: internal ALBs are not modelled")
                listed = model.target_groups[target_group].targets
                groups = tuple(p.get("SecurityGroups", []))
                model.albs[rid] = Alb(
                    rid, logical, model.label(rid), subnets, port, target_group, listed, groups
                )
        for logical, rid, p in self.each("AWS::EC2::VPCEndpointService"):
            lbs = tuple(p.get("GatewayLoadBalancerArns", []))
            model.endpoint_services[rid] = EndpointService(rid, logical, lbs)
        for logical, rid, p in self.each("AWS::EC2::VPCEndpoint"):
            if p.get("VpcEndpointType") == "GatewayLoadBalancer":
                service = str(p.get("ServiceName", ""))
                subnet = (self.idents(p, "SubnetIds") or (None,))[0]
                gwlb = _service_gwlb(service, model.endpoint_services)
                label = model.label(rid)
                model.endpoints[rid] = Endpoint(rid, logical, label, subnet, service, gwlb)

    def _hosts(self) -> None:
        model = self.model
        eip_instances = {
            p["InstanceId"] for *_, p in self.each("AWS::EC2::EIP") if "InstanceId" in p
        }
        web_targets = {t for alb in model.albs.values() for t, _ in alb.targets}
        for logical, rid, p in self.each("AWS::EC2::Instance"):
            waits = _waits(self.stack_of(rid).resources[logical])
            model.hosts[rid] = Host(
                rid,
                model.label(rid),
                self.ident(p, "SubnetId"),
                "web" if rid in web_targets else "other",
                str(p.get("UserData", "")),
                rid in eip_instances,
                tuple(p.get("SecurityGroupIds", [])),
                signals=waits or _signals(p.get("UserData")),
                profile=bool(p.get("IamInstanceProfile")),
            )
        geneve = {t for t, g in model.target_groups.items() if g.protocol == "GENEVE"}
        for logical, rid, p in self.each("AWS::AutoScaling::AutoScalingGroup"):
            subnets = self.idents(p, "VPCZoneIdentifier")
            tgs = self.idents(p, "TargetGroupARNs")
            if not subnets:
                raise SetError(f"{self.where}: VPCZoneIdentifier names no subnet")
            count = int(p.get("DesiredCapacity", p.get("MinSize", 1)))
            model.groups[rid] = Group(
                rid,
                logical,
                subnets,
                tgs,
                count,
                int(p.get("MinSize", 0)),
                int(p.get("MaxSize", 0)),
            )
            template = p.get("LaunchTemplate", {}).get("LaunchTemplateId")
            if template is None:
                raise SetError(f"{self.where}: only launch templates are modelled")
            lt_stack, lt_logical = self.resource(template)
            data = lt_stack.props(lt_logical).get("LaunchTemplateData", {})
            role = "appliance" if geneve & set(tgs) else "other"
            for member in range(count):
                # Auto Scaling spreads instances evenly over the zones, in the listed order.
                hid = naming.group_member_ref(rid, member + 1)
                model.hosts[hid] = Host(
                    hid,
                    naming.group_member_label(model.label(rid), member + 1),
                    subnets[member % len(subnets)],
                    role,
                    str(data.get("UserData", "")),
                    False,
                    tuple(data.get("SecurityGroupIds", [])),
                    rid,
                    _waits(self.stack_of(rid).resources[logical]) or _signals(data.get("UserData")),
                    bool(data.get("IamInstanceProfile")),
                )


SIGNAL_WORDS = ("cfn-signal", "signal-resource")


def _waits(resource: dict) -> bool:
    """Whether CloudFormation waits for the resource's signals (a ResourceSignal policy)."""
    policy = resource.get("CreationPolicy") or {}
    return isinstance(policy, dict) and "ResourceSignal" in policy


def _signals(user_data: object) -> bool:
    return any(word in str(user_data or "") for word in SIGNAL_WORDS)


def _service_gwlb(service_name: str, services: dict[str, EndpointService]) -> str | None:
    """The GWLB behind an endpoint's ServiceName, which ends with the endpoint service's ID
    (<prefix>.<region>.<service id>)."""
    for service in services.values():
        if service.gwlbs and (
            service_name.endswith("." + service.id) or service_name == service.id
        ):
            return service.gwlbs[0]
    return None


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
    reader = _Reader(stacks)
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

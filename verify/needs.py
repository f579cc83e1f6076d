"""What a rendered set will take from an account's quotas, counted from the set itself: Elastic
IPs, VPCs, internet gateways, NAT gateways per zone, interface and GWLB endpoints per VPC,
instances by type (Auto Scaling groups at their MaxSize), and transit gateways with, per gateway,
their attachments, route tables and routes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core import naming
from verify import evaluate, files
from verify.errors import SetError
from verify.read_transit import ATTACHMENT_TYPES

INSTANCE = "AWS::EC2::Instance"
GROUP = "AWS::AutoScaling::AutoScalingGroup"
LAUNCH_TEMPLATE = "AWS::EC2::LaunchTemplate"
SUBNET = "AWS::EC2::Subnet"
# Endpoint types that count against "Interface and Gateway Load Balancer endpoints per VPC".
ENDPOINT_TYPES = ("GatewayLoadBalancer", "Interface")


@dataclass(frozen=True)
class Needs:
    """The set's demand on each quota, and the instance types it launches."""

    elastic_ips: int
    vpcs: int
    internet_gateways: int
    nat_gateways_per_zone: int
    endpoints_per_vpc: int
    instances: dict[str, int] = field(default_factory=dict)  # instance type -> most running
    zones: int = 0  # distinct zones the set's subnets use
    transit_gateways: int = 0
    # Per transit gateway, the most any one of the set's gateways holds (AWS quotas are per TGW).
    tgw_attachments: int = 0
    tgw_route_tables: int = 0
    tgw_routes: int = 0  # static routes and propagations (each a propagated route)

    @property
    def instance_types(self) -> list[str]:
        return sorted(self.instances)


def count(stacks: list[evaluate.Stack]) -> Needs:
    """The needs of an evaluated set."""
    by_name = {stack.name: stack for stack in stacks}
    subnet_zone = {
        stack.ref(logical): str(stack.props(logical).get("AvailabilityZone", ""))
        for stack, logical in evaluate.each(stacks, SUBNET)
    }
    nat_zones = Counter(
        subnet_zone.get(str(stack.props(logical).get("SubnetId")), "")
        for stack, logical in evaluate.each(stacks, "AWS::EC2::NatGateway")
    )
    endpoints = Counter(
        str(stack.props(logical).get("VpcId"))
        for stack, logical in evaluate.each(stacks, "AWS::EC2::VPCEndpoint")
        if stack.props(logical).get("VpcEndpointType") in ENDPOINT_TYPES
    )
    instances: Counter[str] = Counter()
    for stack, logical in evaluate.each(stacks, INSTANCE):
        instances[_text(stack.props(logical).get("InstanceType"), stack, logical)] += 1
    for stack, logical in evaluate.each(stacks, GROUP):
        props = stack.props(logical)
        kind = _group_type(props, by_name, stack, logical)
        instances[kind] += int(str(props.get("MaxSize", props.get("DesiredCapacity", 0))))
    return Needs(
        elastic_ips=_count(stacks, "AWS::EC2::EIP"),
        vpcs=_count(stacks, "AWS::EC2::VPC"),
        internet_gateways=_count(stacks, "AWS::EC2::InternetGateway"),
        nat_gateways_per_zone=max(nat_zones.values(), default=0),
        endpoints_per_vpc=max(endpoints.values(), default=0),
        instances=dict(instances),
        zones=len({zone for zone in subnet_zone.values() if zone}),
        **_transit(stacks),
    )


TGW_PARTS = {  # what each TGW quota counts: resource type -> property naming its parent
    "tgw_attachments": (ATTACHMENT_TYPES, "TransitGatewayId"),
    "tgw_route_tables": (("AWS::EC2::TransitGatewayRouteTable",), "TransitGatewayId"),
}
TGW_ROUTE_TYPES = ("AWS::EC2::TransitGatewayRoute", "AWS::EC2::TransitGatewayRouteTablePropagation")


def _transit(stacks: list[evaluate.Stack]) -> dict[str, int]:
    """Transit gateways, and per gateway its attachments, route tables and routes."""
    found = {"transit_gateways": _count(stacks, "AWS::EC2::TransitGateway")}
    table_tgw: dict[str, str] = {}
    for stack, logical in evaluate.each(stacks, "AWS::EC2::TransitGatewayRouteTable"):
        table_tgw[stack.ref(logical)] = str(stack.props(logical).get("TransitGatewayId"))
    for field_name, (types, parent) in TGW_PARTS.items():
        per = Counter(
            str(stack.props(logical).get(parent))
            for type_ in types
            for stack, logical in evaluate.each(stacks, type_)
        )
        found[field_name] = max(per.values(), default=0)
    routes = Counter(
        table_tgw.get(str(stack.props(logical).get("TransitGatewayRouteTableId")), "")
        for type_ in TGW_ROUTE_TYPES
        for stack, logical in evaluate.each(stacks, type_)
    )
    found["tgw_routes"] = max(routes.values(), default=0)
    return found


def of_directory(directory: Path, parameters: dict[str, str] | None = None) -> Needs:
    """The needs of the set in `directory`, with the given master parameters over defaults."""
    return count(evaluate.evaluate(files.load(directory), parameters))


def _count(stacks: list[evaluate.Stack], resource_type: str) -> int:
    return sum(1 for _ in evaluate.each(stacks, resource_type))


def _text(value: object, stack: evaluate.Stack, logical: str) -> str:
    if not isinstance(value, str) or isinstance(value, evaluate.Unresolved) or not value:
        raise SetError(f"{stack.file}: {logical}: instance type {value!r} cannot be read")
    return value


def _group_type(
    props: dict, by_name: dict[str, evaluate.Stack], stack: evaluate.Stack, logical: str
) -> str:
    """The instance type an Auto Scaling group launches, through its launch template."""
    template = props.get("LaunchTemplate") or {}
    ref = str(template.get("LaunchTemplateId") or template.get("LaunchTemplateName") or "")
    owner_name, template_logical = naming.parse_resource_ref(ref)
    owner = by_name.get(owner_name)
    if owner is None or template_logical not in owner.resources:
        raise SetError(f"{stack.file}: {logical}: launch template {ref!r} is not in the set")
    data = owner.props(template_logical).get("LaunchTemplateData") or {}
    return _text(data.get("InstanceType"), owner, template_logical)

"""What a rendered set will take from an account's quotas, counted from the set itself: Elastic
IPs, VPCs, internet gateways, NAT gateways per zone, interface and GWLB endpoints per VPC, transit
gateways with their route tables, attachments and routes, and instances by type (Auto Scaling
groups at their MaxSize)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core import naming
from verify import evaluate, files
from verify.errors import SetError

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
    # Transit gateways, and the most route tables, attachments and routes (static and
    # propagated) one of them holds.
    transit_gateways: int = 0
    transit_route_tables: int = 0
    transit_attachments: int = 0
    transit_routes: int = 0

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


def _transit(stacks: list[evaluate.Stack]) -> dict[str, int]:
    """Per gateway: its route tables, its attachments, and its routes (each static route and
    each propagation, which adds one route per attached VPC block)."""

    def per_gateway(resource_type: str, key: str) -> int:
        owners = Counter(
            str(stack.props(logical).get(key))
            for stack, logical in evaluate.each(stacks, resource_type)
        )
        return max(owners.values(), default=0)

    routes = _count(stacks, "AWS::EC2::TransitGatewayRoute") + _count(
        stacks, "AWS::EC2::TransitGatewayRouteTablePropagation"
    )
    attachments = per_gateway(
        "AWS::EC2::TransitGatewayVpcAttachment", "TransitGatewayId"
    ) + per_gateway("AWS::EC2::TransitGatewayAttachment", "TransitGatewayId")
    return {
        "transit_gateways": _count(stacks, "AWS::EC2::TransitGateway"),
        "transit_route_tables": per_gateway(
            "AWS::EC2::TransitGatewayRouteTable", "TransitGatewayId"
        ),
        "transit_attachments": attachments,
        "transit_routes": routes,
    }


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

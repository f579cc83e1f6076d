"""Nested-GWLB: the Gateway Load Balancer, GENEVE target group, endpoint service, endpoints."""

from __future__ import annotations

from troposphere import Equals, If, Not, Ref, Sub, ec2
from troposphere import elasticloadbalancingv2 as elb

from core import naming
from core.partitions import Partition
from generator.model import ComponentKind, Topology, Vpc
from generator.stacks import ipv6_network
from generator.stacks.base import Nested, NestedBuilder

CONCERN = "GWLB"
GENEVE_PORT = 6081
HEALTH_PORT = 80
HEALTH_PATH = "/health"
HEALTH_HAS_PATH = "HealthCheckHasPath"
TARGET_GROUP_ATTRIBUTES = {
    # 5-tuple flow hashing, the GWLB's own, stated rather than left to a default: a
    # configurable TCP idle timeout needs it, and 2- or 3-tuple stickiness would pin whole host
    # pairs to one appliance.
    "stickiness.enabled": "false",
    # Without these, flows of a failed or removed appliance stay pinned to it and are dropped.
    # With them the GWLB rehashes those flows onto healthy appliances, which pick them up
    # mid-stream. AWS requires the two values to match.
    "target_failover.on_unhealthy": "rebalance",
    "target_failover.on_deregistration": "rebalance",
}


def build(topology: Topology, partition: Partition, catalogue: dict) -> Nested:
    vpc = topology.inspection_vpc
    endpoints_here = bool(topology.placed(ComponentKind.GWLB_ENDPOINT, vpc.name))
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: Gateway Load Balancer (cross-zone), GENEVE target group health-checked "
        "on the appliance's own endpoint, endpoint service"
        + (" and one GWLB endpoint per AZ." if endpoints_here else " for the application VPCs."),
        catalogue,
        topology,
    )
    vpc_id = builder.vpc_ref(vpc)
    _add_load_balancer(builder, vpc, vpc_id)
    service_name = Sub(f"{partition.endpoint_service_prefix}.${{AWS::Region}}.${{EndpointService}}")
    builder.template.add_resource(
        ec2.VPCEndpointService(
            "EndpointService",
            AcceptanceRequired=False,
            GatewayLoadBalancerArns=[Ref("GatewayLoadBalancer")],
            **ipv6_network.supported_types(builder),
        )
    )
    add_endpoints(builder, vpc, service_name, vpc_id)
    builder.output("EndpointServiceName", service_name, "Service name for further GWLB endpoints.")
    return builder.done()


def _add_load_balancer(builder: NestedBuilder, vpc: Vpc, vpc_id) -> None:
    template = builder.template
    subnets = [
        builder.subnet_ref(s) for s in builder.topology.one(ComponentKind.GWLB, vpc.name).subnets
    ]
    template.add_resource(
        elb.LoadBalancer(
            "GatewayLoadBalancer",
            Type="gateway",
            Subnets=subnets,
            **ipv6_network.ip_address_type(builder),
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key="load_balancing.cross_zone.enabled", Value="true")
            ],
            Tags=builder.tags("gateway load balancer"),
        )
    )
    template.add_resource(
        elb.TargetGroup(
            "ApplianceTargetGroup",
            Protocol="GENEVE",
            Port=GENEVE_PORT,
            VpcId=vpc_id,
            TargetType="instance",
            **_health_check(builder),
            HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
            TargetGroupAttributes=[
                elb.TargetGroupAttribute(Key=key, Value=value)
                for key, value in TARGET_GROUP_ATTRIBUTES.items()
            ]
            + [
                elb.TargetGroupAttribute(
                    Key="deregistration_delay.timeout_seconds",
                    Value=builder.master("ApplianceDeregistrationDelay"),
                )
            ],
            Tags=builder.tags("appliance target group"),
        )
    )
    template.add_resource(
        elb.Listener(
            "GatewayLoadBalancerListener",
            LoadBalancerArn=Ref("GatewayLoadBalancer"),
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref("ApplianceTargetGroup"))],
            # The appliances' flow table takes the same value (their --tcp-idle).
            ListenerAttributes=[
                elb.ListenerAttribute(
                    Key="tcp.idle_timeout.seconds", Value=builder.master(naming.FLOW_IDLE_PARAMETER)
                )
            ],
        )
    )
    builder.output("ApplianceTargetGroupArn", Ref("ApplianceTargetGroup"), "GENEVE target group.")
    builder.output("GatewayLoadBalancerArn", Ref("GatewayLoadBalancer"), "Gateway Load Balancer.")


def _health_check(builder: NestedBuilder) -> dict:
    """Our appliance answers its own health endpoint only while every worker turns, so a dead
    data plane leaves the group (the replaced quickstart probed sshd instead). A brought image
    is checked as its parameters say; a path only where the protocol has one."""
    if builder.topology.appliance == "ours":
        return {
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPort": str(HEALTH_PORT),
            "HealthCheckPath": HEALTH_PATH,
        }
    protocol = builder.master("ApplianceHealthProtocol")
    builder.template.add_condition(HEALTH_HAS_PATH, Not(Equals(protocol, "TCP")))
    return {
        "HealthCheckProtocol": protocol,
        "HealthCheckPort": builder.master("ApplianceHealthPort"),
        "HealthCheckPath": If(
            HEALTH_HAS_PATH, builder.master("ApplianceHealthPath"), Ref("AWS::NoValue")
        ),
    }


def add_endpoints(builder: NestedBuilder, vpc: Vpc, service_name, vpc_id) -> None:
    """One GWLB endpoint per endpoint subnet of `vpc`, on the given endpoint service."""
    for endpoint in builder.topology.placed(ComponentKind.GWLB_ENDPOINT, vpc.name):
        (subnet,) = endpoint.subnets
        logical = naming.endpoint_id(subnet.az)
        builder.template.add_resource(
            ec2.VPCEndpoint(
                logical,
                VpcEndpointType="GatewayLoadBalancer",
                ServiceName=service_name,
                VpcId=vpc_id,
                SubnetIds=[builder.subnet_ref(subnet)],
                **ipv6_network.ip_address_type(builder),
            )
        )
        builder.output(
            naming.resource_output(logical), Ref(logical), f"GWLB endpoint in AZ {subnet.az + 1}."
        )

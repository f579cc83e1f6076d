"""Nested-GWLB: the Gateway Load Balancer, GENEVE target group, endpoint service, endpoints."""

from __future__ import annotations

from troposphere import Ref, Sub, ec2
from troposphere import elasticloadbalancingv2 as elb

from generator import naming
from generator.model import Tier, Topology
from generator.partitions import Partition
from generator.stacks.base import Nested, NestedBuilder

CONCERN = "GWLB"
GENEVE_PORT = 6081
HEALTH_PORT = 80
HEALTH_PATH = "/health"
TARGET_GROUP_ATTRIBUTES = {
    "deregistration_delay.timeout_seconds": "30",
    # Without these, flows of a failed or removed appliance stay pinned to it and are dropped.
    # With them the GWLB rehashes those flows onto healthy appliances, which pick them up
    # mid-stream. AWS requires the two values to match.
    "target_failover.on_unhealthy": "rebalance",
    "target_failover.on_deregistration": "rebalance",
}


def build(topology: Topology, partition: Partition, catalogue: dict) -> Nested:
    b = NestedBuilder(
        CONCERN,
        "GWLB quickstart: Gateway Load Balancer (cross-zone), GENEVE target group health-checked "
        "on the appliance's own endpoint, endpoint service and one GWLB endpoint per AZ.",
        catalogue,
    )
    vpc_id = b.vpc_input()
    _add_load_balancer(b, topology, vpc_id)
    _add_endpoints(b, topology, partition, vpc_id)
    return b.done()


def _add_load_balancer(b: NestedBuilder, topology: Topology, vpc_id) -> None:
    t = b.template
    subnets = [b.subnet_input(s) for s in topology.tier(Tier.APPLIANCE)]
    t.add_resource(
        elb.LoadBalancer(
            "GatewayLoadBalancer",
            Type="gateway",
            Subnets=subnets,
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key="load_balancing.cross_zone.enabled", Value="true")
            ],
            Tags=b.tags("gateway load balancer"),
        )
    )
    t.add_resource(
        elb.TargetGroup(
            "ApplianceTargetGroup",
            Protocol="GENEVE",
            Port=GENEVE_PORT,
            VpcId=vpc_id,
            TargetType="instance",
            # The appliance answers its own health endpoint only while every worker turns, so a
            # dead data plane leaves the group (the replaced quickstart probed sshd instead).
            HealthCheckProtocol="HTTP",
            HealthCheckPort=str(HEALTH_PORT),
            HealthCheckPath=HEALTH_PATH,
            HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
            TargetGroupAttributes=[
                elb.TargetGroupAttribute(Key=key, Value=value)
                for key, value in TARGET_GROUP_ATTRIBUTES.items()
            ],
            Tags=b.tags("appliance target group"),
        )
    )
    t.add_resource(
        elb.Listener(
            "GatewayLoadBalancerListener",
            LoadBalancerArn=Ref("GatewayLoadBalancer"),
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref("ApplianceTargetGroup"))],
        )
    )
    b.output("ApplianceTargetGroupArn", Ref("ApplianceTargetGroup"), "GENEVE target group.")
    b.output("GatewayLoadBalancerArn", Ref("GatewayLoadBalancer"), "Gateway Load Balancer.")


def _add_endpoints(b: NestedBuilder, topology: Topology, partition: Partition, vpc_id) -> None:
    t = b.template
    t.add_resource(
        ec2.VPCEndpointService(
            "EndpointService",
            AcceptanceRequired=False,
            GatewayLoadBalancerArns=[Ref("GatewayLoadBalancer")],
        )
    )
    service_name = Sub(f"{partition.endpoint_service_prefix}.${{AWS::Region}}.${{EndpointService}}")
    for subnet in topology.tier(Tier.ENDPOINT):
        logical = naming.endpoint_id(subnet.az)
        t.add_resource(
            ec2.VPCEndpoint(
                logical,
                VpcEndpointType="GatewayLoadBalancer",
                ServiceName=service_name,
                VpcId=vpc_id,
                SubnetIds=[b.subnet_input(subnet)],
            )
        )
        b.output(f"{logical}Id", Ref(logical), f"GWLB endpoint in AZ {subnet.az + 1}.")
    b.output("EndpointServiceName", service_name, "Service name for further GWLB endpoints.")

"""The set reader's part for load balancing: target groups with their health checks and
attributes, GWLBs and ALBs with their listeners, endpoint services and GWLB endpoints."""

from __future__ import annotations

from verify.errors import SetError
from verify.evaluate import attribute_value
from verify.model import Alb, Endpoint, EndpointService, Gwlb, HealthCheck, TargetGroup
from verify.read_context import ReadContext

PRIVATE_IP = "PrivateIp"  # the instance attribute an IP target group lists


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


def balancers(reader: ReadContext) -> None:
    """Target groups, listeners, GWLBs and ALBs, endpoint services and GWLB endpoints."""
    model = reader.model
    # An IP target given as an instance's GetAtt PrivateIp (passed across stacks) is that host.
    private_ips = {
        attribute_value(stack.ref(logical), PRIVATE_IP): stack.ref(logical)
        for stack in reader.stacks
        for logical in stack.of_type("AWS::EC2::Instance")
    }
    for logical, rid, p in reader.each("AWS::ElasticLoadBalancingV2::TargetGroup"):
        gateway = p.get("Protocol") == "GENEVE"
        listed = tuple(
            (private_ips.get(str(t["Id"]), str(t["Id"])), int(t.get("Port", 80)))
            for t in p.get("Targets", [])
        )
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
    for _, _, p in reader.each("AWS::ElasticLoadBalancingV2::Listener"):
        balancer = reader.ident(p, "LoadBalancerArn")
        listener_attributes[balancer] = _attrs(p.get("ListenerAttributes"))
        for action in p.get("DefaultActions", []):
            if action.get("Type") == "forward" and "TargetGroupArn" in action:
                forward[reader.ident(p, "LoadBalancerArn")] = (
                    reader.ident(action, "TargetGroupArn"),
                    int(p.get("Port", 80)),
                )
    for logical, rid, p in reader.each("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        target_group, port = forward.get(rid, (None, 0))
        subnets = reader.idents(p, "Subnets") or tuple(
            reader.ident(m, "SubnetId") for m in p.get("SubnetMappings", [])
        )
        if p.get("Type") == "gateway":
            attrs = _attrs(p.get("LoadBalancerAttributes"))
            cross = attrs.get("load_balancing.cross_zone.enabled") == "true"
            model.gwlbs[rid] = Gwlb(
                rid, logical, subnets, cross, target_group, listener_attributes.get(rid, {})
            )
        elif p.get("Type", "application") == "application":
            if target_group is None:
                raise SetError(f"{reader.where}: the ALB has no forwarding listener")
            if p.get("Scheme") != "internet-facing":
                raise SetError(f"{reader.where}: internal ALBs are not modelled")
            listed = model.target_groups[target_group].targets
            groups = tuple(p.get("SecurityGroups", []))
            model.albs[rid] = Alb(
                rid, logical, model.label(rid), subnets, port, target_group, listed, groups
            )
    for logical, rid, p in reader.each("AWS::EC2::VPCEndpointService"):
        lbs = tuple(p.get("GatewayLoadBalancerArns", []))
        model.endpoint_services[rid] = EndpointService(rid, logical, lbs)
    for logical, rid, p in reader.each("AWS::EC2::VPCEndpoint"):
        if p.get("VpcEndpointType") == "GatewayLoadBalancer":
            service = str(p.get("ServiceName", ""))
            subnet = (reader.idents(p, "SubnetIds") or (None,))[0]
            gwlb = _service_gwlb(service, model.endpoint_services)
            label = model.label(rid)
            model.endpoints[rid] = Endpoint(rid, logical, label, subnet, service, gwlb)


def _service_gwlb(service_name: str, services: dict[str, EndpointService]) -> str | None:
    """The GWLB behind an endpoint's ServiceName, which ends with the endpoint service's ID
    (<prefix>.<region>.<service id>)."""
    for service in services.values():
        if service.gwlbs and (
            service_name.endswith("." + service.id) or service_name == service.id
        ):
            return service.gwlbs[0]
    return None

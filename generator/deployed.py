"""Evaluates a rendered template set as CloudFormation would wire it (parameter defaults, nested
outputs, symbolic physical IDs) and extracts the network: subnets, route tables, routes, hops."""

from __future__ import annotations

import ipaddress
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from core import cfn_yaml
from core.sets import MASTER_FILE

ROUTE_TARGETS = {"GatewayId": "igw", "NatGatewayId": "nat", "VpcEndpointId": "gwlbe"}


@dataclass
class Network:
    """What the route-path simulator needs, keyed by symbolic physical IDs."""

    vpc_cidrs: dict[str, str] = field(default_factory=dict)
    subnets: dict[str, dict] = field(default_factory=dict)  # id -> {cidr, az, vpc, name}
    table_of_subnet: dict[str, str] = field(default_factory=dict)
    routes: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # (cidr, kind, id)
    nat_subnet: dict[str, str] = field(default_factory=dict)
    endpoint_subnet: dict[str, str] = field(default_factory=dict)
    endpoint_service_name: dict[str, str] = field(default_factory=dict)  # endpoint -> ServiceName
    endpoint_services: dict[str, list[str]] = field(default_factory=dict)  # service -> its GWLBs
    endpoint_service_lbs: dict[str, list[str]] = field(default_factory=dict)  # lb -> its subnets
    cross_zone: bool = False
    appliance_subnets: list[str] = field(default_factory=list)
    instances: dict[str, str] = field(default_factory=dict)  # "WebStack/WebServer1" -> subnet
    albs: dict[str, list[str]] = field(default_factory=dict)  # internet-facing ALB -> subnets


load_set = cfn_yaml.load_set


def cidr_blocks(block: str, count: int, host_bits: int) -> list[str]:
    """Fn::Cidr: the first `count` blocks with `host_bits` host bits each, in address order."""
    network = ipaddress.IPv4Network(block, strict=False)
    prefix = network.max_prefixlen - host_bits
    if not network.prefixlen <= prefix <= network.max_prefixlen:
        raise ValueError(f"Fn::Cidr: /{prefix} does not fit in {block}")
    blocks = [str(n) for n in itertools.islice(network.subnets(new_prefix=prefix), count)]
    if len(blocks) < count:
        raise ValueError(f"Fn::Cidr: {block} holds only {len(blocks)} /{prefix} blocks")
    return blocks


class Stack:
    def __init__(self, name: str, body: dict, params: dict[str, object]):
        self.name, self.body, self.params = name, body, params
        self.resources = body.get("Resources", {})

    def eval(self, value):
        if isinstance(value, list):
            return [self.eval(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.eval(v) for k, v in value.items()}
        ((fn, arg),) = value.items()
        if fn == "Ref":
            if arg in self.params:
                return self.params[arg]
            if arg == "AWS::StackName":
                return self.name
            if arg in self.resources:
                return f"{self.name}/{arg}"
            return f"<{arg}>"
        if fn == "Fn::GetAZs":
            return [f"az{i}" for i in range(6)]
        if fn == "Fn::Select":
            index, items = self.eval(arg[0]), self.eval(arg[1])
            return items[int(index)]
        if fn == "Fn::Cidr":
            block, count, bits = (self.eval(a) for a in arg)
            return cidr_blocks(str(block), int(count), int(bits))
        if fn == "Fn::Join":
            separator, items = self.eval(arg[0]), self.eval(arg[1])
            return str(separator).join(str(i) for i in items)
        if fn == "Fn::Split":
            separator, text = self.eval(arg[0]), self.eval(arg[1])
            return str(text).split(str(separator))
        if fn == "Fn::Base64":
            return self.eval(arg)  # the text itself: readers want user data, not its encoding
        if fn == "Fn::GetAtt":
            return f"{self.name}/{arg[0]}.{arg[1]}"
        if fn == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self.eval({"Ref": m.group(1)})), text)
        return {fn: self.eval(arg)}

    def props(self, logical: str) -> dict:
        return self.eval(self.resources[logical].get("Properties", {}))

    def of_type(self, type_: str) -> list[str]:
        return [k for k, r in self.resources.items() if r["Type"] == type_]


def evaluate(templates: dict[str, dict]) -> list[Stack]:
    """Nested stacks with their parameters resolved, in an order where inputs precede users."""
    master_body = templates[MASTER_FILE]
    defaults = {k: p.get("Default") for k, p in master_body.get("Parameters", {}).items()}
    master = Stack("Master", master_body, defaults)
    pending = {
        k: r for k, r in master.resources.items() if r["Type"] == "AWS::CloudFormation::Stack"
    }
    outputs: dict[str, dict[str, object]] = {}
    stacks: list[Stack] = []
    while pending:
        progressed = False
        for logical, res in list(pending.items()):
            params = res["Properties"].get("Parameters", {})
            needs = [
                v["Fn::GetAtt"][0]
                for v in params.values()
                if isinstance(v, dict) and "Fn::GetAtt" in v
            ]
            if any(n not in outputs for n in needs):
                continue
            values = {}
            for key, value in params.items():
                if isinstance(value, dict) and "Fn::GetAtt" in value:
                    stack, attr = value["Fn::GetAtt"]
                    values[key] = outputs[stack][attr.removeprefix("Outputs.")]
                else:
                    values[key] = master.eval(value)
            body = templates[res["Properties"]["TemplateURL"]]
            stack = Stack(logical, body, values)
            outputs[logical] = {
                k: stack.eval(o["Value"]) for k, o in body.get("Outputs", {}).items()
            }
            stacks.append(stack)
            del pending[logical]
            progressed = True
        if not progressed:
            raise ValueError(f"nested stacks wait on each other: {sorted(pending)}")
    return stacks


def network(templates: dict[str, dict]) -> Network:
    net = Network()
    target_groups: dict[str, str] = {}
    for s in evaluate(templates):
        for logical in s.of_type("AWS::EC2::VPC"):
            net.vpc_cidrs[f"{s.name}/{logical}"] = s.props(logical)["CidrBlock"]
        for logical in s.of_type("AWS::EC2::Subnet"):
            p = s.props(logical)
            net.subnets[f"{s.name}/{logical}"] = {
                "cidr": p["CidrBlock"],
                "az": p["AvailabilityZone"],
                "vpc": p["VpcId"],
                "name": logical,
            }
        for logical in s.of_type("AWS::EC2::SubnetRouteTableAssociation"):
            p = s.props(logical)
            net.table_of_subnet[p["SubnetId"]] = p["RouteTableId"]
        for logical in s.of_type("AWS::EC2::Route"):
            p = s.props(logical)
            kind = next(k for k in ROUTE_TARGETS if k in p)
            net.routes.setdefault(p["RouteTableId"], []).append(
                (p["DestinationCidrBlock"], ROUTE_TARGETS[kind], p[kind])
            )
        for logical in s.of_type("AWS::EC2::NatGateway"):
            net.nat_subnet[f"{s.name}/{logical}"] = s.props(logical)["SubnetId"]
        for logical in s.of_type("AWS::EC2::VPCEndpoint"):
            p = s.props(logical)
            if p.get("VpcEndpointType") == "GatewayLoadBalancer":
                net.endpoint_subnet[f"{s.name}/{logical}"] = p["SubnetIds"][0]
                net.endpoint_service_name[f"{s.name}/{logical}"] = str(p["ServiceName"])
        for logical in s.of_type("AWS::EC2::VPCEndpointService"):
            lbs = s.props(logical).get("GatewayLoadBalancerArns", [])
            net.endpoint_services[f"{s.name}/{logical}"] = lbs
        for logical in s.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
            p = s.props(logical)
            if p.get("Type") == "gateway":
                net.endpoint_service_lbs[f"{s.name}/{logical}"] = p["Subnets"]
                attrs = {a["Key"]: a["Value"] for a in p.get("LoadBalancerAttributes", [])}
                net.cross_zone = attrs.get("load_balancing.cross_zone.enabled") == "true"
            elif p.get("Scheme") == "internet-facing":
                net.albs[f"{s.name}/{logical}"] = p["Subnets"]
        for logical in s.of_type("AWS::ElasticLoadBalancingV2::TargetGroup"):
            if s.props(logical).get("Protocol") == "GENEVE":
                target_groups[f"{s.name}/{logical}"] = logical
        for logical in s.of_type("AWS::AutoScaling::AutoScalingGroup"):
            p = s.props(logical)
            if any(tg in target_groups for tg in p.get("TargetGroupARNs", [])):
                net.appliance_subnets.extend(p["VPCZoneIdentifier"])
        for logical in s.of_type("AWS::EC2::Instance"):
            net.instances[f"{s.name}/{logical}"] = s.props(logical)["SubnetId"]
    return net


def load_network(directory: Path) -> Network:
    return network(load_set(directory))

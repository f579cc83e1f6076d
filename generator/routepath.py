"""Route-path verifier: follows packets hop by hop through a rendered set's route tables (longest
prefix match, local routes, GWLB endpoint to appliance and back, NAT) and checks that every flow
crosses the same GWLB endpoint in both directions. `python -m generator.routepath DIR` prints it."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core.sets import MASTER_FILE
from generator import cidr, naming
from generator.deployed import Network, load_network

INTERNET_HOST = "198.51.100.7"  # documentation range: stands for any internet address
MAX_HOPS = 16


class RouteError(Exception):
    """The packet cannot be delivered: a black hole, a loop, or no appliance behind an endpoint."""


@dataclass
class Trace:
    hops: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    nat: str | None = None


@dataclass
class FlowResult:
    name: str
    forward: Trace
    back: Trace

    @property
    def inspected_symmetrically(self) -> bool:
        return len(self.forward.endpoints) == 1 and self.forward.endpoints == self.back.endpoints


def _short(resource_id: str) -> str:
    """A resource's name for people: its logical ID, with its VPC's prefix where there are
    several VPCs (NetworkStack/PublicSubnet1 is PublicSubnet1, App2VpcStack/... App2...)."""
    stack, _, logical = resource_id.rpartition("/")
    return naming.prefixed(naming.parse_prefixed(stack)[0], logical) if stack else logical


class Simulator:
    def __init__(self, net: Network):
        self.net = net

    def subnet_of_ip(self, ip: str) -> str | None:
        addr = ipaddress.IPv4Address(ip)
        for sid, s in self.net.subnets.items():
            if addr in ipaddress.IPv4Network(s["cidr"]):
                return sid
        return None

    def host(self, subnet_id: str, offset: int) -> str:
        return cidr.host(self.net.subnets[subnet_id]["cidr"], offset)

    def _lookup(self, subnet_id: str, dst: str) -> tuple[str, str | None]:
        """Longest-prefix match in the subnet's table; the VPC's own block is the local route."""
        table = self.net.table_of_subnet.get(subnet_id)
        if table is None:
            raise RouteError(f"{_short(subnet_id)} has no route table")
        vpc = self.net.subnets[subnet_id]["vpc"]
        candidates = [(self.net.vpc_cidrs[vpc], "local", None)]
        candidates += self.net.routes.get(table, [])
        addr = ipaddress.IPv4Address(dst)
        best = None
        for destination, kind, target in candidates:
            block = ipaddress.IPv4Network(destination)
            if addr in block and (best is None or block.prefixlen > best[0].prefixlen):
                best = (block, kind, target)
        if best is None:
            raise RouteError(f"no route to {dst} from {_short(subnet_id)}")
        return best[1], best[2]

    def gwlbs_behind(self, endpoint: str) -> list[str]:
        """The GWLBs of the endpoint service the endpoint names (its ServiceName ends with
        the service's ID, as <prefix>.<region>.<service id> does)."""
        name = self.net.endpoint_service_name.get(endpoint, "")
        return [
            lb
            for service, lbs in self.net.endpoint_services.items()
            if name.endswith(f".{service}")
            for lb in lbs
        ]

    def _appliance_for(self, endpoint: str) -> str:
        """The appliance subnet that a packet from this endpoint reaches through the GWLB."""
        az = self.net.subnets[self.net.endpoint_subnet[endpoint]]["az"]
        gwlbs = self.gwlbs_behind(endpoint)
        if not gwlbs:
            raise RouteError(f"{_short(endpoint)} names no endpoint service of this set")
        nodes = [sid for lb in gwlbs for sid in self.net.endpoint_service_lbs.get(lb, [])]
        # An endpoint can only be created in an AZ where the GWLB has a node.
        if not any(self.net.subnets[sid]["az"] == az for sid in nodes):
            raise RouteError(f"{_short(endpoint)} is in an AZ where the GWLB has no node")
        reachable = [
            sid
            for sid in nodes
            if sid in self.net.appliance_subnets
            and (self.net.cross_zone or self.net.subnets[sid]["az"] == az)
        ]
        same_az = [sid for sid in reachable if self.net.subnets[sid]["az"] == az]
        if not reachable:
            raise RouteError(f"no appliance behind {_short(endpoint)}")
        return (same_az or reachable)[0]

    def route(self, dst: str, start_subnet: str, trace: Trace) -> Trace:
        """Carry a packet from a subnet towards dst until delivered or out to the internet."""
        here = start_subnet
        for _ in range(MAX_HOPS):
            kind, target = self._lookup(here, dst)
            if kind == "local":
                there = self.subnet_of_ip(dst)
                if there is None:
                    raise RouteError(f"{dst} matches the local route but no subnet")
                trace.hops.append(f"deliver:{_short(there)}")
                return trace
            if kind == "gwlbe":
                if target in trace.endpoints:
                    raise RouteError(f"loop through {_short(target)}")
                trace.endpoints.append(target)
                trace.hops += [_short(target), f"appliance:{_short(self._appliance_for(target))}"]
                here = self.net.endpoint_subnet[target]
            elif kind == "nat":
                trace.hops.append(_short(target))
                trace.nat = trace.nat or target
                here = self.net.nat_subnet[target]
            elif kind == "igw":
                if self.subnet_of_ip(dst) is not None:
                    raise RouteError(f"{dst} is in the VPC but was sent to the internet gateway")
                trace.hops += [_short(target), "internet"]
                return trace
            else:
                raise RouteError(f"unknown route target {kind}")
        raise RouteError(f"more than {MAX_HOPS} hops towards {dst}")

    def between(self, name: str, src_subnet: str, src_ip: str, dst_ip: str) -> FlowResult:
        """A flow between two hosts in the VPC, and its reply."""
        forward = self.route(dst_ip, src_subnet, Trace([f"from:{_short(src_subnet)}"]))
        dst_subnet = self.subnet_of_ip(dst_ip)
        back = self.route(src_ip, dst_subnet, Trace([f"from:{_short(dst_subnet)}"]))
        return FlowResult(name, forward, back)

    def to_internet(self, name: str, src_subnet: str, src_ip: str) -> FlowResult:
        """A flow from a VPC host to the internet; the reply enters at the NAT that sent it."""
        forward = self.route(INTERNET_HOST, src_subnet, Trace([f"from:{_short(src_subnet)}"]))
        if forward.nat is None:
            raise RouteError(f"{name}: left without a NAT gateway, the reply has no way back")
        back = Trace(["internet", _short(forward.nat)])
        self.route(src_ip, self.net.nat_subnet[forward.nat], back)
        return FlowResult(name, forward, back)


def _by_name(net: Network, prefix: str) -> list[str]:
    return sorted(
        (sid for sid, s in net.subnets.items() if s["name"].startswith(prefix)),
        key=lambda sid: net.subnets[sid]["name"],
    )


def standard_flows(net: Network) -> list[FlowResult]:
    """Per VPC with web servers: egress from each web server, ALB node i to web server j for every
    pair of that VPC's ALB, and the bastion to each web server of its VPC. Each appliance's own
    egress (which must not cross an endpoint) is appliance_egress."""
    sim = Simulator(net)

    def vpc_of(subnet: str) -> str:
        return net.subnets[subnet]["vpc"]

    web = {i: s for i, s in net.instances.items() if "/WebServer" in i}
    bastion = [s for i, s in net.instances.items() if i.endswith("/Bastion")]
    results = []
    for name, subnet in sorted(web.items()):
        results.append(sim.to_internet(f"{_short(name)} -> internet", subnet, sim.host(subnet, 10)))
    # Hosts that talk to the web servers of their VPC: each ALB node (one per public subnet of
    # the ALB), the bastion.
    clients = [
        (f"ALB node in {_short(s)}", s, 20) for subnets in net.albs.values() for s in subnets
    ]
    clients += [("Bastion", s, 30) for s in bastion]
    for client, client_subnet, offset in clients:
        for name, subnet in sorted(web.items()):
            if vpc_of(subnet) != vpc_of(client_subnet):
                continue
            results.append(
                sim.between(
                    f"{client} -> {_short(name)}",
                    client_subnet,
                    sim.host(client_subnet, offset),
                    sim.host(subnet, 10),
                )
            )
    return results


def appliance_egress(net: Network) -> list[FlowResult]:
    sim = Simulator(net)
    return [
        sim.to_internet(f"appliance in {_short(s)} -> internet", s, sim.host(s, 10))
        for s in sorted(set(net.appliance_subnets))
    ]


def problems(net: Network) -> list[str]:
    """Every way the set breaks the rule; empty when all flows are inspected symmetrically."""
    found = []
    try:
        flows = standard_flows(net)
    except RouteError as exc:
        return [str(exc)]
    for flow in flows:
        if not flow.inspected_symmetrically:
            fwd = [_short(e) for e in flow.forward.endpoints] or ["none"]
            back = [_short(e) for e in flow.back.endpoints] or ["none"]
            found.append(f"{flow.name}: endpoint out {fwd}, back {back}")
    try:
        for flow in appliance_egress(net):
            if flow.forward.endpoints or flow.back.endpoints:
                found.append(f"{flow.name}: crosses a GWLB endpoint")
    except RouteError as exc:
        found.append(str(exc))
    return found


def table(flows: list[FlowResult]) -> str:
    lines = [
        "| flow | hops out | hops back | endpoint out | endpoint back |",
        "|---|---|---|---|---|",
    ]
    for f in flows:
        out = ", ".join(_short(e) for e in f.forward.endpoints) or "-"
        back = ", ".join(_short(e) for e in f.back.endpoints) or "-"
        lines.append(
            f"| {f.name} | {' > '.join(f.forward.hops)} | {' > '.join(f.back.hops)} "
            f"| {out} | {back} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m generator.routepath",
        description="Trace every standard flow through a rendered template set and check that "
        "each crosses one GWLB endpoint, the same one in both directions.",
    )
    parser.add_argument("directory", type=Path, help="e.g. output/aws/single-vpc")
    args = parser.parse_args(argv)
    if not (args.directory / MASTER_FILE).is_file():
        print(f"error: no {MASTER_FILE} in {args.directory}; run make templates", file=sys.stderr)
        return 2
    net = load_network(args.directory)
    try:
        print(table(standard_flows(net) + appliance_egress(net)))
    except RouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    issues = problems(net)
    for issue in issues:
        print(f"NOT INSPECTED SYMMETRICALLY: {issue}", file=sys.stderr)
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())

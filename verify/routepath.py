"""Route-path verifier: follows packets hop by hop through a rendered set's route tables (longest
prefix match, local routes, GWLB endpoint to appliance and back, NAT) and checks that every flow
crosses the same GWLB endpoint in both directions. `python -m verify.routepath DIR` prints it.
Which flows must be inspected comes from the set itself: ALB nodes and hosts with a public address
talk to the ALB's targets in their VPC; every instance and appliance subnet goes to the internet."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from dataclasses import dataclass, field
from pathlib import Path

from verify import reader, validate
from verify.errors import SetError
from verify.model import Host, SetModel

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


def host_address(block: str, offset: int) -> str:
    """The address `offset` places into a subnet's block."""
    return str(ipaddress.ip_network(block)[offset])


class Simulator:
    def __init__(self, net: SetModel):
        self.net = net
        self.label = net.label

    def subnet_of_ip(self, ip: str) -> str | None:
        addr = ipaddress.ip_address(ip)
        for sid, s in self.net.subnets.items():
            if addr in ipaddress.ip_network(s.cidr):
                return sid
        return None

    def host(self, subnet_id: str, offset: int) -> str:
        return host_address(self.net.subnets[subnet_id].cidr, offset)

    def _lookup(self, subnet_id: str, dst: str) -> tuple[str, str | None]:
        """Longest-prefix match in the subnet's table; the VPC's own block is the local route."""
        table = self.net.table_of_subnet.get(subnet_id)
        if table is None:
            raise RouteError(f"{self.label(subnet_id)} has no route table")
        vpc = self.net.subnets[subnet_id].vpc
        candidates = [(self.net.vpcs[vpc].cidr, "local", None)]
        candidates += [(r.destination, r.kind, r.target) for r in self.net.routes.get(table, [])]
        addr = ipaddress.ip_address(dst)
        best = None
        for destination, kind, target in candidates:
            block = ipaddress.ip_network(destination)
            if (
                addr.version == block.version
                and addr in block
                and (best is None or block.prefixlen > best[0].prefixlen)
            ):
                best = (block, kind, target)
        if best is None:
            raise RouteError(f"no route to {dst} from {self.label(subnet_id)}")
        return best[1], best[2]

    def _appliance_for(self, endpoint_id: str) -> str:
        """The appliance subnet that a packet from this endpoint reaches through the GWLB."""
        endpoint = self.net.endpoints[endpoint_id]
        az = self.net.subnets[endpoint.subnet].az
        gwlb = self.net.gwlbs.get(endpoint.gwlb or "")
        if gwlb is None:
            raise RouteError(f"{endpoint.label} names no endpoint service of this set")
        # An endpoint can only be created in an AZ where the GWLB has a node.
        if not any(self.net.subnets[sid].az == az for sid in gwlb.subnets):
            raise RouteError(f"{endpoint.label} is in an AZ where the GWLB has no node")
        appliances = self.net.appliance_subnets()
        reachable = [
            sid
            for sid in gwlb.subnets
            if sid in appliances and (gwlb.cross_zone or self.net.subnets[sid].az == az)
        ]
        same_az = [sid for sid in reachable if self.net.subnets[sid].az == az]
        if not reachable:
            raise RouteError(f"no appliance behind {endpoint.label}")
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
                trace.hops.append(f"deliver:{self.label(there)}")
                return trace
            if kind == "gwlbe":
                if target in trace.endpoints:
                    raise RouteError(f"loop through {self.label(target)}")
                if target not in self.net.endpoints:
                    raise RouteError(f"{self.label(target)} is not a GWLB endpoint of this set")
                trace.endpoints.append(target)
                appliance = self.label(self._appliance_for(target))
                trace.hops += [self.label(target), f"appliance:{appliance}"]
                here = self.net.endpoints[target].subnet
            elif kind == "nat":
                if target not in self.net.nats:
                    raise RouteError(f"{self.label(target)} is not a NAT gateway of this set")
                trace.hops.append(self.label(target))
                trace.nat = trace.nat or target
                here = self.net.nats[target].subnet
            elif kind == "igw":
                if self.subnet_of_ip(dst) is not None:
                    raise RouteError(f"{dst} is in the VPC but was sent to the internet gateway")
                trace.hops += [self.label(target), "internet"]
                return trace
            else:
                raise RouteError(f"route target {kind} ({self.label(target)}) is not followed")
        raise RouteError(f"more than {MAX_HOPS} hops towards {dst}")

    def between(self, name: str, src_subnet: str, src_ip: str, dst_ip: str) -> FlowResult:
        """A flow between two hosts in the VPC, and its reply."""
        forward = self.route(dst_ip, src_subnet, Trace([f"from:{self.label(src_subnet)}"]))
        dst_subnet = self.subnet_of_ip(dst_ip)
        back = self.route(src_ip, dst_subnet, Trace([f"from:{self.label(dst_subnet)}"]))
        return FlowResult(name, forward, back)

    def to_internet(self, name: str, src_subnet: str, src_ip: str) -> FlowResult:
        """A flow from a VPC host to the internet; the reply enters at the NAT that sent it."""
        forward = self.route(INTERNET_HOST, src_subnet, Trace([f"from:{self.label(src_subnet)}"]))
        if forward.nat is None:
            raise RouteError(f"{name}: left without a NAT gateway, the reply has no way back")
        back = Trace(["internet", self.label(forward.nat)])
        self.route(src_ip, self.net.nats[forward.nat].subnet, back)
        return FlowResult(name, forward, back)


def served_hosts(net: SetModel) -> list[Host]:
    """Hosts an internet-facing ALB forwards to (the web servers), in id order."""
    served = {t for alb in net.albs.values() for t, _ in alb.targets if t in net.hosts}
    return sorted((net.hosts[t] for t in served), key=lambda h: h.id)


def management_hosts(net: SetModel) -> list[Host]:
    """Hosts with a public address of their own that are not served by an ALB (a bastion): they
    reach the served hosts of their VPC. A host with neither is a plain host."""
    served = {h.id for h in served_hosts(net)}
    return [h for h in net.hosts.values() if h.public and h.id not in served]


def standard_flows(net: SetModel) -> list[FlowResult]:
    """Per VPC with an ALB: egress from each host the ALB serves, each ALB node to each of them,
    and each management host (a bastion) to each of them; then their IPv6 twins where the set is
    dual-stack (verify.routepath6). Each appliance's own egress (which
    must not cross an endpoint) is appliance_egress."""
    sim = Simulator(net)
    web = served_hosts(net)
    results = [
        sim.to_internet(f"{h.name} -> internet", h.subnet, sim.host(h.subnet, 10)) for h in web
    ]
    clients = [
        (f"ALB node in {net.label(s)}", s, 20) for alb in net.albs.values() for s in alb.subnets
    ]
    clients += [(h.name, h.subnet, 30) for h in management_hosts(net)]
    for client, client_subnet, offset in clients:
        for server in web:
            if net.vpc_of(server.subnet) != net.vpc_of(client_subnet):
                continue
            results.append(
                sim.between(
                    f"{client} -> {server.name}",
                    client_subnet,
                    sim.host(client_subnet, offset),
                    sim.host(server.subnet, 10),
                )
            )
    from verify import routepath6  # builds on this module: the same flows over IPv6, if any

    return results + routepath6.flows(net)


def appliance_egress(net: SetModel) -> list[FlowResult]:
    sim = Simulator(net)
    return [
        sim.to_internet(f"appliance in {net.label(s)} -> internet", s, sim.host(s, 10))
        for s in net.appliance_subnets()
    ]


def problems(net: SetModel) -> list[str]:
    """Every way the set breaks the rule; empty when all flows are inspected symmetrically.
    A set AWS would refuse (verify.validate) is judged there, not here."""
    found = []
    try:
        flows = standard_flows(net)
    except RouteError as exc:
        return [str(exc)]
    for flow in flows:
        if not flow.inspected_symmetrically:
            fwd = [net.label(e) for e in flow.forward.endpoints] or ["none"]
            back = [net.label(e) for e in flow.back.endpoints] or ["none"]
            found.append(f"{flow.name}: endpoint out {fwd}, back {back}")
    try:
        for flow in appliance_egress(net):
            if flow.forward.endpoints or flow.back.endpoints:
                found.append(f"{flow.name}: crosses a GWLB endpoint")
    except RouteError as exc:
        found.append(str(exc))
    return found


def table(flows: list[FlowResult], net: SetModel) -> str:
    lines = [
        "| flow | hops out | hops back | endpoint out | endpoint back |",
        "|---|---|---|---|---|",
    ]
    for flow in flows:
        out = ", ".join(net.label(e) for e in flow.forward.endpoints) or "-"
        back = ", ".join(net.label(e) for e in flow.back.endpoints) or "-"
        lines.append(
            f"| {flow.name} | {' > '.join(flow.forward.hops)} | {' > '.join(flow.back.hops)} "
            f"| {out} | {back} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verify.routepath",
        description="Trace every standard flow through a rendered template set and check that "
        "each crosses one GWLB endpoint, the same one in both directions.",
    )
    parser.add_argument("directory", type=Path, help="e.g. output/aws/single-vpc")
    parser.add_argument("--master", help="the master's file name, when several could be")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a master parameter's value at launch (default: its Default); repeatable",
    )
    args = parser.parse_args(argv)
    try:
        net = reader.load(args.directory, args.master, reader.parameters(args.parameter))
        refusals = validate.problems(net)
        for refusal in refusals:
            print(f"REFUSED BY AWS: {refusal}", file=sys.stderr)
        if refusals:
            return 1
        print(table(standard_flows(net) + appliance_egress(net), net))
    except SetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    issues = problems(net)
    for issue in issues:
        print(f"NOT INSPECTED SYMMETRICALLY: {issue}", file=sys.stderr)
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())

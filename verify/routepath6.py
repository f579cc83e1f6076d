"""The route-path verifier for IPv6: the same hop-by-hop walk over each subnet's /64 and its VPC's
/56, with no NAT gateway. What enters from the internet meets the internet gateway's edge route
table (when one is associated) before the subnet; an egress-only gateway has no such table, so a
reply through it reaches the subnet directly, and the flow is not inspected both ways."""

from __future__ import annotations

import ipaddress

from verify.model import SetModel
from verify.routepath import (
    FlowResult,
    RouteError,
    Simulator,
    Trace,
    host_address,
    management_hosts,
    served_hosts,
)

INTERNET_HOST6 = "2001:db8:ffff::7"  # documentation range: stands for any internet address


class Simulator6(Simulator):
    """Simulator, with IPv6 blocks and gateways: egress-only gateways lead out, never back in."""

    def __init__(self, net: SetModel):
        super().__init__(net)
        self.egress_only_exit: str | None = None  # the last walk left by one

    def subnet_of_ip(self, ip: str) -> str | None:
        addr = ipaddress.ip_address(ip)
        if addr.version == 4:
            return super().subnet_of_ip(ip)
        for sid in self.net.subnets:
            block = self.net.ipv6.blocks.get(sid)
            if block and addr in ipaddress.ip_network(block):
                return sid
        return None

    def host6(self, subnet_id: str, offset: int) -> str:
        return host_address(self.net.ipv6.blocks[subnet_id], offset)

    def _lookup(self, subnet_id: str, dst: str) -> tuple[str, str | None]:
        if ipaddress.ip_address(dst).version == 4:
            return super()._lookup(subnet_id, dst)
        table = self.net.table_of_subnet.get(subnet_id)
        if table is None:
            raise RouteError(f"{self.label(subnet_id)} has no route table")
        kind, target = self._match(table, self.net.subnets[subnet_id].vpc, dst, subnet_id)
        if kind == "eigw":
            self.egress_only_exit = target
            return "igw", target  # out like a gateway; the reply comes back another way
        return kind, target

    def _match(self, table: str | None, vpc: str, dst: str, where: str) -> tuple[str, str | None]:
        """Longest-prefix match of an IPv6 address in a table; the VPC's /56 is local."""
        addr = ipaddress.ip_address(dst)
        candidates = []
        if vpc in self.net.ipv6.blocks:
            candidates.append((self.net.ipv6.blocks[vpc], "local", None))
        candidates += [(r.destination, r.kind, r.target) for r in self.net.routes.get(table, [])]
        best = None
        for destination, kind, target in candidates:
            block = ipaddress.ip_network(destination)
            longer = best is None or block.prefixlen > best[0].prefixlen
            if block.version == 6 and addr in block and longer:
                best = (block, kind, target)
        if best is None:
            raise RouteError(f"no IPv6 route to {dst} from {self.label(where)}")
        return best[1], best[2]

    def enter(self, dst: str, vpc: str, trace: Trace) -> Trace:
        """A packet from the internet through the VPC's internet gateway: its edge route table
        when one is associated, else straight to the subnet (the VPC's main table is local)."""
        (igw,) = [g for g in self.net.igws.values() if g.vpc == vpc] or [None]
        if igw is None:
            raise RouteError(f"no internet gateway in {self.label(vpc)}")
        trace.hops += ["internet", self.label(igw.id)]
        kind, target = self._match(igw.table, vpc, dst, igw.id)
        if kind == "local":
            return self._deliver(dst, trace)
        if kind != "gwlbe" or target not in self.net.endpoints:
            raise RouteError(f"{self.label(igw.id)}'s edge route to {dst} is {kind}")
        trace.endpoints.append(target)
        trace.hops += [self.label(target), f"appliance:{self.label(self._appliance_for(target))}"]
        return self.route(dst, self.net.endpoints[target].subnet, trace)

    def _deliver(self, dst: str, trace: Trace) -> Trace:
        there = self.subnet_of_ip(dst)
        if there is None:
            raise RouteError(f"{dst} matches the local route but no subnet")
        trace.hops.append(f"deliver:{self.label(there)}")
        return trace

    def to_internet6(self, name: str, src_subnet: str, src_ip: str) -> FlowResult:
        """Out by the gateway the tables give; the reply enters by it (an egress-only gateway
        hands it straight to the subnet)."""
        self.egress_only_exit = None
        start = Trace([f"from:{self.label(src_subnet)}"])
        forward = self.route(INTERNET_HOST6, src_subnet, start)
        if self.egress_only_exit is not None:
            gateway = self.label(self.egress_only_exit)
            back = self._deliver(src_ip, Trace(["internet", gateway]))
        else:
            back = self.enter(src_ip, self.net.subnets[src_subnet].vpc, Trace([]))
        return FlowResult(name, forward, back)

    def from_internet6(self, name: str, dst_subnet: str, dst_ip: str) -> FlowResult:
        """Unsolicited traffic from the internet to a host, and the host's answer."""
        forward = self.enter(dst_ip, self.net.subnets[dst_subnet].vpc, Trace([]))
        back = self.route(INTERNET_HOST6, dst_subnet, Trace([f"from:{self.label(dst_subnet)}"]))
        return FlowResult(name, forward, back)


def flows(net: SetModel) -> list[FlowResult]:
    """The IPv6 twins of the standard flows, where the served hosts' subnets have IPv6: egress
    from each served host, unsolicited inbound to it, and each ALB node's and management host's
    flows to the served hosts of their VPC."""
    sim = Simulator6(net)
    web = [h for h in served_hosts(net) if h.subnet in net.ipv6.blocks]
    results = []
    for host in web:
        address = sim.host6(host.subnet, 10)
        results.append(sim.to_internet6(f"{host.name} -> internet (IPv6)", host.subnet, address))
        results.append(sim.from_internet6(f"internet -> {host.name} (IPv6)", host.subnet, address))
    clients = [
        (f"ALB node in {net.label(s)}", s, 20) for alb in net.albs.values() for s in alb.subnets
    ]
    clients += [(h.name, h.subnet, 30) for h in management_hosts(net)]
    for client, subnet, offset in clients:
        if subnet not in net.ipv6.blocks:
            continue
        for server in web:
            if net.vpc_of(server.subnet) != net.vpc_of(subnet):
                continue
            results.append(
                sim.between(
                    f"{client} -> {server.name} (IPv6)",
                    subnet,
                    sim.host6(subnet, offset),
                    sim.host6(server.subnet, 10),
                )
            )
    return results

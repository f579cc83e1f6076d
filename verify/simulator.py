"""Carries packets hop by hop through a set model's route tables: longest prefix match, local
routes, GWLB endpoint to appliance and back, NAT, internet gateway, and transit gateways (the
attachment ENI of the sending AZ, the TGW route table, the AZ it leaves by). Where the TGW's choice
is unknown offline (appliance mode's flow hash) a trace records it, so callers can run every one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from verify import ip, transit
from verify.model import SetModel
from verify.model_transit import TgwAttachment

INTERNET_HOST = "198.51.100.7"  # documentation range: stands for any internet address
MAX_HOPS = 16
HASH = "hash"  # choice key kind: appliance mode's flow hash, one AZ for both directions
AFFINITY = "affinity"  # no ENI in the entry AZ: AWS picks another, independently each way


class RouteError(Exception):
    """The packet cannot be delivered: a black hole, a loop, or no appliance behind an endpoint."""


@dataclass
class Trace:
    hops: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    nat: str | None = None
    way: str = "out"  # "out" or "back": keeps AZ-affinity fallbacks of each direction apart
    # The TGW's choices among several AZs: given ones are followed, others take the first AZ.
    choices: dict[tuple[str, ...], str] = field(default_factory=dict)
    made: list[tuple[tuple[str, ...], list[str]]] = field(default_factory=list)  # defaulted here
    met: list[tuple[str, ...]] = field(default_factory=list)  # every choice point met, in order


@dataclass
class FlowResult:
    name: str
    forward: Trace
    back: Trace
    variant: str = ""  # the TGW choices this run took, for people

    @property
    def inspected_symmetrically(self) -> bool:
        return len(self.forward.endpoints) == 1 and self.forward.endpoints == self.back.endpoints


def host_address(block: str, offset: int) -> str:
    """The address `offset` places into a subnet's block."""
    return str(ip.network(block)[offset])


class Simulator:
    def __init__(self, net: SetModel):
        self.net = net
        self.label = net.label

    def subnet_of_ip(self, address: str) -> str | None:
        addr = ip.address(address)
        for sid, s in self.net.subnets.items():
            if addr in ip.network(s.cidr):
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
        addr = ip.address(dst)
        best = None
        for destination, kind, target in candidates:
            block = ip.network(destination)
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

    def _through_tgw(self, here: str, tgw: str, dst: str, trace: Trace) -> str:
        """Across a transit gateway from a subnet routing to it: the subnet where it comes out."""
        entered = transit.entry(self.net, here, tgw)
        if entered is None:
            raise RouteError(
                f"{self.label(here)} routes to {self.label(tgw)} but its VPC has no attachment "
                "subnet in its AZ: dropped"
            )
        attachment, eni = entered
        table = transit.table_of(self.net, attachment.id)
        trace.hops.append(self.label(eni))
        if table is None:
            raise RouteError(f"{attachment.label} is associated with no TGW route table: dropped")
        trace.hops.append(f"tgw:{self.label(table)}")
        route = transit.lookup(self.net, table, dst)
        if route is None or route.blackhole or route.attachment is None:
            why = "a blackhole route" if route is not None else "no route"
            raise RouteError(f"{self.label(table)} has {why} to {dst}: dropped")
        leaving = self.net.tgw_attachments.get(route.attachment)
        if leaving is None:
            raise RouteError(f"{self.label(route.attachment)} is no VPC attachment of this set")
        az = self._choose(trace, leaving, self.net.subnets[eni].az)
        out = transit.eni_subnet(self.net, leaving, az)
        if out is None:
            raise RouteError(f"{leaving.label} has no subnet: nowhere to leave the TGW")
        trace.hops.append(self.label(out))
        return out

    def _choose(self, trace: Trace, attachment: TgwAttachment, entry_az: str) -> str:
        """The AZ the TGW leaves by: the trace's choice where AWS's is unknown offline."""
        options = transit.exit_azs(self.net, attachment, entry_az)
        if len(options) <= 1:
            return options[0] if options else entry_az
        if attachment.appliance_mode:
            key: tuple[str, ...] = (HASH, attachment.id)
        else:
            key = (AFFINITY, trace.way, attachment.id, entry_az)
        trace.met.append(key)
        if key not in trace.choices:
            trace.choices[key] = options[0]
            trace.made.append((key, options))
        return trace.choices[key]

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
            elif kind == "tgw" and target in self.net.transit_gateways:
                here = self._through_tgw(here, target, dst, trace)
            else:
                raise RouteError(f"route target {kind} ({self.label(target)}) is not followed")
        raise RouteError(f"more than {MAX_HOPS} hops towards {dst}")

    def _back(self, forward: Trace, fixed: dict, first: list[str]) -> Trace:
        """A reply's trace: the flow-hash choices the request took hold for it too."""
        choices = {**fixed, **{k: v for k, v in forward.choices.items() if k[0] == HASH}}
        return Trace(first, way="back", choices=choices)

    def between(
        self, name: str, src_subnet: str, src_ip: str, dst_ip: str, fixed: dict | None = None
    ) -> FlowResult:
        """A flow between two hosts of the set, and its reply."""
        fixed = fixed or {}
        start = Trace([f"from:{self.label(src_subnet)}"], choices=dict(fixed))
        forward = self.route(dst_ip, src_subnet, start)
        dst_subnet = self.subnet_of_ip(dst_ip)
        back = self._back(forward, fixed, [f"from:{self.label(dst_subnet)}"])
        return FlowResult(
            name, forward, self.route(src_ip, dst_subnet, back), self._variant(forward, back)
        )

    def to_internet(
        self, name: str, src_subnet: str, src_ip: str, fixed: dict | None = None
    ) -> FlowResult:
        """A flow from a VPC host to the internet; the reply enters at the NAT that sent it."""
        fixed = fixed or {}
        start = Trace([f"from:{self.label(src_subnet)}"], choices=dict(fixed))
        forward = self.route(INTERNET_HOST, src_subnet, start)
        if forward.nat is None:
            raise RouteError(f"{name}: left without a NAT gateway, the reply has no way back")
        back = self._back(forward, fixed, ["internet", self.label(forward.nat)])
        self.route(src_ip, self.net.nats[forward.nat].subnet, back)
        return FlowResult(name, forward, back, self._variant(forward, back))

    def _variant(self, forward: Trace, back: Trace) -> str:
        """The choices a run took, in the order met: 'flow hash to X: az1' and the like."""
        words = []
        for trace in (forward, back):
            for key in trace.met:
                kind, attachment = key[0], key[2] if key[0] == AFFINITY else key[1]
                word = "flow hash" if kind == HASH else f"{trace.way} (no ENI in its AZ)"
                text = f"{word} to {self.label(attachment)}: {trace.choices[key]}"
                if text not in words:
                    words.append(text)
        return "; ".join(words)

    def every_choice(self, run: Callable[[dict], FlowResult]) -> list[FlowResult]:
        """A flow run once for each combination of the TGW choices it meets (one run when it
        meets none): run(fixed choices) must follow the given choices and default the rest."""
        results = []
        pending: list[dict] = [{}]
        while pending:
            fixed = pending.pop(0)
            result = run(dict(fixed))
            results.append(result)
            prefix = dict(fixed)
            for key, options in result.forward.made + result.back.made:
                pending += [{**prefix, key: other} for other in options[1:]]
                prefix[key] = options[0]
        return results

"""Which security group or network ACL rule stops a probe and its reply, judged on the set model
along the path the route tables give (source subnet, endpoint subnets, NAT subnet, destination).
Security groups are stateful (a reply is always let back); ACLs are stateless, so the reply is
judged too, to the probe's own source port (AWS: "Security group rules", "Network ACLs")."""

from __future__ import annotations

from collections.abc import Callable

from lab import acl, security
from lab.addresses import Plan
from verify import routepath
from verify.model import SetModel

REPLY_TYPE = {8: 0}  # ICMP echo request -> echo reply


class Filters:
    def __init__(self, model: SetModel, plan: Plan, enabled: bool):
        self.model, self.plan, self.enabled = model, plan, enabled
        self.simulator = routepath.Simulator(model)
        self._by_label: dict[str, str | None] = {"internet": None}
        for subnet in model.subnets.values():
            self._by_label[subnet.label] = subnet.id
        for endpoint in model.endpoints.values():
            self._by_label[endpoint.label] = endpoint.subnet
        for nat in model.nats.values():
            self._by_label[nat.label] = nat.subnet

    # --- security groups -------------------------------------------------------------------

    def groups_of(self, node_id: str | None) -> tuple[str, ...]:
        """Security groups on a host or an ALB node (ALB node ids are "<alb>@<subnet>")."""
        if node_id is None:
            return ()
        if node_id in self.model.hosts:
            return self.model.hosts[node_id].security_groups
        alb = self.model.albs.get(node_id.split("@", 1)[0])
        return alb.security_groups if alb else ()

    def grouped(self) -> dict[str, tuple[str, ...]]:
        ids = list(self.model.hosts) + [
            f"{alb.id}@{subnet}" for alb in self.model.albs.values() for subnet in alb.subnets
        ]
        return {ident: self.groups_of(ident) for ident in ids if self.groups_of(ident)}

    def members(self, group: str) -> set[str]:
        return {self.plan.nodes[ident].ip for ident, g in self.grouped().items() if group in g}

    def _groups(self, src: str | None, src_ip: str, dst: str | None, dst_ip: str, proto, port):
        return security.verdict(
            self.model,
            self.members,
            self.groups_of(src),
            src_ip,
            self.groups_of(dst),
            dst_ip,
            proto,
            port,
        )

    # --- network ACLs along the route tables' path -----------------------------------------

    def _subnets(self, hops: list[str]) -> list[str | None]:
        found: list[str | None] = []
        for hop in hops:
            label = hop.split(":", 1)[1] if hop.startswith(("from:", "deliver:")) else hop
            if label in self._by_label:
                subnet = self._by_label[label]
                if not found or found[-1] != subnet:
                    found.append(subnet)
        return found

    def _along(
        self,
        subnets: list[str | None],
        src: str,
        dst: str,
        proto: int,
        port: int,
        nat_ip: str,
        outward: bool,
    ) -> str:
        """ACL verdicts for a packet walking the subnets; NAT rewrites the source on the way out
        (outward) and the destination on the way back."""
        nat_subnets = {nat.subnet for nat in self.model.nats.values()}
        for leaving, entering in zip(subnets, subnets[1:], strict=False):
            here_src, here_dst = src, dst
            if nat_ip and leaving in nat_subnets and entering is None and outward:
                here_src = nat_ip
            if nat_ip and entering in nat_subnets and leaving is None and not outward:
                here_dst = nat_ip
            found = acl.crossing(self.model, leaving, entering, here_src, here_dst, proto, port)
            if found:
                return found
        return ""

    def _acls(
        self, src_subnet: str, src_ip: str, dst_ip: str, proto: int, port: int, sport: int
    ) -> str:
        try:
            forward = self.simulator.route(
                dst_ip, src_subnet, routepath.Trace([f"from:{self.model.label(src_subnet)}"])
            )
        except (routepath.RouteError, KeyError):
            return ""
        out_path = self._subnets(forward.hops)
        nat_ip = self.plan.nodes[forward.nat].ip if forward.nat else ""
        reply_port = REPLY_TYPE.get(port, port) if proto == 1 else sport
        dst_subnet = self.simulator.subnet_of_ip(dst_ip)
        try:
            if dst_subnet is not None:
                back = self.simulator.route(
                    src_ip, dst_subnet, routepath.Trace([f"from:{self.model.label(dst_subnet)}"])
                )
                back_path = self._subnets(back.hops)
            elif forward.nat:
                back = self.simulator.route(
                    src_ip,
                    self.model.nats[forward.nat].subnet,
                    routepath.Trace(["internet", self.model.label(forward.nat)]),
                )
                back_path = self._subnets(back.hops)
            else:
                back_path = [None, src_subnet]  # straight back through the internet gateway
        except (routepath.RouteError, KeyError):
            back_path = []
        found = self._along(out_path, src_ip, dst_ip, proto, port, nat_ip, True)
        if found:
            return found
        found = self._along(back_path, dst_ip, src_ip, proto, reply_port, nat_ip, False)
        return f"the reply: {found}" if found else ""

    # --- a probe's verdict ----------------------------------------------------------------

    def verdict(
        self,
        src: str | None,
        src_ip: str,
        src_subnet: str | None,
        dst: str | None,
        dst_ip: str,
        proto: int,
        port: int,
        sport: int = 0,
    ) -> str:
        """'' when nothing stops the packet and its reply, else what does; always '' when the
        lab runs with --no-security-groups."""
        if not self.enabled:
            return ""
        found = self._groups(src, src_ip, dst, dst_ip, proto, port)
        if found:
            return found
        if src_subnet is not None:
            return self._acls(src_subnet, src_ip, dst_ip, proto, port, sport)
        # From the internet into a subnet (the client to an ALB node), and the reply out.
        dst_subnet = self.simulator.subnet_of_ip(dst_ip)
        found = self._along([None, dst_subnet], src_ip, dst_ip, proto, port, "", True)
        back = self._along([dst_subnet, None], dst_ip, src_ip, proto, sport, "", False)
        return found or (f"the reply: {back}" if back else "")

    def later(self, *args) -> Callable[[object], str]:
        """The verdict once the probe ran, to its actual source port."""
        return lambda result: self.verdict(*args, sport=result.src[1] if result.src else 0)

"""Which flows a set must inspect, read from the set itself: egress from each web server (the
hosts an internet-facing ALB serves), each ALB node and each management host (a bastion) to each
web server it can reach (its VPC, or another VPC attached to the same transit gateway), east-west
between web servers of different VPCs joined by a transit gateway, and each appliance's own egress.
A flow that meets a TGW choice unknown offline is run once per possible choice."""

from __future__ import annotations

from verify.model import Host, SetModel
from verify.simulator import FlowResult, Simulator

WEB_OFFSET, ALB_OFFSET, MANAGEMENT_OFFSET = 10, 20, 30  # host addresses within their subnets


def served_hosts(net: SetModel) -> list[Host]:
    """Hosts an internet-facing ALB forwards to (the web servers), in id order."""
    served = {t for alb in net.albs.values() for t, _ in alb.targets if t in net.hosts}
    return sorted((net.hosts[t] for t in served), key=lambda h: h.id)


def management_hosts(net: SetModel) -> list[Host]:
    """Hosts with a public address of their own that are not served by an ALB (a bastion): they
    reach the served hosts they can. A host with neither is a plain host."""
    served = {h.id for h in served_hosts(net)}
    return [h for h in net.hosts.values() if h.public and h.id not in served]


def connected(net: SetModel, subnet: str, other: str) -> bool:
    """Whether two subnets' VPCs are one, or both attached to one transit gateway."""
    vpc, other_vpc = net.vpc_of(subnet), net.vpc_of(other)
    if vpc == other_vpc:
        return True
    gateways = {a.tgw for a in net.tgw_attachments.values() if a.vpc == vpc}
    return any(a.tgw in gateways for a in net.tgw_attachments.values() if a.vpc == other_vpc)


def standard_flows(net: SetModel) -> list[FlowResult]:
    """Egress from each web server, each ALB node and management host to each web server it can
    reach, then east-west between web servers of different VPCs, then their IPv6 twins where the
    set is dual-stack (verify.routepath6). Each appliance's own egress
    (which must not cross an endpoint) is appliance_egress."""
    sim = Simulator(net)
    web = served_hosts(net)
    results: list[FlowResult] = []
    for h in web:
        name, address = f"{h.name} -> internet", sim.host(h.subnet, WEB_OFFSET)
        results += sim.every_choice(
            lambda fixed, h=h, name=name, address=address: sim.to_internet(
                name, h.subnet, address, fixed
            )
        )
    clients = [
        (f"ALB node in {net.label(s)}", s, ALB_OFFSET)
        for alb in net.albs.values()
        for s in alb.subnets
    ]
    clients += [(h.name, h.subnet, MANAGEMENT_OFFSET) for h in management_hosts(net)]
    pairs = [
        (client, subnet, sim.host(subnet, offset), server)
        for client, subnet, offset in clients
        for server in web
        if connected(net, subnet, server.subnet)
    ]
    pairs += [
        (a.name, a.subnet, sim.host(a.subnet, WEB_OFFSET), b)
        for a in web
        for b in web
        if net.vpc_of(a.subnet) != net.vpc_of(b.subnet) and connected(net, a.subnet, b.subnet)
    ]
    for client, subnet, address, server in pairs:
        name, server_address = f"{client} -> {server.name}", sim.host(server.subnet, WEB_OFFSET)
        results += sim.every_choice(
            lambda fixed, n=name, s=subnet, a=address, d=server_address: sim.between(
                n, s, a, d, fixed
            )
        )
    from verify import routepath6  # builds on the simulator: the same flows over IPv6, if any

    return results + routepath6.flows(net)


def appliance_egress(net: SetModel) -> list[FlowResult]:
    sim = Simulator(net)
    return [
        sim.to_internet(f"appliance in {net.label(s)} -> internet", s, sim.host(s, WEB_OFFSET))
        for s in net.appliance_subnets()
    ]

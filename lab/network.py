"""Builds a SetModel in network namespaces: one router per VPC applying each subnet's route table
to traffic leaving it, internet gateways with 1:1 public addresses, NAT gateways, an internet
with a client and a server, and one namespace per host; tears it all down again."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field

from lab import addresses, tgw, transit
from lab.addresses import (
    CLIENT_IP,
    IGW_LINK_GW,
    IGW_LINK_VPC,
    INTERNET_ROUTER,
    ROUTER_OFFSET,
    SERVER_IP,
    host_ip,
)
from lab.nsutil import ip, ip_batch, nft, sysctl
from lab.router_tables import policy_lines
from verify.model import SetModel

MTU = "9001"  # EC2's jumbo frames inside a VPC
ROUTER_SYSCTLS = {
    "net__ipv4__ip_forward": "1",
    "net__ipv4__conf__all__rp_filter": "0",
    "net__ipv4__conf__default__rp_filter": "0",
    "net__ipv4__conf__all__send_redirects": "0",
    "net__ipv4__conf__default__send_redirects": "0",
}


@dataclass
class Lab:
    token: str
    spec: SetModel
    plan: addresses.Plan
    router: dict[str, str] = field(default_factory=dict)  # VPC -> router namespace
    node_ns: dict[str, str] = field(default_factory=dict)  # node id -> namespace
    namespaces: list[str] = field(default_factory=list)  # every namespace, in creation order
    internet: str = ""
    tgw: str = ""  # the transit gateway's namespace, when the set has one
    client: str = ""
    server: str = ""

    def ns(self, name: str) -> str:
        return f"lab{self.token}-{name}"


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")


def _prefix(cidr: str) -> int:
    return ipaddress.IPv4Network(cidr).prefixlen


class Builder:
    def __init__(self, lab: Lab):
        self.lab = lab
        self.ports = 0

    def netns(self, name: str, router: bool = False) -> str:
        ns = self.lab.ns(name)
        ip(None, "netns", "add", ns)
        self.lab.namespaces.append(ns)
        ip(ns, "link", "set", "lo", "up")
        if router:
            sysctl(ns, **ROUTER_SYSCTLS)
        return ns

    def veth(self, ns_a: str, dev_a: str, ns_b: str, dev_b: str) -> None:
        ip(
            None,
            "link",
            "add",
            "name",
            dev_a,
            "netns",
            ns_a,
            "type",
            "veth",
            "peer",
            "name",
            dev_b,
            "netns",
            ns_b,
        )

    def build(self) -> Lab:
        lab, spec, plan = self.lab, self.lab.spec, self.lab.plan
        lab.internet = self.netns("internet", router=True)
        ip_batch(
            lab.internet,
            [
                "link add lan type bridge",
                f"addr add {INTERNET_ROUTER}/24 dev lan",
                "link set lan up",
            ],
        )
        for vpc, index in plan.vpc_index.items():
            self.vpc(vpc, index)
        for node in plan.nodes.values():
            self.node(node)
        if spec.tgw_attachments:
            lab.tgw = tgw.build(self, transit.plan(spec), MTU)
        lab.client = self.outside("client", CLIENT_IP)
        lab.server = self.outside("server", SERVER_IP)
        for igw in spec.igws.values():
            self.gateway(igw.vpc, plan.vpc_index[igw.vpc], igw.table)
        for nat in spec.nats.values():
            self.nat(lab.node_ns[nat.id], plan.nodes[nat.id].ip)
        return lab

    def vpc(self, vpc: str, index: int) -> None:
        lab, spec, plan = self.lab, self.lab.spec, self.lab.plan
        router = lab.router[vpc] = self.netns(f"vpc{index}", router=True)
        lines = []
        subnets = [item for item in spec.subnets.values() if item.vpc == vpc]
        for subnet in subnets:
            dev = plan.bridge[subnet.id]
            gateway = host_ip(subnet.cidr, ROUTER_OFFSET)
            lines += [
                f"link add {dev} type bridge",
                f"link set {dev} mtu {MTU}",
                f"addr add {gateway}/{_prefix(subnet.cidr)} dev {dev}",
                f"link set {dev} up",
            ]
        ip_batch(router, lines)

    def tables(self, vpc: str) -> None:
        lab = self.lab
        rules = addresses.policy_routing(lab.spec, lab.plan, vpc)
        ip_batch(lab.router[vpc], policy_lines(rules, "0.0.0.0/0", " onlink"))

    def node(self, node: addresses.Node) -> None:
        lab, spec, plan = self.lab, self.lab.spec, self.lab.plan
        subnet = spec.subnets[node.subnet]
        ns = lab.node_ns[node.id] = self.netns(_slug(node.label))
        router = lab.router[subnet.vpc]
        self.ports += 1
        port = f"h{self.ports}"
        self.veth(router, port, ns, "eth0")
        ip_batch(
            router,
            [
                f"link set {port} mtu {MTU}",
                f"link set {port} master {plan.bridge[node.subnet]}",
                f"link set {port} up",
            ],
        )
        ip_batch(
            ns,
            [
                f"link set eth0 mtu {MTU}",
                f"addr add {node.ip}/{_prefix(subnet.cidr)} dev eth0",
                "link set eth0 up",
                f"route add default via {host_ip(subnet.cidr, ROUTER_OFFSET)}",
            ],
        )

    def outside(self, name: str, address: str) -> str:
        ns = self.netns(name)
        self.veth(self.lab.internet, f"x{name[:6]}", ns, "eth0")
        ip_batch(
            self.lab.internet, [f"link set x{name[:6]} master lan", f"link set x{name[:6]} up"]
        )
        ip_batch(
            ns,
            [
                f"addr add {address}/24 dev eth0",
                "link set eth0 up",
                f"route add default via {INTERNET_ROUTER}",
            ],
        )
        return ns

    def gateway(self, vpc: str, index: int, table: str | None) -> None:
        """An internet gateway: 1:1 NAT between each public address and its private one; traffic
        from a private address without a public one is dropped, as AWS does."""
        lab, spec, plan = self.lab, self.lab.spec, self.lab.plan
        router, ns = lab.router[vpc], self.netns(f"igw{index}", router=True)
        self.veth(router, "igw", ns, "vpc")
        inet_side, gw_side = addresses.uplink(index)
        self.veth(ns, "wan", lab.internet, f"v{index}")
        ip_batch(router, [f"addr add {IGW_LINK_VPC}/30 dev igw", "link set igw up"])
        ip_batch(
            ns,
            [
                f"addr add {IGW_LINK_GW}/30 dev vpc",
                "link set vpc up",
                f"addr add {gw_side}/30 dev wan",
                "link set wan up",
                f"route add {spec.vpcs[vpc].cidr} via {IGW_LINK_VPC}",
                f"route add default via {inet_side}",
            ],
        )
        ip_batch(
            lab.internet,
            [
                f"addr add {inet_side}/30 dev v{index}",
                f"link set v{index} up",
                f"route add {addresses.public_block(index)} via {gw_side}",
            ],
        )
        mapped = [
            node
            for node in plan.nodes.values()
            if node.public_ip and spec.subnets[node.subnet].vpc == vpc
        ]
        pre = "".join(f'    iifname "wan" ip daddr {n.public_ip} dnat to {n.ip}\n' for n in mapped)
        post = "".join(f'    oifname "wan" ip saddr {n.ip} snat to {n.public_ip}\n' for n in mapped)
        privates = ", ".join(node.ip for node in mapped) or IGW_LINK_GW
        nft(
            ns,
            (
                "table ip igw {\n"
                "  chain nat_pre {\n    type nat hook prerouting priority -100;\n" + pre + "  }\n"
                "  chain nat_post {\n    type nat hook postrouting priority 100;\n" + post + "  }\n"
                "  chain filter_forward {\n    type filter hook forward priority 0; policy drop;\n"
                f'    iifname "vpc" ip saddr {{ {privates} }} accept\n'
                f'    iifname "wan" ip daddr {{ {privates} }} accept\n'
                "  }\n}\n"
            ),
        )

    def nat(self, ns: str, own_ip: str) -> None:
        """A NAT gateway: forwards what the route tables send it, source-translated to itself."""
        sysctl(ns, **ROUTER_SYSCTLS)
        nft(
            ns,
            (
                "table ip natgw {\n  chain post {\n    type nat hook postrouting priority 100;\n"
                f"    ip saddr != {own_ip} masquerade\n  }}\n}}\n"
            ),
        )


def plan_for(model: SetModel) -> addresses.Plan:
    return addresses.plan(model)


def build(lab: Lab) -> Lab:
    """Build everything but the route tables; on an error, what was built goes first. Each
    namespace is listed in lab.namespaces as soon as it exists, so an interrupt can undo it."""
    try:
        Builder(lab).build()
    except BaseException:
        teardown(lab)
        raise
    return lab


def install_routes(lab: Lab) -> None:
    """Route tables go in last: their routes name the endpoints' TUN devices."""
    builder = Builder(lab)
    for vpc in lab.spec.vpcs:
        builder.tables(vpc)


def kill_inside(ns: str) -> None:
    """SIGKILL every process in the namespace: none may outlive it (a deleted namespace would
    keep running with them)."""
    listing = subprocess.run(
        ["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30
    )
    for pid in listing.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def teardown(lab: Lab) -> None:
    for ns in reversed(lab.namespaces):
        kill_inside(ns)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
    lab.namespaces.clear()

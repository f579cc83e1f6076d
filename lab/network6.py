"""Builds the IPv6 side of a dual-stack set on the namespaces lab.network made: addresses on the
VPC routers' bridges and the hosts, the internet gateways forwarding IPv6 (no NAT: the addresses
are global), egress-only gateways that let in only replies, and each route table's IPv6 routes
and rules. Nothing here runs for a set without IPv6."""

from __future__ import annotations

from lab import addresses6 as a6
from lab.network import Builder, Lab
from lab.nsutil import nft, run, sysctl
from lab.router_tables import policy_lines

FORWARD6 = {"net__ipv6__conf__all__forwarding": "1"}


def _ip6(ns: str, lines: list[str]) -> None:
    """`ip -6` commands in one process (a batch line cannot name the family itself)."""
    if lines:
        run(["ip", "-6", "-n", ns, "-batch", "-"], stdin="\n".join(lines) + "\n")


def wanted(lab: Lab) -> bool:
    return bool(a6.vpcs6(lab.spec))


def build(lab: Lab, plan6: a6.Plan6) -> None:
    """Addresses and gateways; the route tables go in with install_routes."""
    spec, layout = lab.spec, lab.plan
    _ip6(lab.internet, [f"addr add {a6.INTERNET_ROUTER6}/64 dev lan nodad"])
    sysctl(lab.internet, **FORWARD6)
    for ns, address in ((lab.client, a6.CLIENT_IP6), (lab.server, a6.SERVER_IP6)):
        _ip6(
            ns,
            [
                f"addr add {address}/{a6.INTERNET_PREFIX6} dev eth0 nodad",
                f"route add default via {a6.INTERNET_ROUTER6}",
            ],
        )
    for vpc in a6.vpcs6(spec):
        router = lab.router[vpc]
        sysctl(router, **FORWARD6)
        lines = [
            f"addr add {a6.router_ip6(spec.ipv6.blocks[sid])}/64 dev {layout.bridge[sid]} nodad"
            for sid, subnet in sorted(spec.subnets.items())
            if subnet.vpc == vpc and sid in spec.ipv6.blocks
        ]
        _ip6(router, lines)
        _gateway(lab, vpc)
    for node_id, address in plan6.ip.items():
        block = spec.ipv6.blocks[layout.nodes[node_id].subnet]
        _ip6(
            lab.node_ns[node_id],
            [
                f"addr add {address}/64 dev eth0 nodad",
                f"route add default via {a6.router_ip6(block)}",
            ],
        )
    for eigw, vpc in sorted(spec.ipv6.egress_only.items()):
        _egress_only(lab, plan6, eigw, vpc)
    _ip6(lab.internet, [f"route add {b} via {v}" for b, v in a6.internet_routes6(spec, layout)])


def _gateway(lab: Lab, vpc: str) -> None:
    """The VPC's internet gateway forwards IPv6 both ways; its edge table is in the router."""
    index = lab.plan.vpc_index[vpc]
    igw = lab.ns(f"igw{index}")
    if igw not in lab.namespaces:
        return  # no internet gateway in this VPC
    inet_side, gw_side = a6.uplink6(index)
    sysctl(igw, **FORWARD6)
    _ip6(lab.router[vpc], [f"addr add {a6.IGW_LINK_VPC6}/{a6.LINK_PREFIX6} dev igw nodad"])
    _ip6(
        igw,
        [
            f"addr add {a6.IGW_LINK_GW6}/{a6.LINK_PREFIX6} dev vpc nodad",
            f"addr add {gw_side}/64 dev wan nodad",
            f"route add {lab.spec.ipv6.blocks[vpc]} via {a6.IGW_LINK_VPC6}",
            f"route add default via {inet_side}",
        ],
    )
    _ip6(lab.internet, [f"addr add {inet_side}/64 dev v{index} nodad"])


def _egress_only(lab: Lab, plan6: a6.Plan6, eigw: str, vpc: str) -> None:
    """Out for anything the VPC sends, in only for replies; no route table of its own, so what
    it lets in goes straight to the subnet, past the internet gateway's edge table."""
    index, dev = plan6.eigw_index[eigw], plan6.eigw_dev[eigw]
    builder = Builder(lab)
    ns = builder.netns(f"eigw{index}")
    sysctl(ns, **FORWARD6)
    builder.veth(lab.router[vpc], dev, ns, "vpc")
    builder.veth(ns, "wan", lab.internet, f"w{index}")
    inet_side, gw_side = a6.uplink6(index, egress_only=True)
    _ip6(
        lab.router[vpc],
        [f"addr add {a6.EIGW_LINK_VPC6}/{a6.LINK_PREFIX6} dev {dev} nodad", f"link set {dev} up"],
    )
    _ip6(
        ns,
        [
            "link set vpc up",
            "link set wan up",
            f"addr add {a6.EIGW_LINK_GW6}/{a6.LINK_PREFIX6} dev vpc nodad",
            f"addr add {gw_side}/64 dev wan nodad",
            f"route add {lab.spec.ipv6.blocks[vpc]} via {a6.EIGW_LINK_VPC6}",
            f"route add default via {inet_side}",
        ],
    )
    _ip6(lab.internet, [f"addr add {inet_side}/64 dev w{index} nodad", f"link set w{index} up"])
    nft(
        ns,
        "table ip6 eigw {\n  chain forward {\n    type filter hook forward priority 0; "
        'policy drop;\n    iifname "vpc" accept\n'
        '    iifname "wan" ct state established,related accept\n  }\n}\n',
    )


def install_routes(lab: Lab, plan6: a6.Plan6) -> None:
    """Each VPC's IPv6 tables and rules; after the endpoints' TUN devices exist."""
    for vpc in a6.vpcs6(lab.spec):
        rules = a6.policy_routing6(lab.spec, lab.plan, plan6, vpc)
        _ip6(lab.router[vpc], policy_lines(rules, "::/0"))

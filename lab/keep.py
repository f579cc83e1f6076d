"""`--keep`: commands to look around a lab that stays up (curl, ping, tcpdump on endpoints, transit
gateway ENIs and appliances, the appliances' metrics and flow logs), printed with the namespaces
and addresses of this run."""

from __future__ import annotations

from lab import transit
from lab.addresses import SERVER_IP
from lab.session import Session
from verify import routepath


def commands(session: Session) -> list[str]:
    model, lab = session.model, session.lab
    lines = []
    for host in sorted(model.hosts.values(), key=lambda h: h.name):
        node = lab.plan.nodes[host.id]
        public = f" public {node.public_ip}" if node.public_ip else ""
        lines.append(
            f"# {host.name} ({host.role}) {node.ip}{public}  namespace {lab.node_ns[host.id]}"
        )
    web = sorted(routepath.served_hosts(model), key=lambda h: h.name)
    if web:
        ns = lab.node_ns[web[0].id]
        lines += [
            f"ip netns exec {ns} curl -s http://{SERVER_IP}:443/   # the port groups let out",
            f"ip netns exec {ns} ping -c 3 {SERVER_IP}   # needs iputils-ping",
        ]
    for alb in model.albs.values():
        for subnet in alb.subnets:
            public = lab.plan.nodes[f"{alb.id}@{subnet}"].public_ip
            lines.append(
                f"ip netns exec {lab.client} curl -s http://{public}/"
                f"   # ALB node {model.label(subnet)}"
            )
    for other in routepath.management_hosts(model):
        for host in web:
            lines.append(
                f"ip netns exec {lab.node_ns[other.id]} curl -s "
                f"http://{lab.plan.nodes[host.id].ip}/   # {other.name} -> {host.name}"
            )
    for endpoint_id, dev in sorted(lab.plan.tun.items()):
        router = lab.router[model.subnets[model.endpoints[endpoint_id].subnet].vpc]
        lines.append(
            f"ip netns exec {router} tcpdump -ni {dev}   # inner packets at "
            f"{model.label(endpoint_id)}"
        )
    if lab.tgw:
        lines.append(f"ip netns exec {lab.tgw} ip rule   # TGW: association, entry AZ, flow bucket")
        for eni in sorted(transit.plan(model).enis.values(), key=lambda e: e.device):
            lines.append(
                f"ip netns exec {lab.tgw} tcpdump -ni {eni.device}   # TGW ENI of "
                f"{model.label(eni.attachment)} in {model.label(eni.subnet)}"
            )
    for host in sorted(model.hosts_of("appliance"), key=lambda h: h.name):
        ns = lab.node_ns[host.id]
        lines.append(f"ip netns exec {ns} tcpdump -ni eth0 udp port 6081   # Geneve at {host.name}")
        lines.append(f"ip netns exec {ns} curl -s http://127.0.0.1/metrics")
        for service in session.hosts.of(host.id):
            argv = list(service.unit.exec_start)
            if "--flow-log" in argv:
                lines.append(f"tail -f {service.root.path(argv[argv.index('--flow-log') + 1])}")
    return lines

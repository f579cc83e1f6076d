"""Step 2 of the plan: the internet client through every ALB node to every target, for the index
page and for 64 KB and 200 KB transfers (full-size TCP segments must fit the GWLB's 8,500 bytes:
the web servers' MTU setting decides). A plain host built like the served ones is reported as a
web server the ALB never reaches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from lab import cloudinit, probes
from lab.addresses import CLIENT_IP
from lab.alb import BACKEND_HEADER
from lab.judging import judge
from lab.rows import Row
from lab.transfers import TRANSFER_BYTES, TRANSFERS, oversized
from verify.model import Alb

if TYPE_CHECKING:
    from lab.plan import Plan

PARALLEL = 8


def web_text(plan: Plan, host_id: str) -> str:
    boot = cloudinit.parse(plan.model.hosts[host_id].user_data)
    for unit in boot.enabled_units():
        argv = list(unit.exec_start)
        if "--directory" in argv:
            index = boot.file(argv[argv.index("--directory") + 1].rstrip("/") + "/index.html")
            if index:
                return index.content.decode().strip()
    return ""


def step(plan: Plan) -> None:
    """Every ALB node to every target: the index page and the large transfers."""
    texts = {host.id: web_text(plan, host.id) for host in plan.roles.served}
    nodes = [(alb, subnet) for alb in plan.model.albs.values() for subnet in alb.subnets]
    paths = [("", "/")] + [(f" GET {size}", path) for size, path in TRANSFERS.items()]

    def each_path(node: tuple[Alb, str]) -> list:
        # One path after the other: the node's round robin then alternates over the targets.
        answers = [_through_node(plan, node[0], node[1], texts, "/")]
        for _, path in paths[1:]:
            if not answers[0][0]:  # no target answered even the page: spare the timeouts
                answers.append(({}, ["not tried: no target answered the page through this node"]))
            else:
                answers.append(_through_node(plan, node[0], node[1], texts, path))
        return answers

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        found = list(pool.map(each_path, nodes))
    for (alb, subnet), answers in zip(nodes, found, strict=True):
        for (label, path), (seen, failures) in zip(paths, answers, strict=True):
            _rows(plan, alb, subnet, label, path, texts, seen, failures)
    for host_id, why in sorted(plan.roles.unserved_web.items()):
        name = plan.model.hosts[host_id].name
        groups = ", ".join(
            plan.model.target_groups[a.target_group].name for a in plan.model.albs.values()
        )
        plan.add(
            Row(
                "2 ALB",
                f"ALB never reaches {name}",
                False,
                detail=f"not a target of {groups}; {why}",
            )
        )


def _rows(plan: Plan, alb: Alb, subnet: str, label: str, path: str, texts, seen, failures) -> None:
    node = plan.node(f"{alb.id}@{subnet}")
    filters = plan.filters
    for host_id, port in sorted(alb.targets, key=lambda target: texts.get(target[0], "")):
        web = plan.node(host_id)
        name = plan.model.hosts[host_id].name
        flow = f"client -> {node.label} ({node.public_ip}) -> {name}{label}"
        hops = "internet > igw > ALB node > " + plan.hops_between(subnet, node.ip, web.ip)
        result = seen.get(web.ip)
        sport = result.src[1] if result else 0
        blocked = filters.verdict(
            None, CLIENT_IP, None, node.id, node.ip, 6, alb.port, 49152
        ) or filters.verdict(node.id, node.ip, subnet, host_id, web.ip, 6, port, sport)
        if blocked:  # the ALB is the way in: a group or ACL in its way is a failure
            plan.add(Row("2 ALB", flow, False, hops, detail=f"blocked: {blocked}"))
            continue
        if result is None:
            why = "; ".join(sorted(set(failures))) or "never answered"
            wanted = f"{label.strip()}" if label else f"'{texts.get(host_id, '')}'"
            plan.add(
                Row(
                    "2 ALB",
                    flow,
                    False,
                    hops,
                    detail=f"no {wanted}: {why}{oversized(plan.emulator)}",
                )
            )
            continue
        plan.add(judge(plan.emulator, "2 ALB", flow, result, hops), result)


def _through_node(plan: Plan, alb: Alb, subnet: str, texts: dict[str, str], path: str):
    """GETs through one ALB node until every target answered, or each had a turn to fail;
    the backend connection of each answer, by target address, and what went wrong."""
    node = plan.node(f"{alb.id}@{subnet}")
    wanted = {texts.get(host_id, "") for host_id, _ in alb.targets}
    size = TRANSFER_BYTES.get(path)
    seen: dict[str, probes.Result] = {}
    failures: list[str] = []
    for _ in range(2 * len(alb.targets) + 1):
        if len(failures) >= len(alb.targets) or len(seen) == len(alb.targets):
            break
        answer = probes.http_get(plan.client_namespace, node.public_ip, alb.port, path, timeout=3.0)
        backend = answer.headers.get(BACKEND_HEADER.lower(), "")
        if not answer.ok or not backend:
            failures.append(answer.detail)
            continue
        local, target = backend.split()
        host, port = local.rsplit(":", 1)
        target_host, target_port = target.rsplit(":", 1)
        if size is not None and answer.length != size:
            failures.append(f"{answer.length} of {size} bytes from {target_host}")
            continue
        shown = f"{answer.length} bytes" if size else f"'{answer.body}'"
        inner = probes.Result(
            True,
            f"{answer.detail} {shown}",
            (host, int(port)),
            (target_host, int(target_port)),
            6,
        )
        seen.setdefault(target_host, inner)
        if size is None and answer.body not in wanted:
            failures.append(f"unexpected answer {answer.body!r}")
    return seen, failures

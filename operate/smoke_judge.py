"""The smoke test's pure half: which web servers a stack's outputs name, the scripts run on the
instances, and the verdict on what came back."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from appliance import health
from core import naming
from operate.lines import Row
from operate.ssm import Invocation

# What each web server's page says (generator/userdata): "web server N", and in a set of several
# VPCs "web server N in application VPC K".
_WEB_ANSWER = re.compile(r"web server (\d+)(?: in application VPC (\d+))?")
# A web server as its page names it: (application VPC number or 0, server number).
ServerKey = tuple[int, int]
# Counters the appliance serves on GET /metrics (appliance/cli.py).
FLOWS_METRIC = health.PREFIX + health.CREATED
PACKETS_METRIC = health.PREFIX + health.RECEIVED
FLOW_LOG = "/var/log/gwlb-appliance/flows.log"


@dataclass(frozen=True)
class Application:
    """The web servers behind one ALB: the whole single-vpc set, or one application VPC."""

    prefix: str  # "" or "App<k>"
    alb_url: str
    servers: dict[int, str]  # web server number -> instance id

    def name(self, number: int) -> str:
        where = f"{self.prefix} " if self.prefix else ""
        return f"{where}web server {number}"

    def keys(self) -> dict[ServerKey, str]:
        """Each server as its page names it -> its instance id."""
        vpc = naming.parse_app_prefix(self.prefix)
        return {(vpc, number): instance for number, instance in self.servers.items()}


def shared_alb(outputs: dict[str, str], apps: list[Application]) -> Application | None:
    """tgw-centralized: the ingress VPC's one ALB in front of every spoke's servers, as one
    application whose servers are keyed by their place in `apps`; None in other sets."""
    url = outputs.get(naming.prefixed(naming.INGRESS_PREFIX, naming.ALB_URL_OUTPUT))
    if not url:
        return None
    return Application(naming.INGRESS_PREFIX, url, {})


def alb_targets(app: Application, apps: list[Application]) -> dict[ServerKey, str]:
    """What the ALB of `app` must reach: its own servers, or every spoke's for a shared ALB."""
    if app.prefix == naming.INGRESS_PREFIX:
        return {key: i for member in apps for key, i in member.keys().items()}
    return app.keys()


def key_name(key: ServerKey) -> str:
    vpc, number = key
    return f"App{vpc} web server {number}" if vpc else f"web server {number}"


def applications(outputs: dict[str, str]) -> list[Application]:
    """Group the web servers' Id outputs by application VPC, each with its AlbUrl (single-vpc:
    WebServer1Id and AlbUrl; separated-vpc: App1WebServer1Id and App1AlbUrl, per VPC)."""
    found: dict[str, dict[int, str]] = {}
    for key, value in outputs.items():
        parsed = naming.parse_web_server_output(key)
        if parsed is not None and parsed[2] == naming.ID_OUTPUT:
            prefix, number, _ = parsed
            found.setdefault(prefix, {})[number] = value
    return [
        Application(
            prefix,
            outputs.get(naming.prefixed(prefix, naming.ALB_URL_OUTPUT), ""),
            dict(sorted(servers.items())),
        )
        for prefix, servers in sorted(
            found.items(), key=lambda item: naming.parse_app_prefix(item[0])
        )
    ]


def answered(text: str) -> ServerKey | None:
    """The server a page names, or None."""
    match = _WEB_ANSWER.search(text)
    return (int(match.group(2) or 0), int(match.group(1))) if match else None


def _short(key: ServerKey) -> str:
    return f"{key[0]}.{key[1]}" if key[0] else str(key[1])


def judge_alb(answers: Sequence[str], servers: Sequence[ServerKey], requests: int) -> Row:
    """PASS when every web server answered and no request failed."""
    seen = [key for a in answers if (key := answered(a)) is not None]
    failed = requests - len(seen)
    missing = sorted(set(servers) - set(seen))
    counts = ", ".join(f"{_short(k)}:{seen.count(k)}" for k in sorted(set(seen))) or "none"
    detail = f"{len(seen)}/{requests} answered (server:count {counts})"
    if missing:
        detail += f"; never answered: {', '.join(map(_short, missing))}"
    if failed:
        detail += f"; {failed} failed"
    return Row("ALB alternates", "", not missing and failed == 0 and bool(servers), detail)


def judge_internet(invocation: Invocation) -> tuple[bool, str]:
    """The script prints http=<code> and ping=ok|fail."""
    if not invocation.ok:
        return False, f"SSM {invocation.status}: {invocation.stderr.strip()[:120]}"
    http = re.search(r"http=(\d{3})", invocation.stdout)
    ping = re.search(r"ping=(ok|fail)", invocation.stdout)
    code = http.group(1) if http else "none"
    http_ok = bool(http) and code[0] in "23"
    ping_ok = bool(ping) and ping.group(1) == "ok"
    detail = f"https {code}, ping {'ok' if ping_ok else 'failed'}"
    return http_ok and ping_ok, detail


def judge_appliance(invocation: Invocation) -> tuple[bool, str]:
    """Flows seen: the appliance counted created flows, or its flow log has lines."""
    if not invocation.ok:
        return False, f"SSM {invocation.status}: {invocation.stderr.strip()[:120]}"

    def number(name: str) -> int | None:
        found = re.search(rf"^{name} (\d+)", invocation.stdout, re.MULTILINE)
        return int(found.group(1)) if found else None

    flows, packets = number(FLOWS_METRIC), number(PACKETS_METRIC)
    log = re.search(r"flowlog_lines=(\d+)", invocation.stdout)
    lines = int(log.group(1)) if log else 0
    if flows is None and not lines:
        return False, "no /metrics answer on port 80 and no flow log lines"
    detail = f"flows {flows if flows is not None else '?'}, packets {packets or 0}, "
    detail += f"flow log {lines} lines"
    return bool(flows) or lines > 0, detail


def judge_targets(name: str, health: Sequence[dict[str, Any]]) -> Row:
    states = [h.get("TargetHealth", {}) for h in health]
    healthy = sum(1 for s in states if s.get("State") == "healthy")
    detail = f"{healthy}/{len(states)} healthy"
    bad = [
        f"{h['Target']['Id']} {s.get('State')} ({s.get('Reason', '')})"
        for h, s in zip(health, states, strict=True)
        if s.get("State") != "healthy"
    ]
    if bad:
        detail += "; " + "; ".join(bad)
    return Row("target group healthy", name, bool(states) and healthy == len(states), detail)


INTERNET_SCRIPT = (
    "curl -sS -o /dev/null -m 15 -w 'http=%{{http_code}}\\n' {url} || echo http=000\n"
    "ping -c 3 -W 3 {host} >/dev/null 2>&1 && echo ping=ok || echo ping=fail\n"
)
APPLIANCE_SCRIPT = (
    f"curl -s -m 5 http://127.0.0.1/metrics | grep -E '^{health.PREFIX}' || true\n"
    f"echo flowlog_lines=$(cat {FLOW_LOG} 2>/dev/null | wc -l)\n"
)


def alb_script(addresses: Sequence[str], host: str, requests: int) -> str:
    """Requests from inside the VPC to the ALB's own private addresses, in turn."""
    targets = " ".join(shlex.quote(a) for a in addresses)
    return (
        f"set -- {targets}; n=$#; i=0\n"
        f"while [ $i -lt {requests} ]; do\n"
        "  eval ip=\\${$((i % n + 1))}\n"
        f"  curl -s -m 5 -H {shlex.quote('Host: ' + host)} http://$ip/ ; echo\n"
        "  i=$((i + 1))\n"
        "done\n"
    )

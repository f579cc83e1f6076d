"""Renders instance user data from the jinja2 templates beside this file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jinja2

from core import naming
from generator import bundle

EXEC_START_MARK = "ExecStart=/usr/bin/python3 -m appliance"

# The largest packet a GWLB carries; instances whose traffic crosses it use this MTU.
GWLB_MTU = 8500
# Where systemd-networkd reads the administrator's drop-ins, and ours.
NETWORKD_DIR = "/etc/systemd/network"
MTU_DROP_IN_FILE = "50-gwlb-mtu.conf"


def mtu_drop_in(mtu: int = GWLB_MTU) -> str:
    """The systemd-networkd drop-in that holds a link's MTU across reloads and reboots."""
    return f"[Link]\nMTUBytes={mtu}\n"


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)


def appliance(
    logical_id: str,
    tcp_idle: str = "${" + naming.FLOW_IDLE_PARAMETER + "}",
    policy_head: str = "",
) -> str:
    """cloud-config that installs and starts the appliance, then signals `logical_id` once healthy.

    The result is a Fn::Sub body: ${AWS::Region}, ${AWS::StackName} and the TCP idle timeout
    (`tcp_idle`, the GWLB listener's own parameter) are left for CloudFormation. `policy_head`
    goes first inside the policy's JSON object: a ${...} that may add keys at launch.
    """
    # /ready: the GWLB itself has checked this appliance healthy (its healthy threshold).
    signal = _signal(logical_id, "curl -sf -o /dev/null 127.0.0.1/ready", tries=60)
    built = bundle.build()
    # The flow table forgets an idle TCP flow when the GWLB does, from one parameter.
    unit = built.unit.replace(EXEC_START_MARK, f"{EXEC_START_MARK} --tcp-idle {tcp_idle}", 1)
    if unit == built.unit:
        raise ValueError(f"the appliance's unit has no {EXEC_START_MARK!r} line")
    paths = {
        "unit": bundle.UNIT_PATH,
        "policy": bundle.POLICY_PATH,
        "root": bundle.INSTALL_ROOT,
    }
    policy = built.policy
    if policy_head:
        if not policy.startswith("{"):
            raise ValueError("the appliance's policy is not a JSON object")
        policy = "{" + policy_head + policy[1:]
    return _ENV.get_template("appliance.yaml.j2").render(
        bundle=replace(built, unit=unit, policy=policy), paths=paths, signal=signal
    )


def web_server(number: int, logical_id: str, vpc_label: str = "") -> str:
    """cloud-config of web server `number`: a static page served by python3, then a signal sent
    along the inspected path (GWLB endpoint, appliance, NAT), which proves that path works.
    The page names the server, and its VPC where there are several (`vpc_label`, which may hold
    a ${...} left for Fn::Sub)."""
    signal = _signal(logical_id, "curl -sf -o /dev/null http://127.0.0.1/", tries=24)
    return _ENV.get_template("web_server.yaml.j2").render(
        number=number,
        signal=signal,
        mtu=GWLB_MTU,
        where=f" in {vpc_label}" if vpc_label else "",
        networkd=NETWORKD_DIR,
        drop_in=mtu_drop_in(),
        drop_in_file=MTU_DROP_IN_FILE,
    )


def _signal(logical_id: str, check: str, tries: int) -> str:
    return _ENV.get_template("signal.sh.j2").render(logical_id=logical_id, check=check, tries=tries)

"""Dual-stack IPv6 in the committed sets: one IpAddressType parameter and one DualStack condition
per template, cfn-lint clean with either value, every IPv6 flow inspected both ways through one
endpoint, security groups no wider than the IPv4 rules, and nothing IPv6 with ipv4."""

import ipaddress
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.set_helpers import COMMITTED, REPO, SEPARATED_SETS, SETS, load_set
from verify import reader, routepath

DUAL = {"IpAddressType": "dualstack"}
# The architectures that offer dual-stack (generator.ipv6.ARCHITECTURES).
ALL_SETS = SETS + SEPARATED_SETS


def _model(partition, architecture, params=None):
    return reader.load(COMMITTED / partition / architecture, parameters=params)


def test_master_offers_ipv4_or_dualstack_and_hands_it_down():
    templates = load_set(COMMITTED / "aws" / "single-vpc")
    param = templates["CN-GWLB.yml"]["Parameters"]["IpAddressType"]
    assert (param["Default"], param["AllowedValues"]) == ("ipv4", ["ipv4", "dualstack"])
    for stack in templates["CN-GWLB.yml"]["Resources"].values():
        passed = stack["Properties"]["Parameters"]
        declared = templates[stack["Properties"]["TemplateURL"]].get("Parameters", {})
        assert ("IpAddressType" in passed) == ("IpAddressType" in declared)


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_one_condition_decides_every_ipv6_resource(partition, architecture):
    for name, body in load_set(COMMITTED / partition / architecture).items():
        if name == "CN-GWLB.yml":
            assert "Conditions" not in body  # the master only hands the value down
            continue
        if "IpAddressType" not in body.get("Parameters", {}):
            assert "Ipv6" not in str(body["Resources"]), name
            continue
        conditions = body.get("Conditions", {})
        assert conditions["DualStack"] == {"Fn::Equals": [{"Ref": "IpAddressType"}, "dualstack"]}
        ipv6_conditions = [c for c in conditions if c != "DualStack" and "Ipv6" in str(c)]
        assert ipv6_conditions == [], name
        for logical, resource in body["Resources"].items():
            if resource.get("Condition"):
                assert resource["Condition"] == "DualStack", (name, logical)


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_with_ipv4_nothing_ipv6_exists(partition, architecture):
    net = _model(partition, architecture)
    assert net.ipv6.blocks == {}
    assert all(r.version == 4 for routes in net.routes.values() for r in routes)
    assert all(igw.table is None for igw in net.igws.values())
    assert not any("IPv6" in flow.name for flow in routepath.standard_flows(net))


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_every_ipv6_flow_crosses_one_endpoint_both_ways(partition, architecture):
    net = _model(partition, architecture, DUAL)
    assert routepath.problems(net) == []
    flows = [f for f in routepath.standard_flows(net) if "IPv6" in f.name]
    webs = routepath.served_hosts(net)
    clients = sum(len(a.subnets) for a in net.albs.values()) + len(routepath.management_hosts(net))
    # Egress and unsolicited inbound per web server; each client to each web server.
    assert len(flows) == 2 * len(webs) + clients * len(webs)
    for flow in flows:
        assert flow.inspected_symmetrically, flow.name
    # The unsolicited ones meet the gateway's edge table, then the web server's own AZ endpoint.
    for flow in (f for f in flows if f.name.startswith("internet ->")):
        web = next(h for h in webs if h.name in flow.name)
        (endpoint,) = flow.forward.endpoints
        assert net.subnets[net.endpoints[endpoint].subnet].az == net.subnets[web.subnet].az


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_dual_stack_addresses_and_no_egress_only_gateway(partition, architecture):
    net = _model(partition, architecture, DUAL)
    assert net.ipv6.egress_only == {}
    for vpc in net.vpcs:
        assert ipaddress.ip_network(net.ipv6.blocks[vpc]).prefixlen == 56
    for sid, subnet in net.subnets.items():
        block = ipaddress.ip_network(net.ipv6.blocks[sid])
        assert block.prefixlen == 64 and block.subnet_of(
            ipaddress.ip_network(net.ipv6.blocks[subnet.vpc])
        )
        # Web servers and the bastion take an address; appliances and endpoints do not.
        wants = subnet.name.startswith(("Public", "Application"))
        assert (sid in net.ipv6.assigning) == wants, subnet.label
    assert set(net.albs) <= net.ipv6.dualstack
    assert set(net.gwlbs) <= net.ipv6.dualstack


def _ipv6_rules(net, group_name):
    (group,) = [g for g in net.security_groups.values() if g.name == group_name]
    v6 = lambda rules: [r for r in rules if r.cidr and ":" in r.cidr]  # noqa: E731
    return v6(group.ingress), v6(group.egress)


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_security_groups_admit_no_wider_ipv6_than_ipv4(partition, architecture):
    net = _model(partition, architecture, DUAL)
    public = {net.ipv6.blocks[s] for s, sub in net.subnets.items() if sub.name.startswith("Public")}
    ingress, egress = _ipv6_rules(net, "WebSecurityGroup")
    # HTTP and ping from the ALB/bastion subnets only; out HTTPS and ping anywhere.
    assert {r.cidr for r in ingress} <= public
    assert {(r.protocol, r.from_port, r.cidr) for r in egress if r.cidr == "::/0"} == {
        (6, 443, "::/0"),
        (58, 128, "::/0"),
    }
    ingress, _ = _ipv6_rules(net, "AlbSecurityGroup")
    assert [(r.protocol, r.from_port, r.cidr) for r in ingress] == [(6, 80, "::/0")]
    ingress, _ = _ipv6_rules(net, "BastionSecurityGroup")
    assert ingress == []


@pytest.mark.slow
def test_cfn_lint_is_clean_with_dualstack_as_the_launch_value(tmp_path: Path):
    """The committed sets with IpAddressType's default turned to dualstack, in the three
    regions of .cfnlintrc."""
    copied = tmp_path / "output"
    shutil.copytree(COMMITTED, copied)
    offering = [COMMITTED / p / a / "CN-GWLB.yml" for p, a in ALL_SETS]
    for master in offering:
        target = copied / master.relative_to(COMMITTED)
        text = target.read_text()
        changed = re.sub(
            r"(  IpAddressType:\n(?:    .*\n)*?    Default: )ipv4", r"\1dualstack", text, count=1
        )
        assert changed != text
        target.write_text(changed)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--config-file",
            str(REPO / ".cfnlintrc"),
            "--",
            *map(str, sorted(f for p, a in ALL_SETS for f in (copied / p / a).glob("*.yml"))),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_value_cloudformation_would_refuse_is_one_error_line(capsys):
    """CloudFormation refuses a value outside AllowedValues before it creates anything."""
    directory = COMMITTED / "aws" / "single-vpc"
    assert routepath.main([str(directory), "--parameter", "IpAddressType=ipv6"]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: ") and "ipv4, dualstack" in line
    assert captured.out == ""


def test_tgw_centralized_offers_no_dual_stack_and_says_so(capsys):
    """Its transit gateway would need IPv6 routes and attachments of its own: the set offers no
    IpAddressType, and asking for one is one error line."""
    sets = sorted(COMMITTED.glob("*/tgw-centralized"))
    assert sets
    for directory in sets:
        assert "IpAddressType" not in load_set(directory)["CN-GWLB.yml"]["Parameters"]
        assert routepath.main([str(directory), "--parameter", "IpAddressType=dualstack"]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("error: ") and "IpAddressType" in line

"""Network ACLs without namespaces: rule order, the final deny, stateless replies, the verdict
along the route tables' path, and the nftables chains the routers get."""

from pathlib import Path

from lab_mutations import copy_set, deny_all_acl, edit

from lab import acl, addresses
from lab.filters import Filters
from verify import reader
from verify.model import NaclEntry, NetworkAcl

SET = Path(__file__).resolve().parents[2] / "output" / "aws" / "single-vpc"


def _entry(number, egress, allow, proto=-1, cidr="0.0.0.0/0", ports=(-1, -1), icmp=-1):
    return NaclEntry(number, egress, allow, proto, cidr, ports[0], ports[1], icmp, -1)


def _acl(*entries) -> NetworkAcl:
    ordered = tuple(sorted(entries, key=lambda e: (e.egress, e.number)))
    return NetworkAcl("N/Acl", "Acl", "N/Vpc", ordered)


def test_the_lowest_numbered_matching_rule_decides():
    rules = _acl(
        _entry(200, False, True, 6, ports=(80, 80)),
        _entry(100, False, False, 6, cidr="10.0.0.0/24", ports=(80, 80)),
    )
    assert acl.decide(rules, False, "10.0.0.7", 6, 80) == (
        "network ACL Acl ingress rule 100 denies"
    )
    assert acl.decide(rules, False, "10.0.1.7", 6, 80) == ""
    # Nothing matches: the final rule (*) denies; egress rules never judge ingress.
    assert "rule * denies" in acl.decide(rules, False, "10.0.1.7", 6, 443)
    assert "rule * denies" in acl.decide(rules, True, "10.0.1.7", 6, 80)


def test_icmp_rules_match_on_type():
    rules = _acl(_entry(10, True, True, 1, icmp=8))
    assert acl.decide(rules, True, "198.19.255.20", 1, 8) == ""
    assert acl.decide(rules, True, "198.19.255.20", 1, 0) != ""


def _model_with(entries):
    model = reader.load(SET)
    app = next(s for s in model.subnets.values() if s.name == "ApplicationSubnet1")
    model.network_acls["N/Acl"] = NetworkAcl("N/Acl", "AppAcl", app.vpc, tuple(entries))
    model.acl_of_subnet[app.id] = "N/Acl"
    return model, app


def test_replies_are_judged_too_acls_are_stateless():
    # HTTPS out is allowed, but the way back in admits only 1024-2048: the reply to a source
    # port of 40000 is refused, so the probe cannot work although its request may leave.
    model, app = _model_with(
        [
            _entry(100, False, True, 6, ports=(1024, 2048)),
            _entry(100, True, True, 6, ports=(443, 443)),
        ]
    )
    plan = addresses.plan(model)
    filters = Filters(model, plan, enabled=True)
    web = next(h for h in model.hosts.values() if h.name == "WebServer1")
    address = plan.nodes[web.id].ip
    found = filters.verdict(web.id, address, app.id, None, "198.19.255.20", 6, 443, 40000)
    assert found.startswith("the reply: network ACL AppAcl: no rule allows tcp/40000 in")
    assert filters.verdict(web.id, address, app.id, None, "198.19.255.20", 6, 443, 1500) == ""
    assert (
        Filters(model, plan, enabled=False).verdict(
            web.id, address, app.id, None, "198.19.255.20", 6, 443, 40000
        )
        == ""
    )


def test_the_path_crosses_the_endpoint_and_nat_subnets(tmp_path):
    """The verdict walks the route tables' path: a deny-all ACL on the endpoint subnet stops
    the web server's egress although its own subnet allows everything."""
    changed = copy_set(SET, tmp_path / "set")
    deny_all_acl(changed, "EndpointSubnet1")
    model = reader.load(changed)
    plan = addresses.plan(model)
    filters = Filters(model, plan, enabled=True)
    web = next(h for h in model.hosts.values() if h.name == "WebServer1")
    found = filters.verdict(
        web.id, plan.nodes[web.id].ip, web.subnet, None, "198.19.255.20", 6, 443, 40000
    )
    assert "LockedAcl" in found and "EndpointSubnet1" in found
    other = next(h for h in model.hosts.values() if h.name == "WebServer2")
    assert (
        filters.verdict(
            other.id, plan.nodes[other.id].ip, other.subnet, None, "198.19.255.20", 6, 443, 40000
        )
        == ""
    )


def test_router_chains_cover_the_subnet_bridge_and_its_endpoints(tmp_path):
    changed = copy_set(SET, tmp_path / "set")
    deny_all_acl(changed, "EndpointSubnet1")

    def allow_https_out(body):
        body["Resources"]["HttpsOut"] = {
            "Type": "AWS::EC2::NetworkAclEntry",
            "Properties": {
                "NetworkAclId": {"Ref": "LockedAcl"},
                "RuleNumber": 100,
                "Protocol": 6,
                "RuleAction": "allow",
                "Egress": True,
                "CidrBlock": "0.0.0.0/0",
                "PortRange": {"From": 443, "To": 443},
            },
        }

    edit(changed, "Nested-Network.yml", allow_https_out)
    model = reader.load(changed)
    plan = addresses.plan(model)
    subnet = next(s.id for s in model.subnets.values() if s.name == "EndpointSubnet1")
    endpoint = next(e for e in model.endpoints.values() if e.subnet == subnet)
    bridge, tun = plan.bridge[subnet], plan.tun[endpoint.id]
    text = acl.ruleset(model, plan, next(iter(model.vpcs)))
    assert f"chain out_{bridge}" in text and f"chain in_{bridge}" in text
    assert f'iifname "{tun}"' in text and f'oifname "{bridge}"' in text
    assert "ip daddr 0.0.0.0/0 meta l4proto tcp th dport 443-443 return" in text
    assert text.count("    drop\n") == 2  # the final deny of each chain
    assert acl.ruleset(reader.load(SET), addresses.plan(reader.load(SET)), "x") == ""

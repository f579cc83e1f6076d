"""Policy rules: matching semantics and start-up validation errors that name the rule."""

import json
import subprocess
from ipaddress import ip_address

import pytest

from appliance import policy
from appliance.cli import main
from lab import netns


def a(text):
    return ip_address(text).packed


def decide(pol, src, dst, proto=6, dport=443):
    return pol.decide(ip_address(src).version, proto, a(src), a(dst), dport)


def test_empty_policy_allows_everything():
    assert decide(policy.from_dict({}), "10.0.0.1", "8.8.8.8")[0] == "allow"


def test_first_matching_rule_wins_and_fields_combine():
    pol = policy.from_dict(
        {
            "rules": [
                {
                    "name": "ssh-admin",
                    "action": "allow",
                    "protocol": "tcp",
                    "src": "10.9.0.0/16",
                    "dst_ports": 22,
                },
                {
                    "name": "no-ssh",
                    "action": "drop",
                    "protocol": "tcp",
                    "dst_ports": [22, "2200-2299"],
                },
                {
                    "name": "no-v6-dns",
                    "action": "drop",
                    "protocol": 17,
                    "dst": "2001:db8::/32",
                    "dst_ports": 53,
                },
                {"name": "in-icmp", "action": "drop", "direction": "inbound", "protocol": "icmp"},
            ]
        }
    )
    assert decide(pol, "10.9.1.1", "10.0.0.2", dport=22)[:2] == ("allow", "ssh-admin")
    assert decide(pol, "10.8.1.1", "10.0.0.2", dport=22)[:2] == ("drop", "no-ssh")
    assert decide(pol, "10.8.1.1", "10.0.0.2", dport=2250)[:2] == ("drop", "no-ssh")
    assert decide(pol, "10.8.1.1", "10.0.0.2", dport=2300)[:2] == ("allow", "default")
    assert decide(pol, "fd00::1", "2001:db8::53", proto=17, dport=53)[:2] == ("drop", "no-v6-dns")
    assert decide(pol, "fd00::1", "2001:db9::53", proto=17, dport=53)[0] == "allow"
    assert decide(pol, "203.0.113.1", "10.0.0.2", proto=1, dport=0) == (
        "drop",
        "in-icmp",
        "inbound",
    )
    assert decide(pol, "10.0.0.2", "203.0.113.1", proto=1, dport=0) == (
        "allow",
        "default",
        "outbound",
    )


def test_directions_from_internal_cidrs():
    pol = policy.from_dict({"internal_cidrs": ["192.0.2.0/24"]})
    assert decide(pol, "192.0.2.1", "192.0.2.2")[2] == "internal"
    assert decide(pol, "192.0.2.1", "10.0.0.1")[2] == "outbound"
    assert decide(pol, "10.0.0.1", "192.0.2.1")[2] == "inbound"
    assert decide(pol, "10.0.0.1", "10.0.0.2")[2] == "external"


def test_default_drop():
    assert decide(policy.from_dict({"default": "drop"}), "10.0.0.1", "10.0.0.2")[0] == "drop"


@pytest.mark.parametrize(
    "rule, fragment",
    [
        ({"name": "web", "action": "allow", "dst": "10.0.0.0/33"}, "'10.0.0.0/33' is not a CIDR"),
        ({"name": "web", "action": "permit"}, "action must be"),
        ({"name": "web", "action": "drop", "dst_ports": 80}, "dst_ports needs protocol"),
        (
            {"name": "web", "action": "drop", "protocol": "tcp", "dst_ports": "90-80"},
            "is not a port 0-65535",
        ),
        ({"name": "web", "action": "drop", "protocol": "gre"}, "protocol must be"),
        ({"name": "web", "action": "drop", "direction": "up"}, "direction must be"),
        ({"name": "web", "action": "drop", "port": 80}, "unknown key(s) port"),
    ],
)
def test_bad_rule_is_named(rule, fragment):
    doc = {"rules": [{"action": "allow"}, rule]}
    with pytest.raises(policy.PolicyError) as e:
        policy.from_dict(doc)
    assert str(e.value).startswith("rule 2 ('web'): ")
    assert fragment in str(e.value)


def test_cli_rejects_bad_policy_with_one_line(tmp_path, capsys):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"rules": [{"name": "x", "action": "drop", "src": "nope"}]}))
    assert main(["--policy", str(path), "--health-port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "rule 1 ('x')" in err and "'nope' is not a CIDR" in err


def test_cli_check_policy_subprocess(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"rules": [{"action": "drop", "protocol": "udp", "dst_ports": 53}]}')
    bad.write_text("{not json")
    run = [netns.APPLIANCE_PYTHON, "-m", "appliance", "--check-policy", "--policy"]
    kw = dict(capture_output=True, text=True, timeout=30, **netns.appliance_env())
    ok = subprocess.run([*run, str(good)], **kw)
    assert ok.returncode == 0 and "1 rule" in ok.stdout
    ko = subprocess.run([*run, str(bad)], **kw)
    assert ko.returncode == 2 and "not valid JSON" in ko.stderr
    shipped = subprocess.run([*run, f"{netns.REPO}/appliance/install/policy.json"], **kw)
    assert shipped.returncode == 0

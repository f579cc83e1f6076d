"""The install material the generator embeds: systemd unit and default policy."""

import configparser
from pathlib import Path

from appliance import policy

INSTALL = Path(__file__).resolve().parents[2] / "appliance" / "install"


def test_unit_runs_the_appliance_as_the_generator_expects():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string((INSTALL / "gwlb-appliance.service").read_text())
    svc = unit["Service"]
    assert svc["ExecStart"].startswith("/usr/bin/python3 -m appliance ")
    assert "--policy /etc/gwlb-appliance/policy.json" in svc["ExecStart"]
    assert "--flow-log /var/log/gwlb-appliance/flows.log" in svc["ExecStart"]
    assert svc["WorkingDirectory"] == "/opt/gwlb-appliance"
    assert (svc["Restart"], svc["RestartSec"], svc["User"]) == ("always", "1", "root")
    assert svc["LogsDirectory"] == "gwlb-appliance"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_default_policy_allows_everything():
    pol = policy.load(str(INSTALL / "policy.json"))
    assert pol.rules == [] and pol.default == "allow"

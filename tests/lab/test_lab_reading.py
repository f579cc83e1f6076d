"""The lab's reading stage, no namespaces: a set AWS would refuse is one `error:` line per
refusal and exit 2 before anything is built; roles come from the set's paths; --parameter and
--master reach the reader. Runs without root."""

from pathlib import Path

import pytest
from lab_mutations import (
    copy_set,
    drop_target,
    edit,
    extra_plain_host,
    rename_everywhere,
)

from lab import roles
from lab.cli import main
from lab.reading import read_set

REPO = Path(__file__).resolve().parents[2]
SET = REPO / "output" / "aws" / "single-vpc"


def _refusals(capsys, directory: Path, *argv: str) -> list[str]:
    assert main([str(directory), *argv]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith(f"error: {directory}: ") for line in err)
    return err


def _route(body: dict, name: str) -> dict:
    return body["Resources"][name]["Properties"]


def test_a_route_more_specific_than_a_subnet_is_refused(capsys, tmp_path):
    broken = copy_set(SET, tmp_path / "set")
    # AWS: a route inside the VPC's block must match a subnet's block exactly.
    edit(
        broken,
        "Nested-InspectionRoutes.yml",
        lambda body: _route(body, "ApplicationSubnet1ToPublicSubnet1ViaGwlbe1").update(
            DestinationCidrBlock="10.0.0.0/25"
        ),
    )
    (line,) = _refusals(capsys, broken)
    assert "refused as AWS would: " in line
    assert "ApplicationSubnet1ToPublicSubnet1ViaGwlbe1" in line
    assert "InvalidParameterValue" in line and "10.0.0.0/25" in line


def test_two_routes_to_one_destination_are_refused(capsys, tmp_path):
    broken = copy_set(SET, tmp_path / "set")

    def duplicate(body: dict) -> None:
        body["Resources"]["Again"] = body["Resources"]["ApplicationSubnet1ToInternetViaGwlbe1"]

    edit(broken, "Nested-InspectionRoutes.yml", duplicate)
    lines = _refusals(capsys, broken)
    assert lines and all("RouteAlreadyExists" in line for line in lines)


def test_mismatched_failover_attributes_are_refused(capsys, tmp_path):
    broken = copy_set(SET, tmp_path / "set")

    def mismatch(body: dict) -> None:
        for res in body["Resources"].values():
            for attribute in res["Properties"].get("TargetGroupAttributes", []):
                if attribute["Key"] == "target_failover.on_deregistration":
                    attribute["Value"] = "no_rebalance"

    edit(broken, "Nested-GWLB.yml", mismatch)
    (line,) = _refusals(capsys, broken)
    assert "ValidationError" in line and "target_failover" in line


def test_an_endpoint_where_the_gwlb_has_no_node_is_refused(capsys, tmp_path):
    broken = copy_set(SET, tmp_path / "set")

    def other_zone(body: dict) -> None:
        subnet = body["Resources"]["EndpointSubnet2"]["Properties"]
        subnet["AvailabilityZone"] = {"Fn::Select": [2, {"Fn::GetAZs": ""}]}

    edit(broken, "Nested-Network.yml", other_zone)
    lines = _refusals(capsys, broken)
    assert any("GwlbEndpoint2" in line and "availability zone" in line for line in lines)


def test_bad_parameters_and_masters_are_one_error_line(capsys, tmp_path):
    assert main([str(SET), "--master", "Nope.yml"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    with pytest.raises(SystemExit) as stop:
        main([str(SET), "--parameter", "no-equals-sign"])
    assert stop.value.code == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err
    # A parameter value that makes the VPC's subnets fall outside it is refused as AWS would.
    lines = _refusals(capsys, SET, "--parameter", "VpcCidr=10.9.0.0/16")
    assert any("InvalidSubnet.Range" in line for line in lines)


def _roles(directory: Path) -> roles.Roles:
    return read_set(directory).roles


def test_roles_of_the_committed_set_come_from_its_paths():
    found = _roles(SET)
    assert [h.name for h in found.served] == ["WebServer1", "WebServer2"]
    assert [h.name for h in found.management] == ["Bastion"]
    assert found.plain == [] and found.unserved_web == {} and found.foreign_appliances == []
    everyone = [*found.served, *found.management, *found.appliances]
    # Each signals CloudFormation or carries an instance profile: each has a readiness path.
    assert set(found.needs_https) == {host.id for host in everyone}
    bastion, web = found.management[0], found.served[0]
    assert found.needs_https[bastion.id] == "Session Manager"  # Windows: a profile, no user data
    assert "signals CloudFormation" in found.needs_https[web.id]


def test_a_web_server_left_out_of_the_target_group_is_named(tmp_path):
    broken = copy_set(SET, tmp_path / "set")
    drop_target(broken, "WebServer2")
    found = _roles(broken)
    assert [h.name for h in found.served] == ["WebServer1"]
    ((host_id, why),) = found.unserved_web.items()
    assert host_id.endswith("WebServer2") and "user data is the served hosts'" in why
    assert host_id in found.needs_https  # it still signals: its readiness path is probed


@pytest.mark.parametrize(
    ("group", "profile"), [("WorkerSecurityGroup", False), ("WebSecurityGroup", True)]
)
def test_an_extra_ordinary_host_is_plain_not_a_bastion(tmp_path, group, profile):
    """With its own group or the web servers' one: it runs no service, so it is no web server;
    with a profile but no signal it owes, nothing is asked of its egress."""
    changed = copy_set(SET, tmp_path / "set")
    extra_plain_host(changed, group, profile)
    rename_everywhere(changed, "WebServer", "Frontend")
    found = _roles(changed)
    assert [h.name for h in found.plain] == ["Worker"]
    assert [h.name for h in found.management] == ["Bastion"]
    assert found.unserved_web == {}
    assert not any(h.endswith("Worker") for h in found.needs_https)
    assert [h.name for h in found.served] == ["Frontend1", "Frontend2"]

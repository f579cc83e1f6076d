"""Bring your own appliance (`--appliance byo`): the user's image, optional user data and health
check become master parameters, the rest of the set stays as it is, and readiness is either the
image's own signal or the web servers' signals across the GWLB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import cfn_yaml
from templates import main
from verify import contract, reader, routepath


@pytest.fixture(scope="module")
def byo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("byo")
    assert main(["--architecture", "both", "--appliance", "byo", "--output", str(out)]) == 0
    assert (
        main(["--appliance", "byo", "--byo-readiness", "signal", "--output", str(out / "signal")])
        == 0
    )
    return out


def _appliances(directory: Path) -> dict:
    return cfn_yaml.load(directory / "Nested-Appliances.yml")["Resources"]


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
@pytest.mark.parametrize("architecture", ["single-vpc", "separated-vpc"])
def test_a_byo_set_keeps_the_contract_and_inspects_every_flow(byo, partition, architecture):
    directory = byo / partition / architecture
    assert contract.check_directory(directory) == []
    assert routepath.problems(reader.load(directory)) == []


def test_the_image_user_data_and_health_check_come_from_the_master(byo):
    directory = byo / "aws" / "single-vpc"
    master = cfn_yaml.load(directory / "CN-GWLB.yml")
    for name in (
        "ApplianceAmiId",
        "ApplianceUserData",
        "ApplianceHealthProtocol",
        "ApplianceHealthPort",
        "ApplianceHealthPath",
    ):
        assert name in master["Parameters"], name
    data = _appliances(directory)["ApplianceLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == {"Ref": "ApplianceAmiId"}
    assert data["UserData"] == {
        "Fn::If": ["ApplianceHasUserData", {"Ref": "ApplianceUserData"}, {"Ref": "AWS::NoValue"}]
    }
    gwlb = cfn_yaml.load(directory / "Nested-GWLB.yml")["Resources"]["ApplianceTargetGroup"]
    assert gwlb["Properties"]["HealthCheckPort"] == {"Ref": "ApplianceHealthPort"}
    ingress = _appliances(directory)["ApplianceSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    health = [r for r in ingress if r["IpProtocol"] == "tcp"]
    assert {str(r["FromPort"]) for r in health} == {str({"Ref": "ApplianceHealthPort"})}


def test_readiness_is_the_gwlb_path_or_the_images_own_signal(byo):
    gwlb_ready = _appliances(byo / "aws" / "single-vpc")
    assert "CreationPolicy" not in gwlb_ready["ApplianceGroup"]
    assert "ApplianceSignalPolicy" not in gwlb_ready
    # The web servers' signals cross the GWLB and the brought appliances: they gate the stack.
    web = cfn_yaml.load(byo / "aws" / "single-vpc" / "Nested-Web.yml")["Resources"]
    assert web["WebServer1"]["CreationPolicy"]["ResourceSignal"]["Count"] == 1
    signalled = _appliances(byo / "signal" / "aws" / "single-vpc")
    assert signalled["ApplianceGroup"]["CreationPolicy"]["ResourceSignal"]["Count"] == {
        "Ref": "ApplianceDesiredSize"
    }
    assert "ApplianceSignalPolicy" in signalled


@pytest.mark.slow
def test_cfn_lint_finds_nothing_in_byo_sets(byo):
    files = sorted(str(p) for p in byo.glob("**/*.yml"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", *files],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readiness_without_byo_is_refused(tmp_path, capsys):
    assert main(["--byo-readiness", "signal", "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --byo-readiness needs --appliance byo\n"
    assert list(tmp_path.iterdir()) == []

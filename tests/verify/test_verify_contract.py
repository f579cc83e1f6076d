"""The cross-template contract over every variant: parameters passed and declared, their types,
nested outputs read by the master, TemplateURLs, CloudFormation's quotas; and cfn-lint over every
variant, not only the committed ones."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from core import cfn_yaml
from tests.set_helpers import ALL_SETS, COMMITTED, REPO
from verify import contract

SSM_AMI = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"


@pytest.mark.parametrize(("partition", "architecture"), ALL_SETS)
def test_the_committed_sets_keep_the_contract(partition, architecture):
    assert contract.check_directory(COMMITTED / partition / architecture) == []


def test_every_variant_keeps_the_contract(variants):
    assert len(variants) == 12  # 2 partitions x 3 architectures x 2 and 3 AZs
    for name, directory in variants.items():
        assert contract.check_directory(directory) == [], name


@pytest.mark.slow
def test_cfn_lint_finds_nothing_in_any_variant(variants, large):
    # Every AZ count of both architectures in both partitions, and ten application VPCs.
    sets = [*variants.values(), large]
    files = sorted(str(p) for d in sets for p in d.glob("*.yml"))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--config-file",
            ".cfnlintrc",
            "--",
            *files,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ami_ids_reach_nested_stacks_as_image_ids():
    templates = cfn_yaml.load_set(COMMITTED / "aws-cn" / "single-vpc")
    master = templates["CN-GWLB.yml"]["Parameters"]
    assert master["LinuxAmiId"]["Type"] == SSM_AMI
    assert master["WindowsAmiId"]["Type"] == SSM_AMI
    for name in ("Nested-Appliances.yml", "Nested-Web.yml", "Nested-Bastion.yml"):
        params = templates[name]["Parameters"]
        for ami in {"LinuxAmiId", "WindowsAmiId"} & set(params):
            assert params[ami]["Type"] == "AWS::EC2::Image::Id", (name, ami)


@pytest.fixture
def good() -> dict[str, dict]:
    return cfn_yaml.load_set(COMMITTED / "aws" / "single-vpc")


def _stack(templates, logical):
    return templates["CN-GWLB.yml"]["Resources"][logical]["Properties"]


def test_the_launch_blocker_is_found(good):
    # The set as it shipped before: nested AMI parameters typed like the master's SSM parameter.
    broken = copy.deepcopy(good)
    broken["Nested-Web.yml"]["Parameters"]["LinuxAmiId"]["Type"] = SSM_AMI
    findings = contract.check(broken)
    assert any("Nested-Web.yml: parameter LinuxAmiId has SSM type" in f for f in findings)
    assert any(f.startswith("WebStack: LinuxAmiId is given a value of type") for f in findings)
    assert len(findings) == 2


def test_a_parameter_not_declared_or_not_passed_is_found(good):
    broken = copy.deepcopy(good)
    _stack(broken, "WebStack")["Parameters"]["Surplus"] = {"Ref": "VpcCidr"}
    del _stack(broken, "BastionStack")["Parameters"]["KeyPairName"]
    assert sorted(contract.check(broken)) == [
        "BastionStack: nested parameter KeyPairName has no default and is not passed",
        "WebStack: passes Surplus, which the nested template does not declare",
    ]


def test_a_nested_default_excuses_a_parameter_not_passed(good):
    relaxed = copy.deepcopy(good)
    del _stack(relaxed, "BastionStack")["Parameters"]["KeyPairName"]
    relaxed["Nested-Bastion.yml"]["Parameters"]["KeyPairName"]["Default"] = "k"
    assert contract.check(relaxed) == []


def test_a_type_mismatch_and_a_dangling_ref_are_found(good):
    broken = copy.deepcopy(good)
    broken["Nested-Bastion.yml"]["Parameters"]["KeyPairName"]["Type"] = "AWS::EC2::VPC::Id"
    _stack(broken, "WebStack")["Parameters"]["PublicSubnet1Cidr"] = {"Ref": "NoSuchParameter"}
    assert sorted(contract.check(broken)) == [
        "BastionStack: KeyPairName is given a value of type AWS::EC2::KeyPair::KeyName "
        "but is declared AWS::EC2::VPC::Id",
        "WebStack: PublicSubnet1Cidr is fed by {'Ref': 'NoSuchParameter'}, "
        "which the master does not define",
    ]


def test_an_output_read_that_does_not_exist_is_found(good):
    broken = copy.deepcopy(good)
    del broken["Nested-Web.yml"]["Outputs"]["AlbUrl"]
    del broken["Nested-Network.yml"]["Outputs"]["VpcId"]
    findings = contract.check(broken)
    assert "master reads WebStack.Outputs.AlbUrl, which that template does not output" in findings
    assert "master reads NetworkStack.Outputs.VpcId, which that template does not output" in (
        findings
    )


def test_a_template_url_outside_the_set_is_found(good):
    broken = copy.deepcopy(good)
    _stack(broken, "GWLBStack")["TemplateURL"] = "Nested-Gwlb.yml"
    findings = contract.check(broken)
    assert "CN-GWLB.yml: GWLBStack: TemplateURL names Nested-Gwlb.yml, not a file of the set" in (
        findings
    )
    assert "Nested-GWLB.yml: no stack of the master uses this file" in findings


def test_quotas_are_enforced(good):
    big = copy.deepcopy(good)
    big["Nested-Web.yml"]["Outputs"] = {f"O{i}": {"Value": "x"} for i in range(201)}
    findings = contract.check(big, sizes={"CN-GWLB.yml": 1_000_001})
    assert "Nested-Web.yml: 201 outputs, over CloudFormation's 200" in findings
    assert "CN-GWLB.yml: 1000001 bytes, over the 1000000 bytes CloudFormation reads" in findings


def test_cli_exit_codes(tmp_path, capsys):
    assert contract.main([str(COMMITTED / "aws" / "single-vpc")]) == 0
    assert contract.main([str(tmp_path)]) == 2
    assert "holds no CloudFormation template" in capsys.readouterr().err


def _gwlb_listener(templates):
    return templates["Nested-GWLB.yml"]["Resources"]["GatewayLoadBalancerListener"]["Properties"]


def test_the_listener_and_the_appliances_share_one_tcp_idle_timeout(good):
    assert contract.check(copy.deepcopy(good)) == []
    listener = copy.deepcopy(good)
    _gwlb_listener(listener)["ListenerAttributes"][0]["Value"] = "900"
    assert contract.check(listener) == [
        f"ApplianceGroup{n}: the appliance's --tcp-idle is 350 but GatewayLoadBalancer's "
        "listener keeps idle TCP flows 900 s"
        for n in (1, 2)
    ]
    appliance = copy.deepcopy(good)
    data = appliance["Nested-Appliances.yml"]["Resources"]["ApplianceLaunchTemplate"]
    # [text, {variables}]: single-vpc's policy learns the VPC's IPv6 block through a variable.
    body, variables = data["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    edited = body.replace("--tcp-idle ${FlowIdleTimeout}", "--tcp-idle 3600")
    assert edited != body
    user_data = data["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    user_data["Fn::Sub"] = [edited, variables]
    findings = contract.check(appliance)
    assert len(findings) == 2  # one line per appliance of the group
    assert all("--tcp-idle is 3600 but" in f for f in findings)

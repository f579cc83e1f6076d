"""A bring-your-own-appliance set in the lab: our appliance bundle passed as the "third-party
image" through the byo inputs (its user data, base64, as the ApplianceUserData parameter) runs
from that user data and carries the plan's packets (root, --no-drill); launched without user
data, the image is foreign and the stand-in runs in its place."""

import base64
import re
from pathlib import Path

import pytest
from lab_run import REPO, by_result, needs_root, run

from core import cfn_yaml
from lab.reading import read_set
from templates import main as generate

COMMITTED = REPO / "output" / "aws" / "single-vpc"
# What CloudFormation substitutes in our launch template's Fn::Sub for the lab's stack.
SUBSTITUTIONS = {
    "FlowIdleTimeout": "350",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "lab",
    "Ipv6Internal": "",  # IpAddressType ipv4: the policy keeps its default internal blocks
}
AMI = "ami-0123456789abcdef0"
BYO = ("--parameter", f"ApplianceAmiId={AMI}")


@pytest.fixture(scope="module")
def byo_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("byo")
    assert generate(["--appliance", "byo", "--output", str(out), "--partition", "aws"]) == 0
    (directory,) = out.glob("aws/single-vpc")
    return directory


def _our_user_data() -> str:
    """Our appliance's user data as an instance of the committed set receives it, in base64."""
    body = cfn_yaml.load(COMMITTED / "Nested-Appliances.yml")
    (template,) = [r for r in body["Resources"].values() if r["Type"] == "AWS::EC2::LaunchTemplate"]
    text, _ = template["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    text = re.sub(r"\$\{([^}!]+)\}", lambda m: SUBSTITUTIONS[m.group(1)], text)
    assert text.startswith("#cloud-config") and "${" not in text
    return base64.b64encode(text.encode()).decode()


@needs_root
def test_our_bundle_as_the_byo_image_carries_packets(capsys, byo_set):
    code, table, text = run(
        capsys,
        byo_set,
        "--no-drill",
        *BYO,
        "--parameter",
        f"ApplianceUserData={_our_user_data()}",
        "--parameter",
        "ApplianceHealthProtocol=HTTP",
        "--parameter",
        "ApplianceHealthPath=/health",
    )
    assert code == 0, text
    assert by_result(table, "FAIL") == []
    assert not [r for r in table if "not our appliance" in r["flow"]]
    ours = [r for r in table if "our appliance bundle, from its base64 user data" in r["flow"]]
    assert {r["appliance"] for r in ours} == {"ApplianceGroup1", "ApplianceGroup2"}
    egress = [r for r in table if r["step"] == "1 egress" and r["result"] == "PASS"]
    assert egress and all(r["appliance"].startswith("ApplianceGroup") for r in egress)
    evidence = [r for r in table if r["step"] == "4 inspection" and "flow log" in r["flow"]]
    assert len(evidence) == 2 and all(r["result"] == "PASS" for r in evidence)


def test_a_byo_image_without_user_data_is_foreign_and_ours_is_not(byo_set):
    """The reading stage alone (no root needed) decides who runs: without user data the stand-in
    (the row that says so is test_lab_foreign's), with our bundle's base64 user data ours."""
    without = read_set(byo_set, parameters={"ApplianceAmiId": AMI})
    names = {host.name for host in without.roles.foreign_appliances}
    assert names == {"ApplianceGroup1", "ApplianceGroup2"}
    given = {"ApplianceAmiId": AMI, "ApplianceUserData": _our_user_data()}
    with_ours = read_set(byo_set, parameters=given)
    assert with_ours.roles.foreign_appliances == []
    assert sorted(with_ours.base64_user_data) == sorted(h.id for h in with_ours.roles.appliances)
    assert all(h.user_data.startswith("#cloud-config") for h in with_ours.roles.appliances)

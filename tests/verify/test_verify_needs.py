"""verify.needs: what a set takes from an account's quotas, counted from the rendered set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.verify.tgw_fixture import TGW_SET
from verify import needs
from verify.errors import SetError

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "output"


def build(tmp_path: Path, app_vpcs: int, az_count: int) -> Path:
    subprocess.run(
        [sys.executable, "templates.py", "--partition", "aws", "--architecture", "separated-vpc",
         "--app-vpcs", str(app_vpcs), "--az-count", str(az_count), "--output", str(tmp_path)],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    return tmp_path / "aws" / "separated-vpc"


def type_lines(directory: Path, resource_type: str) -> int:
    """Resources of a type, counted in the YAML text: a reading apart from the evaluator."""
    return sum(
        path.read_text().count(f"Type: {resource_type}\n") for path in directory.glob("*.yml")
    )


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
@pytest.mark.parametrize("architecture", ["single-vpc", "separated-vpc"])
def test_committed_sets_count_what_their_text_declares(partition, architecture):
    directory = OUTPUT / partition / architecture
    found = needs.of_directory(directory)
    assert found.elastic_ips == type_lines(directory, "AWS::EC2::EIP")
    assert found.vpcs == type_lines(directory, "AWS::EC2::VPC")
    assert found.internet_gateways == type_lines(directory, "AWS::EC2::InternetGateway")
    assert found.zones == 2


def test_the_default_separated_set_needs_exactly_the_default_elastic_ips():
    # The launch review: 5 Elastic IPs, the default quota of a new account.
    assert needs.of_directory(OUTPUT / "aws" / "separated-vpc").elastic_ips == 5


@pytest.mark.parametrize(("app_vpcs", "az_count"), [(1, 3), (2, 2)])
def test_three_zones_or_two_application_vpcs_need_seven(tmp_path, app_vpcs, az_count):
    assert needs.of_directory(build(tmp_path, app_vpcs, az_count)).elastic_ips == 7


def test_the_advertised_ten_by_three(tmp_path):
    found = needs.of_directory(build(tmp_path, 10, 3))
    assert (found.elastic_ips, found.vpcs, found.nat_gateways_per_zone) == (34, 11, 11)
    assert found.zones == 3


def test_instances_by_type_with_groups_at_their_maximum_and_given_parameters():
    directory = OUTPUT / "aws" / "single-vpc"
    master = (directory / "CN-GWLB.yml").read_text()
    assert "WebInstanceType" in master  # the parameter overridden below
    default = needs.of_directory(directory)
    bigger = needs.of_directory(directory, {"WebInstanceType": "m5.large"})
    web = sum(default.instances.values()) - sum(
        n for kind, n in bigger.instances.items() if kind != "m5.large"
    )
    assert bigger.instances["m5.large"] == web == 2  # two web servers, one per zone
    assert sum(bigger.instances.values()) == sum(default.instances.values())


HAND_WRITTEN = """\
Resources:
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MaxSize: '4'
      MinSize: '1'
      LaunchTemplate:
        LaunchTemplateId: !Ref Template
        Version: '1'
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: c5.xlarge
  Box:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !ImportValue shared-type
"""


def test_a_hand_written_set_counts_groups_and_names_what_it_cannot_read(tmp_path):
    without_box = HAND_WRITTEN[: HAND_WRITTEN.index("  Box:")]
    (tmp_path / "main.yaml").write_text(without_box)
    assert needs.of_directory(tmp_path).instances == {"c5.xlarge": 4}
    (tmp_path / "main.yaml").write_text(HAND_WRITTEN)
    with pytest.raises(SetError, match="main.yaml: Box: instance type"):
        needs.of_directory(tmp_path)


def test_the_hand_written_tgw_set_counts_its_gateway_parts():
    found = needs.of_directory(TGW_SET)
    # One TGW; spokes, inspection and ingress tables; inspection, ingress (the older attachment
    # type) and two spoke attachments; two static routes and three propagations.
    assert (
        found.transit_gateways,
        found.transit_route_tables,
        found.transit_attachments,
        found.transit_routes,
    ) == (1, 3, 4, 5)

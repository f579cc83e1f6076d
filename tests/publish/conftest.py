"""Publisher test fixtures: moto S3 on 127.0.0.1, an offline AWS environment, template sets."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

import publish
from tests.aws_offline import moto_url, offline_aws  # noqa: F401 - fixtures for this folder

REPO = Path(__file__).resolve().parents[2]
REAL_OUTPUT = REPO / "output"


@pytest.fixture
def s3_admin(moto_url: str) -> Callable[[str], Any]:
    """Verification clients with their own credentials, independent of the environment."""

    def make(region: str) -> Any:
        return boto3.client(
            "s3",
            region_name=region,
            endpoint_url=moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


@pytest.fixture
def bucket_in(s3_admin: Callable[[str], Any]) -> Callable[[str], str]:
    """Create a fresh bucket in a region; returns its name."""

    def make(region: str) -> str:
        name = f"qs-{uuid.uuid4().hex[:12]}"
        arguments: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3_admin(region).create_bucket(**arguments)
        return name

    return make


# A small set in the generator's form: troposphere to_yaml() short tags, bare TemplateURLs.
MASTER = """\
AWSTemplateFormatVersion: '2010-09-09'
Description: GWLB inspection ({partition}) - fixture
Parameters:
  KeyName:
    Description: EC2 key pair
    Type: AWS::EC2::KeyPair::KeyName
  VpcCidr:
    Default: 10.0.0.0/16
    Type: String
Resources:
  Network:
    Properties:
      Parameters:
        VpcCidr: !Ref 'VpcCidr'
      TemplateURL: Nested-Network.yml
    Type: AWS::CloudFormation::Stack
  SSMRole:
    Properties:
      TemplateURL: Nested-SSMRole.yml
    Type: AWS::CloudFormation::Stack
Outputs:
  VpcId:
    Value: !GetAtt 'Network.Outputs.VpcId'
  Note:
    Value: !Sub 'arn:{partition}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/x'
"""
NESTED_NETWORK = """\
Parameters:
  VpcCidr:
    Type: String
Resources:
  Vpc:
    Properties:
      CidrBlock: !Ref 'VpcCidr'
    Type: AWS::EC2::VPC
Outputs:
  VpcId:
    Value: !Ref 'Vpc'
"""
NESTED_ROLE = """\
Resources:
  Role:
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Action: sts:AssumeRole
            Effect: Allow
            Principal:
              Service: !Sub 'ec2.${{AWS::URLSuffix}}'
      ManagedPolicyArns:
        - arn:{partition}:iam::aws:policy/AmazonSSMManagedInstanceCore
    Type: AWS::IAM::Role
"""


def write_set(root: Path, partition: str, architecture: str = "single-vpc") -> Path:
    directory = root / partition / architecture
    directory.mkdir(parents=True)
    (directory / "CN-GWLB.yml").write_text(MASTER.format(partition=partition))
    (directory / "Nested-Network.yml").write_text(NESTED_NETWORK)
    (directory / "Nested-SSMRole.yml").write_text(NESTED_ROLE.format(partition=partition))
    return directory


@pytest.fixture
def make_set() -> Callable[[Path, str], Path]:
    return write_set


@pytest.fixture
def fixture_output(tmp_path: Path) -> Path:
    """An output/ with a small aws and aws-cn single-vpc set (the partitions differ in content)."""
    root = tmp_path / "output"
    for partition in ("aws", "aws-cn"):
        write_set(root, partition)
    return root


@pytest.fixture
def run_publish(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Call publish.main(argv) in-process; returns (exit code, stdout, stderr)."""

    def call(*argv: str, client_factory: Any = None) -> tuple[int, str, str]:
        code = publish.main(list(argv), client_factory=client_factory)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call

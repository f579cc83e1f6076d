"""Publisher test fixtures: moto S3 on 127.0.0.1, an offline AWS environment, template sets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import publish

REPO = Path(__file__).resolve().parents[2]
REAL_OUTPUT = REPO / "output"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server process serving S3 over real HTTP on 127.0.0.1 only."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto server exited with code {proc.returncode}")
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("moto server did not answer within 30 s")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials, no config files, no instance metadata, and no socket off loopback."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path_factory.mktemp("awsconfig") / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise AssertionError(f"test tried to connect to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


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

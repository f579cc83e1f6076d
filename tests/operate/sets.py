"""A miniature template set for deploy tests, and unique names for stacks."""

from __future__ import annotations

import uuid
from pathlib import Path


def stack_name() -> str:
    return f"op-{uuid.uuid4().hex[:10]}"


# A miniature set in the generator's layout: the master names nested templates by file name and
# the publisher rewrites them. Only resource types moto's CloudFormation creates are used.
MASTER = """\
AWSTemplateFormatVersion: '2010-09-09'
Description: operate test set ({partition})
Parameters:
  KeyPairName:
    Type: String
  BastionAllowedCidr:
    Type: String
  VpcCidr:
    Default: 10.9.0.0/16
    Type: String
Resources:
  NetworkStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: Nested-Network.yml
      Parameters:
        VpcCidr: !Ref 'VpcCidr'
  MarkerTopic:
    Type: AWS::SNS::Topic
# moto drops every root output when one reads a nested stack's output, so these do not.
Outputs:
  BastionRule:
    Value: !Ref 'BastionAllowedCidr'
  TopicArn:
    Value: !Ref 'MarkerTopic'
"""
NETWORK = """\
Parameters:
  VpcCidr:
    Type: String
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: !Ref 'VpcCidr'
Outputs:
  VpcId:
    Value: !Ref 'Vpc'
"""


def write_set(root: Path, partition: str, extra_resource: str = "") -> Path:
    directory = root / partition / "single-vpc"
    directory.mkdir(parents=True, exist_ok=True)
    master = MASTER.format(partition=partition)
    if extra_resource:
        master = master.replace("Outputs:\n", f"{extra_resource}Outputs:\n", 1)
    (directory / "CN-GWLB.yml").write_text(master)
    (directory / "Nested-Network.yml").write_text(NETWORK)
    return directory

"""Nested-SSMRole: the instance role and profile that gives every instance Session Manager."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, iam

from generator.stacks.base import Nested, NestedBuilder

CONCERN = "SSMRole"


def build(catalogue: dict) -> Nested:
    b = NestedBuilder(
        CONCERN,
        "GWLB quickstart: instance role with Session Manager, and leave to signal its own stacks.",
        catalogue,
    )
    b.root_name()  # scopes the signal permission below
    role = b.template.add_resource(
        iam.Role(
            "InstanceRole",
            AssumeRolePolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": Sub("ec2.${AWS::URLSuffix}")},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            ManagedPolicyArns=[
                Sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")
            ],
            Policies=[
                iam.Policy(
                    PolicyName="signal-own-stacks",
                    # Instances report readiness with SignalResource; only this deployment's
                    # nested stacks (named <root>-<concern>Stack-<suffix>) may be signalled.
                    PolicyDocument={
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "cloudformation:SignalResource",
                                "Resource": Sub(
                                    "arn:${AWS::Partition}:cloudformation:${AWS::Region}:"
                                    "${AWS::AccountId}:stack/${RootStackName}-*/*"
                                ),
                            }
                        ],
                    },
                )
            ],
            Tags=b.tags("instance role"),
        )
    )
    profile = b.template.add_resource(iam.InstanceProfile("InstanceProfile", Roles=[Ref(role)]))
    b.output("InstanceProfileName", Ref(profile), "Instance profile shared by every instance.")
    b.output("InstanceRoleArn", GetAtt(role, "Arn"), "Role behind the instance profile.")
    return b.done()

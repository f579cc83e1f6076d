"""Nested-SSMRole: one instance role and profile per kind of instance, each with Session Manager
only. Leave to signal CloudFormation is granted by the stack that owns the signalled resource, on
that stack alone (see signal_policy), so no instance can report for another's stack."""

from __future__ import annotations

from troposphere import Ref, Sub, iam

from generator.stacks.base import Nested, NestedBuilder

CONCERN = "SSMRole"
# Kinds of instance, each with a role of its own: the internet-facing bastion shares nothing
# with the instances that report readiness.
KINDS = {"Appliance": "the appliances", "Web": "the web servers", "Bastion": "the bastion"}


def profile_output(kind: str) -> str:
    return f"{kind}InstanceProfileName"


def role_output(kind: str) -> str:
    return f"{kind}RoleName"


def build(catalogue: dict) -> Nested:
    b = NestedBuilder(
        CONCERN,
        "GWLB quickstart: one instance role per kind of instance (appliance, web server, "
        "bastion), each with Session Manager only.",
        catalogue,
    )
    for kind, who in KINDS.items():
        _add_role(b, kind, who)
    return b.done()


def _add_role(b: NestedBuilder, kind: str, who: str) -> None:
    role = b.template.add_resource(
        iam.Role(
            f"{kind}Role",
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
            Tags=b.tags(f"{kind.lower()} role"),
        )
    )
    profile = b.template.add_resource(
        iam.InstanceProfile(f"{kind}InstanceProfile", Roles=[Ref(role)])
    )
    b.output(profile_output(kind), Ref(profile), f"Instance profile of {who}.")
    b.output(role_output(kind), Ref(role), f"Role of {who}, Session Manager only.")


def instance_profile(b: NestedBuilder, kind: str) -> Ref:
    """The instance profile of `kind`, as an input of the stack `b` builds."""
    return b.output_of(CONCERN, profile_output(kind))


def signal_policy(b: NestedBuilder, kind: str, logical_id: str) -> iam.PolicyType:
    """Lets the instances of `kind` signal the stack being built, and no other stack."""
    return b.template.add_resource(
        iam.PolicyType(
            logical_id,
            PolicyName=f"signal-{kind.lower()}-stack",
            Roles=[b.output_of(CONCERN, role_output(kind))],
            PolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "cloudformation:SignalResource",
                        "Resource": Ref("AWS::StackId"),
                    }
                ],
            },
        )
    )

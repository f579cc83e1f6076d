"""Nested-SSMRole: one instance role and profile per kind of instance, each with Session Manager
only. Leave to signal CloudFormation is granted by the stack that owns the signalled resource, on
that stack alone (see signal_policy), so no instance can report for another's stack."""

from __future__ import annotations

from troposphere import Ref, Sub, iam

from core import naming
from generator.model import Topology
from generator.stacks.base import Nested, NestedBuilder

CONCERN = "SSMRole"
# Kinds of instance, each with a role of its own: the internet-facing bastion shares nothing
# with the instances that report readiness.
KINDS = {"Appliance": "the appliances", "Web": "the web servers", "Bastion": "the bastion"}
SINGULAR = {"Appliance": "appliance", "Web": "web server", "Bastion": "bastion"}


def build(catalogue: dict, topology: Topology, kinds: tuple[str, ...]) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: one instance role per kind of instance ("
        + ", ".join(SINGULAR[k] for k in kinds)
        + "), each with Session Manager only.",
        catalogue,
        topology,
    )
    for kind in kinds:
        role, profile = add_role(builder, kind)
        builder.output(
            naming.instance_profile_output(kind),
            Ref(profile),
            f"Instance profile of {KINDS[kind]}.",
        )
        builder.output(
            naming.role_output(kind), Ref(role), f"Role of {KINDS[kind]}, Session Manager only."
        )
    return builder.done()


def add_role(builder: NestedBuilder, kind: str) -> tuple[str, str]:
    """A Session-Manager-only role for `kind` and its instance profile: their logical IDs."""
    role = builder.template.add_resource(
        iam.Role(
            naming.role_id(kind),
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
            Tags=builder.tags(f"{kind.lower()} role"),
        )
    )
    profile = builder.template.add_resource(
        iam.InstanceProfile(naming.instance_profile_id(kind), Roles=[Ref(role)])
    )
    return role.title, profile.title


def instance_profile(builder: NestedBuilder, kind: str) -> Ref:
    """The instance profile of `kind`, as an input of the stack `b` builds."""
    return builder.output_of(CONCERN, naming.instance_profile_output(kind))


def signal_policy(builder: NestedBuilder, kind: str, logical_id: str, role=None) -> iam.PolicyType:
    """Lets the instances of `kind` (or of the given role) signal the stack being built, and no
    other stack."""
    return builder.template.add_resource(
        iam.PolicyType(
            logical_id,
            PolicyName=f"signal-{kind.lower()}-stack",
            Roles=[role or builder.output_of(CONCERN, naming.role_output(kind))],
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

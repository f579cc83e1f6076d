"""Nested-AppWeb (separated-vpc): one application VPC's web servers behind its ALB, with a role of
their own, instantiated once per VPC from the same template. It comes after the appliances, which
in turn come after every application VPC's network: a dual-stack appliance's policy must name each
VPC's Amazon-provided /56 as internal, and that block exists only once its VPC does."""

from __future__ import annotations

from troposphere import Ref

from core import naming
from generator.model import Topology, Vpc
from generator.stacks.base import Nested, NestedBuilder
from generator.stacks.ssm_role import add_role, signal_policy
from generator.stacks.web import add_web

CONCERN = "AppWeb"


def build(topology: Topology, vpc: Vpc, catalogue: dict) -> Nested:
    builder = NestedBuilder(
        CONCERN,
        "GWLB quickstart: the web servers of one application VPC, answering 'web server N in "
        "application VPC K' behind an internet-facing ALB.",
        catalogue,
        topology,
        generic=vpc,
    )
    role, profile = add_role(builder, "Web")
    # In place before any server boots, so its first signal is allowed; a role per VPC, so that
    # no VPC's servers can report readiness for another VPC's stack.
    signal_policy(builder, "Web", "WebSignalPolicy", role=Ref(role))
    add_web(builder, vpc, Ref(profile))
    # The servers' signals cross the appliances; the VPC's own stack comes first by its outputs.
    return builder.done(
        after=(naming.stack_id("Appliances"),),
        stack_id=naming.stack_id("Web", vpc.prefix),
        file=naming.nested_file(CONCERN),
        prefix=vpc.prefix,
    )

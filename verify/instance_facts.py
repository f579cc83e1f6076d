"""Facts about a set's instances that the set model leaves out: which wait for a CloudFormation
signal (a CreationPolicy with ResourceSignal, on the instance or its Auto Scaling group, or user
data that calls cfn-signal or signal-resource) and which carry an instance profile (the Session
Manager agent needs one). Keyed like SetModel.hosts: instance ids, and Auto Scaling group ids."""

from __future__ import annotations

from dataclasses import dataclass

from verify.evaluate import Stack

SIGNAL_WORDS = ("cfn-signal", "signal-resource")


@dataclass(frozen=True)
class InstanceFacts:
    signals: bool  # CloudFormation waits for its signal: it must reach CloudFormation (HTTPS)
    profile: bool  # an instance profile: Session Manager's agent must reach its API (HTTPS)


def read(stacks: list[Stack]) -> dict[str, InstanceFacts]:
    """{instance or Auto Scaling group id: facts}."""
    found: dict[str, InstanceFacts] = {}
    for stack in stacks:
        for logical in stack.of_type("AWS::EC2::Instance"):
            body = stack.resources[logical]
            props = stack.props(logical)
            found[stack.ref(logical)] = InstanceFacts(
                _waits(body) or _signals(props.get("UserData")),
                bool(props.get("IamInstanceProfile")),
            )
        for logical in stack.of_type("AWS::AutoScaling::AutoScalingGroup"):
            body = stack.resources[logical]
            template = stack.props(logical).get("LaunchTemplate", {}).get("LaunchTemplateId")
            data = _launch_data(stacks, str(template))
            found[stack.ref(logical)] = InstanceFacts(
                _waits(body) or _signals(data.get("UserData")),
                bool(data.get("IamInstanceProfile")),
            )
    return found


def _waits(body: dict) -> bool:
    policy = body.get("CreationPolicy") or {}
    return isinstance(policy, dict) and "ResourceSignal" in policy


def _signals(user_data: object) -> bool:
    return any(word in str(user_data or "") for word in SIGNAL_WORDS)


def _launch_data(stacks: list[Stack], template: str) -> dict:
    for stack in stacks:
        for logical in stack.of_type("AWS::EC2::LaunchTemplate"):
            if stack.ref(logical) == template:
                data = stack.props(logical).get("LaunchTemplateData", {})
                return data if isinstance(data, dict) else {}
    return {}

"""The appliance fleet in every committed set: sizes, target tracking on CPU, rolling updates that
wait for signals, and one TCP idle timeout for the GWLB's listener and target group settings."""

from __future__ import annotations

import pytest

from tests.set_helpers import ALL_SETS, COMMITTED, load_set


@pytest.fixture(params=ALL_SETS, ids=lambda s: "-".join(s))
def templates(request):
    partition, architecture = request.param
    return load_set(COMMITTED / partition / architecture)


def _one(templates: dict, type_: str) -> tuple[str, dict]:
    (found,) = [
        (name, resource)
        for body in templates.values()
        for name, resource in body.get("Resources", {}).items()
        if resource["Type"] == type_
    ]
    return found


def test_the_group_is_sized_by_parameters_and_scales_on_cpu(templates):
    _, group = _one(templates, "AWS::AutoScaling::AutoScalingGroup")
    props = group["Properties"]
    assert (props["MinSize"], props["MaxSize"], props["DesiredCapacity"]) == (
        {"Ref": "ApplianceMinSize"},
        {"Ref": "ApplianceMaxSize"},
        {"Ref": "ApplianceDesiredSize"},
    )
    assert props["DefaultInstanceWarmup"] >= 60
    _, policy = _one(templates, "AWS::AutoScaling::ScalingPolicy")
    config = policy["Properties"]["TargetTrackingConfiguration"]
    assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
    assert policy["Properties"]["AutoScalingGroupName"] == {"Ref": "ApplianceGroup"}
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ASGAverageCPUUtilization"
    )
    assert config["TargetValue"] == {"Ref": "ApplianceCpuTarget"}


def test_defaults_leave_room_to_scale_and_to_roll(templates):
    master = templates["CN-GWLB.yml"]
    params = master["Parameters"]
    smallest, desired, most = (
        int(params[f"Appliance{n}Size"]["Default"]) for n in ("Min", "Desired", "Max")
    )
    assert smallest <= desired < most
    (rule,) = master["Rules"].values()
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ApplianceMinSize"}, {"Ref": "ApplianceMaxSize"}]}]
    }


def test_flow_timeouts_and_stickiness_are_stated(templates):
    (listener,) = [
        r
        for body in templates.values()
        for r in body.get("Resources", {}).values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
        and r["Properties"]["LoadBalancerArn"] == {"Ref": "GatewayLoadBalancer"}
    ]
    attributes = {a["Key"]: a["Value"] for a in listener["Properties"]["ListenerAttributes"]}
    assert attributes == {"tcp.idle_timeout.seconds": {"Ref": "FlowIdleTimeout"}}
    groups = [
        r
        for body in templates.values()
        for r in body.get("Resources", {}).values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
        and r["Properties"].get("Protocol") == "GENEVE"
    ]
    (group,) = groups
    tg = {a["Key"]: a["Value"] for a in group["Properties"]["TargetGroupAttributes"]}
    assert tg["stickiness.enabled"] == "false"  # the GWLB's own 5-tuple hashing
    assert tg["deregistration_delay.timeout_seconds"] == {"Ref": "ApplianceDeregistrationDelay"}
    timeout = templates["CN-GWLB.yml"]["Parameters"]["FlowIdleTimeout"]
    assert (timeout["MinValue"], timeout["MaxValue"], timeout["Default"]) == (60, 6000, "350")

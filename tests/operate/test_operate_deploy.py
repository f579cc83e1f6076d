"""Deploy against moto on 127.0.0.1: publish, create, update through a change set, no-op, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.operate.sets import stack_name, write_set

CIDR = "203.0.113.7/32"
REPO = Path(__file__).resolve().parents[2]


def deploy_args(stack, region, bucket, output, *extra):
    return (
        "deploy",
        "--stack",
        stack,
        "--region",
        region,
        "--bucket",
        bucket,
        "--output",
        str(output),
        *extra,
    )


def test_create_publishes_then_creates_and_prints_outputs(
    admin, operate, bucket_in, key_pair, small_output
):
    region = "cn-north-1"
    bucket = bucket_in(region)
    stack = stack_name()
    code, out, err = operate(
        *deploy_args(
            stack,
            region,
            bucket,
            small_output,
            "--key-pair",
            key_pair(region),
            "--bastion-cidr",
            CIDR,
        )
    )
    assert (code, err) == (0, "")
    keys = [o["Key"] for o in admin("s3", region).list_objects_v2(Bucket=bucket)["Contents"]]
    assert "single-vpc/CN-GWLB.yml" in keys and len(keys) == 2
    lines = out.splitlines()
    assert (
        f"Creating stack {stack} in {region} from https://{bucket}.s3.{region}."
        "amazonaws.com.cn/single-vpc/CN-GWLB.yml" in lines
    )
    assert any(
        line.split() == ["Add", "NetworkStack", "AWS::CloudFormation::Stack"] for line in lines
    )
    # the nested stack's own events appear under the master's resource
    assert any(
        f"{stack}/NetworkStack [AWS::CloudFormation::Stack]" in line and "CREATE_COMPLETE" in line
        for line in lines
    )
    assert "deploy: CREATE_COMPLETE after 0 s" in lines
    described = admin("cloudformation", region).describe_stacks(StackName=stack)["Stacks"][0]
    topic = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}["TopicArn"]
    assert topic.startswith("arn:aws-cn:sns:cn-north-1:")
    outputs = lines[lines.index("Outputs:") + 1 :]
    assert outputs == [f"  BastionRule  {CIDR}", f"  TopicArn     {topic}"]


def test_update_shows_the_change_set_and_keeps_previous_parameters(
    admin, operate, bucket_in, key_pair, small_output
):
    region = "us-east-1"
    bucket = bucket_in(region)
    stack = stack_name()
    first = operate(
        *deploy_args(
            stack,
            region,
            bucket,
            small_output,
            "--key-pair",
            key_pair(region),
            "--bastion-cidr",
            CIDR,
        )
    )
    assert first[0] == 0, first[2]
    write_set(small_output, "aws", extra_resource="  ExtraTopic:\n    Type: AWS::SNS::Topic\n")
    code, out, err = operate(*deploy_args(stack, region, bucket, small_output))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert (
        f"Updating stack {stack} in {region} from https://{bucket}.s3.{region}."
        "amazonaws.com/single-vpc/CN-GWLB.yml" in lines
    )
    assert any(line.split() == ["Add", "ExtraTopic", "AWS::SNS::Topic"] for line in lines)
    assert "deploy: UPDATE_COMPLETE after 0 s" in lines
    # only the update's events are shown, not the create's
    assert not any(f"CREATE_IN_PROGRESS {stack} [" in " ".join(line.split()) for line in lines)
    assert any(f"UPDATE_IN_PROGRESS {stack} [" in " ".join(line.split()) for line in lines)
    described = admin("cloudformation", region).describe_stacks(StackName=stack)["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert parameters["BastionAllowedCidr"] == CIDR


def test_nothing_to_change_exits_0_and_leaves_no_change_set(
    admin, operate, bucket_in, key_pair, small_output
):
    region = "us-east-1"
    bucket = bucket_in(region)
    stack = stack_name()
    key = key_pair(region)
    # Every parameter given: moto compares the given values, defaults not included.
    args = deploy_args(
        stack,
        region,
        bucket,
        small_output,
        "--key-pair",
        key,
        "--bastion-cidr",
        CIDR,
        "--parameter",
        "VpcCidr=10.9.0.0/16",
    )
    assert operate(*args)[0] == 0
    code, out, err = operate(*args)
    assert (code, err) == (0, "")
    assert f"Stack {stack} already matches the template and parameters." in out
    assert "No changes." in out
    cfn = admin("cloudformation", region)
    summaries = cfn.list_change_sets(StackName=stack)["Summaries"]
    assert [c for c in summaries if c["StackName"] == stack] == []  # moto lists every stack's


def test_json_stream(operate, bucket_in, key_pair, small_output):
    region = "cn-northwest-1"
    bucket = bucket_in(region)
    stack = stack_name()
    code, out, err = operate(
        *deploy_args(
            stack,
            region,
            bucket,
            small_output,
            "--json",
            "--key-pair",
            key_pair(region),
            "--bastion-cidr",
            CIDR,
        )
    )
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]
    events = [r for r in records if r["kind"] == "event"]
    assert events[0]["path"] == [stack] and events[0]["status"] == "CREATE_IN_PROGRESS"
    assert any(r["path"] == [stack, "NetworkStack"] for r in events)
    result = records[-1]
    assert result["kind"] == "result" and result["exit_code"] == 0
    assert result["status"] == "CREATE_COMPLETE" and result["stack"] == stack
    outputs = next(r for r in records if r["kind"] == "outputs")["outputs"]
    assert outputs["BastionRule"] == CIDR
    changes = next(r for r in records if r["kind"] == "changes")["changes"]
    assert {c["logical_id"] for c in changes} == {"NetworkStack", "MarkerTopic"}


def test_template_url_without_bucket(admin, operate, bucket_in, key_pair, small_output):
    region = "us-east-1"
    bucket = bucket_in(region)
    first = stack_name()
    assert (
        operate(
            *deploy_args(
                first,
                region,
                bucket,
                small_output,
                "--key-pair",
                key_pair(region),
                "--bastion-cidr",
                CIDR,
            )
        )[0]
        == 0
    )
    url = f"https://{bucket}.s3.{region}.amazonaws.com/single-vpc/CN-GWLB.yml"
    second = stack_name()
    code, out, err = operate(
        "deploy",
        "--stack",
        second,
        "--region",
        region,
        "--template-url",
        url,
        "--key-pair",
        key_pair(region),
        "--bastion-cidr",
        CIDR,
        "--output",
        str(small_output),
    )
    assert (code, err) == (0, "")
    # without the master's text only the resource types are known
    assert any(line.split() == ["Add", "AWS::SNS::Topic"] for line in out.splitlines())
    status = admin("cloudformation", region).describe_stacks(StackName=second)["Stacks"][0]
    assert status["StackStatus"] == "CREATE_COMPLETE"


def test_no_execute_changes_nothing(admin, operate, bucket_in, key_pair, small_output):
    region = "us-east-1"
    stack = stack_name()
    bucket = bucket_in(region)
    code, out, err = operate(
        *deploy_args(
            stack,
            region,
            bucket,
            small_output,
            "--no-execute",
            "--key-pair",
            key_pair(region),
            "--bastion-cidr",
            CIDR,
        )
    )
    assert (code, err) == (0, "")
    assert "--no-execute: nothing uploaded, nothing created." in out
    names = [
        s["StackName"] for s in admin("cloudformation", region).list_stacks()["StackSummaries"]
    ]
    assert stack not in names
    # nothing uploaded either: the shared master key is left as it was
    assert admin("s3", region).list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_an_update_keeps_the_stacks_architecture():
    from operate.errors import UsageError
    from operate.master import architecture_in, choose_architecture

    # What the master records in its Metadata decides, never its Description's prose.
    separated = (REPO / "output" / "aws" / "separated-vpc" / "CN-GWLB.yml").read_text()
    assert architecture_in(separated) == "separated-vpc"
    prose_only = "Description: GWLB inspection quickstart (separated-vpc, 2 AZ)\nResources: {}\n"
    assert architecture_in(prose_only) is None
    # ARCH unset: the stack's own; a new stack: single-vpc.
    assert choose_architecture(None, "separated-vpc", "demo") == "separated-vpc"
    assert choose_architecture(None, None, "demo") == "single-vpc"
    assert choose_architecture("separated-vpc", None, "demo") == "separated-vpc"
    with pytest.raises(UsageError, match="demo is separated-vpc; deploying single-vpc would"):
        choose_architecture("single-vpc", "separated-vpc", "demo")


@pytest.mark.parametrize(
    ("url", "partition"),
    [
        ("https://b.s3.cn-north-1.amazonaws.com.cn/single-vpc/CN-GWLB.yml", "aws-cn"),
        ("https://b.s3.eu-west-1.amazonaws.com/single-vpc/CN-GWLB.yml", "aws"),
        ("https://templates.example.org/CN-GWLB.yml", None),
    ],
)
def test_the_partition_of_a_template_url(url, partition):
    from operate.master import template_partition

    assert template_partition(url) == partition

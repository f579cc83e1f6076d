"""Deploy against moto: publish, create through a change set, update, no-op, outputs."""

from __future__ import annotations

from tests.operate.conftest import stack_name, write_set


def test_create_then_update_then_nothing(operate, bucket_in, key_pair, small_output):
    region = "cn-north-1"
    bucket = bucket_in(region)
    key = key_pair(region)
    stack = stack_name()
    code, out, err = operate(
        "deploy",
        "--stack",
        stack,
        "--region",
        region,
        "--bucket",
        bucket,
        "--key-pair",
        key,
        "--bastion-cidr",
        "203.0.113.7/32",
        "--output",
        str(small_output),
    )
    print(out, err)
    assert code == 0, err


def test_debug_outputs(admin, operate, bucket_in, key_pair, small_output):
    region = "cn-north-1"
    bucket = bucket_in(region)
    stack = stack_name()
    code, out, err = operate(
        "deploy", "--stack", stack, "--region", region, "--bucket", bucket,
        "--key-pair", key_pair(region), "--bastion-cidr", "203.0.113.7/32", "--output", str(small_output),
    )
    print(admin("cloudformation", region).describe_stacks(StackName=stack)["Stacks"][0])

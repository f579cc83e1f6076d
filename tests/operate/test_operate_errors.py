"""Bad inputs and refusals: one `error:` line, exit 2, and nothing created or uploaded."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.operate.sets import stack_name

CIDR = "198.51.100.9/32"
# A deploy that passes every check the cases below do not break.
DEPLOY = ["deploy", "--stack", "s1", "--region", "us-east-1", "--bucket", "bkt"]


def no_requests(service, region):
    raise AssertionError(f"a {service} client was made before the inputs were checked")


def refusing(moto_url, operation, code, message="not authorized"):
    """Real moto clients, except that one operation answers with the given error code."""

    def make(service, region):
        client = boto3.client(service, region_name=region, endpoint_url=moto_url)

        def refuse(**kwargs):
            raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

        name = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{name}.{operation}", refuse)
        return client

    return make


def one_error_line(code, out, err, expected):
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0], lines[0]


def objects(admin, region, bucket):
    return admin("s3", region).list_objects_v2(Bucket=bucket).get("KeyCount", 0)


def stack_exists(admin, region, stack):
    names = admin("cloudformation", region).list_stacks()["StackSummaries"]
    return any(s["StackName"] == stack for s in names)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["deploy", "--stack", "s1", "--region", "us-east-1"], "no template to deploy"),
        (
            [
                "deploy",
                "--stack",
                "s1",
                "--region",
                "us-east-1",
                "--bucket",
                "b-1",
                "--template-url",
                "https://x.s3.amazonaws.com/a.yml",
            ],
            "not both",
        ),
        (
            [
                *DEPLOY,
                "--bastion-cidr",
                "10.0.0.1/24",
            ],
            "invalid BASTION_CIDR",
        ),
        (
            [
                *DEPLOY,
                "--bastion-cidr",
                "2001:db8::/64",
            ],
            "not IPv4",
        ),
        (
            [
                *DEPLOY,
                "--key-pair",
                " ",
            ],
            "KEY is empty",
        ),
        (
            ["deploy", "--stack", "1bad", "--region", "us-east-1", "--bucket", "bkt"],
            "invalid stack name",
        ),
        (
            [
                *DEPLOY,
                "--parameter",
                "NoEquals",
            ],
            "expected NAME=VALUE",
        ),
        (
            ["deploy", "--stack", "s1", "--region", "us-gov-west-1", "--bucket", "bkt"],
            "partition this project has no templates for",
        ),
        (["deploy", "--stack", "s1", "--bucket", "bkt"], "no region"),
        (
            [
                "deploy",
                "--stack",
                "s1",
                "--region",
                "cn-north-1",
                "--template-url",
                "https://b.s3.us-east-1.amazonaws.com/CN-GWLB.yml",
            ],
            "partition aws, region cn-north-1",
        ),
        (["smoke", "--stack", "s1", "--region", "us-east-1", "--requests", "-1"], "--requests"),
        (["delete", "--stack", "under_score", "--region", "us-east-1"], "invalid stack name"),
    ],
)
def test_inputs_checked_before_any_request(operate, argv, expected):
    one_error_line(*operate(*argv, clients=no_requests), expected)


def test_missing_key_for_a_new_stack(admin, operate, bucket_in, small_output):
    bucket = bucket_in("us-east-1")
    stack = stack_name()
    result = operate(
        "deploy",
        "--stack",
        stack,
        "--region",
        "us-east-1",
        "--bucket",
        bucket,
        "--bastion-cidr",
        CIDR,
        "--output",
        str(small_output),
    )
    one_error_line(*result, "a new stack needs KEY=<RSA key pair> (KeyPairName)")
    assert objects(admin, "us-east-1", bucket) == 0 and not stack_exists(admin, "us-east-1", stack)


def test_ed25519_key_is_refused(admin, operate, bucket_in, key_pair, small_output):
    region = "cn-north-1"
    bucket = bucket_in(region)
    stack = stack_name()
    key = key_pair(region, "ed25519")
    result = operate(
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
        CIDR,
        "--output",
        str(small_output),
    )
    one_error_line(*result, f"key pair {key!r} is ed25519: the bastion needs an RSA key pair")
    assert objects(admin, region, bucket) == 0 and not stack_exists(admin, region, stack)


def test_unknown_key_pair(operate, bucket_in, small_output):
    result = operate(
        "deploy",
        "--stack",
        stack_name(),
        "--region",
        "us-east-1",
        "--bucket",
        bucket_in("us-east-1"),
        "--key-pair",
        "nobody-has-this",
        "--bastion-cidr",
        CIDR,
        "--output",
        str(small_output),
    )
    one_error_line(*result, "key pair 'nobody-has-this' does not exist in us-east-1")


def test_bucket_in_the_other_partition(admin, operate, bucket_in, key_pair, small_output):
    bucket = bucket_in("us-east-1")
    stack = stack_name()
    result = operate(
        "deploy",
        "--stack",
        stack,
        "--region",
        "cn-north-1",
        "--bucket",
        bucket,
        "--key-pair",
        key_pair("cn-north-1"),
        "--bastion-cidr",
        CIDR,
        "--output",
        str(small_output),
    )
    one_error_line(*result, f"bucket {bucket} is in us-east-1 (partition aws)")
    assert objects(admin, "us-east-1", bucket) == 0
    assert not stack_exists(admin, "cn-north-1", stack)


def test_unknown_parameter_stops_before_the_stack(
    admin, operate, bucket_in, key_pair, small_output
):
    stack = stack_name()
    result = operate(
        "deploy",
        "--stack",
        stack,
        "--region",
        "us-east-1",
        "--bucket",
        bucket_in("us-east-1"),
        "--key-pair",
        key_pair("us-east-1"),
        "--bastion-cidr",
        CIDR,
        "--parameter",
        "Colour=blue",
        "--output",
        str(small_output),
    )
    one_error_line(*result, "the template has no parameter Colour")
    assert not stack_exists(admin, "us-east-1", stack)


def test_missing_credentials(operate, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = operate("smoke", "--stack", "anything", "--region", "us-east-1")
    one_error_line(*result, "no AWS credentials found")


def test_credentials_of_the_other_partition(operate, moto_url):
    # What China's STS answers to keys issued by the global partition.
    clients = refusing(
        moto_url,
        "GetCallerIdentity",
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )
    result = operate("delete", "--stack", "anything", "--region", "cn-north-1", clients=clients)
    one_error_line(*result, "are these credentials for partition aws-cn (region cn-north-1)?")


@pytest.mark.parametrize("command", ["smoke", "delete"])
def test_stack_that_does_not_exist(operate, command):
    stack = stack_name()
    result = operate(command, "--stack", stack, "--region", "us-east-1")
    one_error_line(*result, f"stack {stack} does not exist in us-east-1")


@pytest.mark.parametrize("command", ["smoke", "delete"])
def test_access_denied(operate, moto_url, command):
    clients = refusing(
        moto_url,
        "DescribeStacks",
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: "
        "cloudformation:DescribeStacks",
    )
    result = operate(command, "--stack", "anything", "--region", "us-east-1", clients=clients)
    one_error_line(*result, "access denied to cloudformation:DescribeStacks anything")


def test_access_denied_on_publish_leaves_no_stack(
    admin, operate, moto_url, bucket_in, key_pair, small_output
):
    from operate.context import Context

    del Context
    stack = stack_name()
    bucket = bucket_in("us-east-1")

    def s3_refusing(profile, region, endpoint_url):
        return refusing(moto_url, "GetBucketLocation", "AccessDenied", "Access Denied")(
            "s3", region
        )

    result = operate(
        "deploy",
        "--stack",
        stack,
        "--region",
        "us-east-1",
        "--bucket",
        bucket,
        "--key-pair",
        key_pair("us-east-1"),
        "--bastion-cidr",
        CIDR,
        "--output",
        str(small_output),
        s3_clients=s3_refusing,
    )
    one_error_line(*result, "publishing failed")
    assert objects(admin, "us-east-1", bucket) == 0 and not stack_exists(admin, "us-east-1", stack)

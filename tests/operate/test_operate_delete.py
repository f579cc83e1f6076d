"""Delete: against moto for the whole path, against a recorded deletion for what could not go."""

from __future__ import annotations

import io

from operate.__main__ import main
from tests.operate.replay import FakeSts, Recording, ReplayWithDelete
from tests.operate.sets import stack_name


def test_delete_after_deploy(admin, operate, bucket_in, key_pair, small_output):
    region = "cn-north-1"
    stack = stack_name()
    code, _, err = operate(
        "deploy",
        "--stack",
        stack,
        "--region",
        region,
        "--bucket",
        bucket_in(region),
        "--key-pair",
        key_pair(region),
        "--bastion-cidr",
        "192.0.2.1/32",
        "--output",
        str(small_output),
    )
    assert code == 0, err
    cfn = admin("cloudformation", region)
    stack_id = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
    code, out, err = operate("delete", "--stack", stack, "--region", region)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert f"Deleting stack {stack} ({stack_id}) in {region}" in lines
    assert "delete: DELETE_COMPLETE after 0 s" in lines
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    # and now it is gone: a second delete is refused with one line
    code, out, err = operate("delete", "--stack", stack, "--region", region)
    assert code == 2 and err == f"error: stack {stack} does not exist in {region}\n"


def test_delete_that_fails_says_what_stayed_and_why(capsys):
    recording = Recording("delete_failed.json")
    cfn = ReplayWithDelete(recording, step=3)
    clients = {"sts": FakeSts(), "cloudformation": cfn}
    out = io.StringIO()
    code = main(
        ["delete", "--stack", "lab", "--region", "us-east-1"],
        clients=lambda service, region: clients[service],
        out=out,
        sleep=cfn.advance,
    )
    assert code == 1
    assert cfn.deleted == [recording.root_id]
    lines = out.getvalue().splitlines()
    assert any(line.startswith("delete: DELETE_FAILED after ") for line in lines)
    start = lines.index("Could not be deleted:")
    assert lines[start + 1] == (
        "Root cause: lab > NetworkStack > ApplianceSecurityGroup (AWS::EC2::SecurityGroup)"
    )
    assert "15m01s after it started, in nested stack lab-NetworkStack-8UU2QW" in lines[start + 2]
    assert lines[start + 3].strip().startswith("resource sg-0123abcd has a dependent object")
    kept = lines.index("Kept on purpose (DeletionPolicy Retain):")
    assert lines[kept + 1] == "  lab/LogBucket (AWS::S3::Bucket)"

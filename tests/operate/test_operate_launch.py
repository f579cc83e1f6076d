"""The operate items of the launch review: stuck states, exit codes, the bastion CIDR, Ctrl-C,
missing buckets, cancelled reasons, the final JSON record, unreadable answers, local times,
quoted make variables and nested change sets."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.parsers import ResponseParserError

from core.sets import STACK_TYPE
from operate.__main__ import main
from operate.events import Event
from operate.failures import root_cause
from operate.lines import event_line, failure_lines
from operate.plan import bastion_cidr
from operate.result import RESULT_KEYS
from tests.operate.replay import FakeSts
from tests.operate.sets import stack_name

REPO = Path(__file__).resolve().parents[2]
CIDR = "198.51.100.9/32"


def no_requests(service, region):
    raise AssertionError(f"a {service} client was made before the inputs were checked")


class StuckCloudFormation:
    """A stack that exists in one settled status."""

    def __init__(self, status):
        self.status = status

    def describe_stacks(self, StackName):  # noqa: N803
        return {
            "Stacks": [
                {
                    "StackName": StackName,
                    "StackId": f"arn:aws:cloudformation:us-east-1:1:stack/{StackName}/1",
                    "StackStatus": self.status,
                }
            ]
        }


def run(argv, clients, **injected):
    out, err = io.StringIO(), io.StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        code = main(argv, clients=clients, out=out, **injected)
    finally:
        sys.stderr = old
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback --stack-name s1 --region us-east-1"),
        ("ROLLBACK_FAILED", "`make delete STACK=s1 REGION=us-east-1`"),
        ("DELETE_FAILED", "`make delete STACK=s1 REGION=us-east-1`"),
    ],
)
def test_a_stuck_stack_gets_its_own_next_step(status, step):
    clients = {"sts": FakeSts(), "cloudformation": StuckCloudFormation(status)}
    argv = ["deploy", "--stack", "s1", "--region", "us-east-1", "--template-url", "https://x/m.yml"]
    code, out, err = run(argv, lambda service, region: clients[service])
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and step in err and status in err
    assert "settles" not in err


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "198.51.100.0/27"])
def test_a_wide_bastion_cidr_is_refused_before_any_request(cidr):
    argv = ["deploy", "--stack", "s1", "--region", "us-east-1", "--bucket", "b"]
    code, out, err = run([*argv, "--key-pair", "k", "--bastion-cidr", cidr], no_requests)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "--allow-wide-cidr" in err and cidr in err


def test_a_small_office_block_or_an_explicit_flag_is_accepted():
    assert bastion_cidr("198.51.100.16/28", allow_wide=False) == "198.51.100.16/28"
    assert bastion_cidr("0.0.0.0/0", allow_wide=True) == "0.0.0.0/0"


def test_a_zone_outside_the_region_is_refused_before_any_request():
    argv = ["deploy", "--stack", "s1", "--region", "us-east-1", "--bucket", "b"]
    code, out, err = run(
        [*argv, "--key-pair", "k", "--bastion-cidr", CIDR, "--availability-zones", "eu-west-1a"],
        no_requests,
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: availability zone eu-west-1a is not in region us-east-1: give zones named "
        "us-east-1a, us-east-1b, ..."
    ]


def test_an_unreadable_answer_is_one_line():
    class Garbled:
        def describe_stacks(self, StackName):  # noqa: N803
            raise ResponseParserError("Unable to parse response (syntax error: line 1)")

    clients = {"sts": FakeSts(), "cloudformation": Garbled()}
    code, out, err = run(
        ["delete", "--stack", "s1", "--region", "us-east-1"], lambda s, r: clients[s]
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: cloudformation:DescribeStacks s1 failed: Unable to parse response "
        "(syntax error: line 1)"
    ]


@pytest.mark.parametrize(
    ("argv", "clients", "status"),
    [
        (["deploy", "--bastion-cidr", "0.0.0.0/0", "--bucket", "b"], no_requests, "REFUSED"),
        (["delete"], None, "REFUSED"),
        (["watch"], None, "REFUSED"),
    ],
)
def test_json_always_ends_with_one_result_record(operate, argv, clients, status):
    full = [argv[0], "--stack", "s-json", "--region", "eu-west-3", "--json", *argv[1:]]
    code, out, err = operate(*full, **({"clients": clients} if clients else {}))
    records = [json.loads(line) for line in out.splitlines()]
    results = [r for r in records if r["kind"] == "result"]
    assert len(results) == 1 and records[-1] is results[0]
    assert set(results[0]) == {"kind", *RESULT_KEYS}
    assert results[0]["command"] == argv[0] and results[0]["stack"] == "s-json"
    assert results[0]["exit_code"] == code == 2 and results[0]["status"] == status
    assert results[0]["error"] == err.strip().removeprefix("error: ")


def test_a_real_reason_that_says_cancelled_keeps_its_path():
    root = "arn:aws:cloudformation:us-east-1:1:stack/r/1"
    child = "arn:aws:cloudformation:us-east-1:1:stack/r-Web-X/2"
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def event(number, stack, logical, status, reason, kind, physical=""):
        return Event(
            f"e{number}",
            stack,
            stack.split("/")[1],
            logical,
            physical,
            kind,
            status,
            reason,
            start + timedelta(seconds=number),
        )

    reason = "Resource handler returned message: Capacity reservation was cancelled by EC2"
    events = [
        event(1, root, "r", "CREATE_IN_PROGRESS", "User Initiated", STACK_TYPE, root),
        event(2, root, "Web", "CREATE_IN_PROGRESS", "", STACK_TYPE, child),
        event(3, child, "r-Web-X", "CREATE_IN_PROGRESS", "", STACK_TYPE, child),
        event(4, child, "WebServer1", "CREATE_FAILED", reason, "AWS::EC2::Instance"),
        event(5, child, "WebServer2", "CREATE_FAILED", "Resource creation cancelled", "X"),
        event(
            6,
            root,
            "Web",
            "CREATE_FAILED",
            f"Embedded stack {child} was not successfully "
            "created: The following resource(s) failed to create: [WebServer1].",
            STACK_TYPE,
            child,
        ),
    ]
    cause = root_cause(events, root)
    assert cause is not None
    assert cause.path == ("r", "Web", "WebServer1") and cause.reason == reason


def test_event_times_are_local_with_their_offset():
    moment = datetime(2026, 3, 1, 6, 0, 5, tzinfo=UTC)
    shanghai = timezone(timedelta(hours=8))
    event = Event("e1", "s", "s", "Vpc", "", "AWS::EC2::VPC", "CREATE_COMPLETE", "", moment)
    line = event_line(event, [event], {}, shanghai)
    assert line.startswith("14:00:05+08:00 CREATE_COMPLETE")
    from operate.failures import Failure

    failure = Failure(
        ("s", "Vpc"), "Vpc", "AWS::EC2::VPC", "CREATE_FAILED", "no", moment, "s", False
    )
    assert "CREATE_FAILED at 14:00:05+08:00" in failure_lines([failure], shanghai)[1]


def _make(*variables, code=0):
    stub = Path(os.environ.get("TMPDIR", "/tmp")) / f"stub-{os.getpid()}"
    stub.mkdir(exist_ok=True)
    python = stub / "python"
    python.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {stub}/argv\nexit {code}\n')
    python.chmod(0o755)
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", f"PY={python}", "STAMP_AWS=", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return done, (stub / "argv").read_text().splitlines() if (stub / "argv").exists() else []


def test_make_variables_reach_operate_quoted():
    done, argv = _make("deploy", "STACK=x;echo hi", "KEY=k'ey", "BASTION_CIDR=`id`")
    assert "hi" not in done.stdout.split()
    assert argv[:5] == ["-m", "operate", "deploy", "--stack", "x;echo hi"]
    assert argv[argv.index("--key-pair") + 1] == "k'ey"
    assert argv[argv.index("--bastion-cidr") + 1] == "`id`"


@pytest.mark.parametrize(
    ("code", "meaning"), [(1, "failed or rolled back"), (2, "refused, nothing changed")]
)
def test_make_says_which_exit_code_operate_gave(code, meaning):
    done, _ = _make("delete", "STACK=s", code=code)
    assert f"make: operate exited {code} ({meaning})" in done.stderr
    assert done.returncode != 0


def test_change_sets_include_nested_stacks_and_show_their_changes():
    from operate.changeset import all_changes, create_change_set

    class NestedChanges:
        created: dict = {}

        def create_change_set(self, **arguments):
            self.created = arguments
            return {"Id": "cs-root"}

        def describe_change_set(self, ChangeSetName):  # noqa: N803
            nested = {
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "NetworkStack",
                    "ResourceType": STACK_TYPE,
                    "ChangeSetId": "cs-network",
                }
            }
            subnet = {
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "PublicSubnet1",
                    "ResourceType": "AWS::EC2::Subnet",
                    "Replacement": "True",
                }
            }
            changes = {"cs-root": [nested], "cs-network": [subnet]}[ChangeSetName]
            return {"ChangeSetId": ChangeSetName, "Status": "CREATE_COMPLETE", "Changes": changes}

    cfn = NestedChanges()
    change_set = create_change_set(cfn, "s", "https://x/m.yml", [], ("CAPABILITY_IAM",))
    assert cfn.created["IncludeNestedStacks"] is True
    shown = all_changes(cfn, cfn.describe_change_set(ChangeSetName=change_set))
    assert [(c.logical_id, c.replacement) for c in shown] == [
        ("NetworkStack", ""),
        ("NetworkStack/PublicSubnet1", "True"),
    ]


def test_a_missing_bucket_points_at_make_publish(operate, key_pair, small_output):
    region = "eu-west-2"
    code, out, err = operate(
        "deploy", "--stack", stack_name(), "--region", region, "--bucket", "op-no-such-bucket-9",
        "--output", str(small_output), "--key-pair", key_pair(region), "--bastion-cidr", CIDR,
    )  # fmt: skip
    assert code == 2
    assert "make publish BUCKET=op-no-such-bucket-9 REGION=eu-west-2 ARGS=--create-bucket" in err
    assert "run again with --create-bucket" not in err


class InterruptedOnce:
    """Moto's CloudFormation, with Ctrl-C pressed at the first look at the events of a stack
    being created, as a user would while it runs."""

    def __init__(self, client):
        self.client, self.pressed = client, False

    def __getattr__(self, name):
        return getattr(self.client, name)

    def describe_stack_events(self, **arguments):
        if not self.pressed:
            self.pressed = True
            raise KeyboardInterrupt
        return self.client.describe_stack_events(**arguments)


def test_ctrl_c_names_the_stack_then_watch_and_delete_reattach(
    moto_url, operate, bucket_in, key_pair, small_output
):
    from tests.operate.conftest import moto_clients

    region = "ap-south-1"
    stack = stack_name()
    plain = moto_clients(moto_url, "raised")
    interrupting = InterruptedOnce(plain("cloudformation", region))

    def clients(service, where):
        return interrupting if service == "cloudformation" else plain(service, where)

    deploy = ["deploy", "--stack", stack, "--region", region, "--bucket", bucket_in(region)]
    deploy += ["--output", str(small_output), "--key-pair", key_pair(region)]
    code, out, err = operate(*deploy, "--bastion-cidr", CIDR, clients=clients)
    assert code == 130
    assert err.splitlines() == [
        f"error: interrupted; stack {stack} goes on in CloudFormation without this watch",
        f"  follow it again: make watch STACK={stack} REGION={region}",
        f"  delete it:       make delete STACK={stack} REGION={region}",
    ]
    code, out, err = operate("watch", "--stack", stack, "--region", region)
    assert (code, err) == (0, "")
    assert "watch: CREATE_COMPLETE after 0 s" in out.splitlines()
    code, out, err = operate("delete", "--stack", stack, "--region", region, "--json")
    result = json.loads(out.splitlines()[-1])
    assert (code, result["status"], result["exit_code"]) == (0, "DELETE_COMPLETE", 0)

"""The follower against replayed histories: nested and deleted stacks, pages, the boundary."""

from __future__ import annotations

import argparse
import io
import itertools

from operate.context import Context
from operate.failures import failures
from operate.follow import Follower, follow
from operate.report import watch_and_report
from operate.result import RunRecord
from operate.view import JsonView, PlainView
from tests.operate.replay import Recording, ReplayCloudFormation


def run_follow(name: str, step: int = 3) -> tuple[Follower, str, ReplayCloudFormation]:
    recording = Recording(name)
    cfn = ReplayCloudFormation(recording, step=step, page_size=4)
    cfn.advance()
    follower = Follower(cfn, recording.root_id, after_event_id=recording.boundary)
    ticks = itertools.count()
    outcome = follow(
        follower,
        lambda new: None,
        clock=lambda: float(next(ticks)),
        sleep=cfn.advance,
        poll_seconds=5,
        timeout_seconds=10_000,
    )
    return follower, outcome.status, cfn


def test_follows_every_nested_stack_to_the_end_of_a_rollback():
    follower, status, cfn = run_follow("nested_create_failure.json")
    recording = cfn.recording
    assert status == "ROLLBACK_COMPLETE"
    assert {e.event_id for e in follower.events} == {e["EventId"] for e in recording.raw}
    # The web stack was deleted before the end: reading it by id kept working.
    web = recording.stacks["web"]
    assert ("describe_stack_events", web) in cfn.calls
    cause = failures(follower.events, recording.root_id, follower.links)[0]
    assert cause.path == ("gwlb-demo", "WebStack", "WebServer1")


def test_events_before_the_boundary_are_left_out():
    follower, status, cfn = run_follow("deep_update_rollback.json", step=2)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    reasons = {e.reason for e in follower.events}
    assert "An old failure from a previous operation" not in reasons
    assert len(follower.events) == len(cfn.recording.operation_events())
    found = failures(follower.events, cfn.recording.root_id, follower.links)
    assert found[0].path[-1] == "ApplianceLaunchTemplate"


def test_cleanup_in_progress_is_not_the_end():
    follower, status, _ = run_follow("deep_update_rollback.json", step=1)
    statuses = [e.status for e in follower.events if e.is_stack_itself and e.stack_name == "edge"]
    assert "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" in statuses
    assert status == "UPDATE_ROLLBACK_COMPLETE"


def test_timeout_stops_watching():
    recording = Recording("nested_create_failure.json")
    cfn = ReplayCloudFormation(recording, step=1)
    cfn.advance()
    follower = Follower(cfn, recording.root_id)
    ticks = itertools.count(step=100)
    outcome = follow(
        follower,
        lambda new: None,
        clock=lambda: float(next(ticks)),
        sleep=cfn.advance,
        poll_seconds=5,
        timeout_seconds=250,
    )
    assert outcome.status == "TIMEOUT"
    assert follower.root_status == "CREATE_IN_PROGRESS"


def _watch(name: str, view_class: type) -> tuple[int, str]:
    recording = Recording(name)
    cfn = ReplayCloudFormation(recording, step=4)
    cfn.advance()
    out = io.StringIO()
    ctx = Context(
        clients=lambda service, region: None,
        region="cn-north-1",
        partition="aws-cn",
        view=view_class(out),
        sleep=cfn.advance,
        record=RunRecord("deploy", recording.root_id.split("/")[1]),
    )
    args = argparse.Namespace(poll_seconds=5.0, timeout_minutes=60.0)
    code = watch_and_report(ctx, cfn, recording.root_id, recording.boundary, args)
    ctx.view.result(ctx.record.as_result())
    return code, out.getvalue()


def test_failed_deploy_prints_the_root_cause_and_exits_1():
    code, out = _watch("nested_create_failure.json", PlainView)
    assert code == 1
    assert "deploy: ROLLBACK_COMPLETE" in out
    lines = out.splitlines()
    cause = lines.index("Root cause: gwlb-demo > WebStack > WebServer1 (AWS::EC2::Instance)")
    assert "in nested stack gwlb-demo-WebStack-K3V9ZD (since deleted" in lines[cause + 1]
    assert "15m00s after it started" in lines[cause + 1]
    assert lines[cause + 2].strip().startswith("Failed to receive 1 resource signal")
    assert "cannot be updated: `make delete STACK=gwlb-demo REGION=cn-north-1`" in lines[cause + 3]
    # every event was printed once, as a plain line with its place in the tree
    assert sum("gwlb-demo/WebStack/WebServer1 [AWS::EC2::Instance]" in line for line in lines) == 4


def test_failed_deploy_as_json_lines():
    import json

    code, out = _watch("deep_update_rollback.json", JsonView)
    records = [json.loads(line) for line in out.splitlines()]
    kinds = {r["kind"] for r in records}
    assert {"event", "failures", "result"} <= kinds
    result = records[-1]
    assert result["kind"] == "result" and result["exit_code"] == 1 and code == 1
    assert result["root_cause"]["path"] == [
        "edge",
        "InspectionStack",
        "PolicyStack",
        "ApplianceLaunchTemplate",
    ]
    events = [r for r in records if r["kind"] == "event"]
    failed = next(
        r
        for r in events
        if r["status"] == "UPDATE_FAILED" and r["logical_id"] == "ApplianceLaunchTemplate"
    )
    assert failed["elapsed_seconds"] == 41.0  # 6 s -> 47 s

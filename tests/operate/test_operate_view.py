"""Rendering: the rich tree (folded and expanded), the live view on a terminal, plain tables."""

from __future__ import annotations

import argparse
import io
from datetime import timedelta

import pytest
from rich.console import Console

from operate.context import Context
from operate.events import build_tree
from operate.lines import Row, duration, render_tree, table_lines
from operate.report import watch_and_report
from operate.view import JsonView, PlainView, RichView, choose
from tests.operate.replay import Recording, ReplayCloudFormation


def text_of(renderable) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, ""),
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m00s"),
        (905, "15m05s"),
        (3600, "1h00m"),
        (7322, "2h02m"),
    ],
)
def test_duration(seconds, shown):
    assert duration(seconds) == shown


def test_final_tree_folds_clean_stacks_and_keeps_the_failure_visible():
    recording = Recording("nested_create_failure.json")
    tree = build_tree(recording.events(), recording.root_id)
    end = recording.raw[-1]["Timestamp"]
    lines = [" ".join(line.split()) for line in text_of(render_tree(tree, end)).splitlines()]
    assert lines[0] == "gwlb-demo ROLLBACK_COMPLETE 27m43s"
    assert any(
        line.endswith(
            "NetworkStack AWS::CloudFormation::Stack DELETE_COMPLETE 1m21s 2 resources, all "
            "settled; nested stack deleted"
        )
        for line in lines
    )
    assert not any("NatGateway1" in line for line in lines)
    web_server = next(line for line in lines if "WebServer1" in line)
    assert "failed: Failed to receive 1 resource signal(s)" in web_server
    expanded = text_of(render_tree(tree, end, expand_settled=True))
    assert "NatGateway1" in expanded


def test_tree_in_flight_counts_from_now():
    recording = Recording("nested_create_failure.json")
    shown = [
        e
        for e in recording.events()
        if (e.timestamp - recording.events()[0].timestamp) <= timedelta(seconds=700)
    ]
    tree = build_tree(shown, recording.root_id)
    now = shown[0].timestamp + timedelta(seconds=720)
    lines = [" ".join(line.split()) for line in text_of(render_tree(tree, now)).splitlines()]
    assert lines[0] == "gwlb-demo CREATE_IN_PROGRESS 12m00s"
    # WebServer1 went in progress at t=603: 117 s ago
    assert any(
        line.endswith("WebServer1 AWS::EC2::Instance CREATE_IN_PROGRESS 1m57s") for line in lines
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_choose():
    assert type(choose(True, io.StringIO())) is JsonView
    assert type(choose(False, io.StringIO())) is PlainView
    assert type(choose(False, Terminal())) is RichView


def test_live_view_on_a_terminal():
    recording = Recording("nested_create_failure.json")
    cfn = ReplayCloudFormation(recording, step=6)
    cfn.advance()
    out = Terminal()
    view = choose(False, out)
    assert isinstance(view, RichView)
    ctx = Context(
        clients=lambda s, r: None,
        region="cn-north-1",
        partition="aws-cn",
        view=view,
        sleep=cfn.advance,
    )
    code = watch_and_report(
        ctx,
        cfn,
        recording.root_id,
        None,
        argparse.Namespace(poll_seconds=5.0, timeout_minutes=60.0),
    )
    text = out.getvalue()
    assert code == 1
    assert "\x1b[" in text  # colors
    assert "WebServer1" in text and "Root cause: gwlb-demo > WebStack > WebServer1" in text


def test_plain_table():
    rows = [
        Row("ALB alternates", "http://a/", True, "8/8 answered"),
        Row("appliance saw flows", "appliance i-1", False, "flows 0"),
    ]
    assert table_lines(rows) == [
        "RESULT  CHECK                TARGET         DETAIL",
        "PASS    ALB alternates       http://a/      8/8 answered",
        "FAIL    appliance saw flows  appliance i-1  flows 0",
    ]

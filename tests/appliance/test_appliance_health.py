"""Health verdict and Prometheus text from the shared counters and heartbeats; the
supervisor's flag errors and flow log rotation."""

import time
from multiprocessing.sharedctypes import RawArray

import pytest

from appliance.cli import main, rotate
from appliance.handler import COUNTERS
from appliance.health import SEND_FAILURES, State

IDX = {name: i for i, name in enumerate(COUNTERS)}


def state(workers=2):
    shared = RawArray("d", workers * len(COUNTERS))
    beats = RawArray("d", workers)
    return State(shared, beats), shared, beats


def test_healthy_needs_every_worker_alive_and_fresh():
    s, _, beats = state()
    assert not s.healthy()
    s.alive[:] = [True, True]
    beats[0] = beats[1] = time.monotonic()
    assert s.healthy()
    beats[1] = time.monotonic() - 10
    assert not s.healthy()
    beats[1] = time.monotonic()
    s.alive[0] = False
    assert not s.healthy()


def test_metrics_sum_workers_and_name_reasons():
    s, shared, _ = state()
    n = len(COUNTERS)
    shared[IDX["received"]] = 5
    shared[n + IDX["received"]] = 7
    shared[n + IDX["geneve_bad_version"]] = 3
    shared[IDX["inner_truncated"]] = 2
    shared[IDX["policy"]] = 4
    shared[IDX["active"]] = 9
    lines = set(s.metrics().splitlines())
    assert "gwlb_appliance_packets_received_total 12" in lines
    assert 'gwlb_appliance_malformed_total{reason="geneve_bad_version"} 3' in lines
    assert 'gwlb_appliance_malformed_total{reason="inner_truncated"} 2' in lines
    assert 'gwlb_appliance_malformed_total{reason="oversized"} 0' in lines
    assert 'gwlb_appliance_packets_dropped_total{reason="malformed"} 5' in lines
    assert 'gwlb_appliance_packets_dropped_total{reason="policy"} 4' in lines
    assert 'gwlb_appliance_packets_dropped_total{reason="send_error"} 0' in lines
    assert "gwlb_appliance_flows_active 9" in lines
    assert "# TYPE gwlb_appliance_packets_received_total counter" in lines
    assert "# TYPE gwlb_appliance_flows_active gauge" in lines
    assert "gwlb_appliance_healthy 0" in lines
    assert "gwlb_appliance_workers 2" in lines


def test_mostly_failing_sends_fail_health_over_the_window_then_recover():
    s, shared, beats = state()
    s.alive[:] = [True, True]
    n = len(COUNTERS)
    beats[0] = beats[1] = time.monotonic()
    s.sample()
    shared[IDX["returned"]] = 1000  # worker 0 sends fine
    shared[n + IDX["returned"]] = 5
    shared[n + IDX["send_error"]] = SEND_FAILURES  # worker 1: most of its sends fail
    s.sample()
    assert s.failing == [False, True] and not s.healthy()
    assert "gwlb_appliance_workers_send_failing 1" in s.metrics().splitlines()
    shared[n + IDX["send_error"]] = SEND_FAILURES - 1 + 10**6  # still failing, more
    s.sample()
    assert not s.healthy()
    for _ in range(6):  # the window moves past the failures
        shared[n + IDX["returned"]] += 100
        s.sample()
    beats[0] = beats[1] = time.monotonic()
    assert s.failing == [False, False] and s.healthy()


def test_a_few_failures_among_many_sends_stay_healthy():
    s, shared, beats = state(1)
    s.alive[:] = [True]
    beats[0] = time.monotonic()
    s.sample()
    shared[IDX["returned"]], shared[IDX["send_error"]] = 500, 50
    s.sample()
    assert s.healthy()


def test_flow_log_rotates_past_its_limit_keeping_one_old_file(tmp_path):
    log = tmp_path / "flows.log"
    rotate(str(log), 100)  # no file yet: nothing to do, no error
    log.write_text("x" * 100)
    rotate(str(log), 100)
    assert log.exists() and not (tmp_path / "flows.log.1").exists()
    log.write_text("y" * 101)
    rotate(str(log), 100)
    assert not log.exists() and (tmp_path / "flows.log.1").read_text() == "y" * 101
    log.write_text("z" * 200)
    rotate(str(log), 100)
    assert (tmp_path / "flows.log.1").read_text() == "z" * 200  # only the newest old file


@pytest.mark.parametrize(
    "args", [["--workers", "0"], ["--flow-log-rate", "-1"], ["--tcp-idle", "x"]]
)
def test_bad_flags_give_one_error_line_and_exit_2(args, capsys):
    with pytest.raises(SystemExit) as e:
        main([*args, "--health-port", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.splitlines()[-1].startswith("python3 -m appliance: error:")

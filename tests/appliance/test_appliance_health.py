"""Health verdict and Prometheus text from the shared counters and heartbeats."""

import time
from multiprocessing.sharedctypes import RawArray

from appliance.cli import State
from appliance.worker import COUNTERS

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

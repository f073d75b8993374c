"""The benchmark's own arithmetic and file: the figures it prints are only as right as these."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.end_to_end import consumer_lag
from benchmarks.report import machine_facts, percentile, write_json


def test_percentiles_interpolate_between_closest_ranks_as_numpy_does():
    values = list(range(100, 0, -1))  # 1..100, unsorted on purpose
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert (percentile(values, 0), percentile(values, 100)) == (1, 100)
    assert percentile([0.2, 0.4, 1.0, 3.0], 75) == pytest.approx(1.5)  # rank 2.25: a quarter of the way 1.0 → 3.0
    assert percentile([7.0], 99) == 7.0


def test_a_percentile_of_nothing_or_out_of_range_is_refused():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_the_results_file_holds_the_machine_and_the_figures_whole(tmp_path):
    out = tmp_path / "bench-results.json"
    machine = machine_facts()
    results = {"e2e": {"latency_to_peoplevox_seconds": {"p50": 1.25}, "orders": 300}}
    assert write_json(out, machine, results) == out
    written = json.loads(out.read_text())
    assert written == {"machine": json.loads(json.dumps(machine)), "results": results}
    assert written["machine"]["cores"] >= 1 and written["machine"]["python"].count(".") == 2
    assert len(written["machine"]["commit"]) == 7
    assert [p.name for p in tmp_path.iterdir()] == ["bench-results.json"], "no partial file left behind"


def test_a_figure_that_is_not_a_number_is_refused_and_the_old_file_kept(tmp_path):
    out = tmp_path / "bench-results.json"
    write_json(out, {"cores": 2}, {"core": {"decisions_per_second": 10.0}})
    with pytest.raises(ValueError):
        write_json(out, {"cores": 2}, {"core": {"decisions_per_second": math.nan}})
    assert json.loads(out.read_text())["results"]["core"]["decisions_per_second"] == 10.0


def test_consumer_lag_sums_every_topic_and_partition_of_the_worker():
    metrics = "\n".join([
        "# HELP editsync_consumer_lag Records not yet committed.",
        "# TYPE editsync_consumer_lag gauge",
        'editsync_consumer_lag{group="editsync",topic="orders.events.v1",partition="0"} 3.0',
        'editsync_consumer_lag{group="editsync",topic="orders.events.v1",partition="1"} 4.0',
        'editsync_consumer_lag{group="editsync",topic="commands.results.v1",partition="0"} 5.0',
        "# TYPE editsync_consumer_committed_offset gauge",
        'editsync_consumer_committed_offset{group="editsync",topic="orders.events.v1",partition="0"} 900.0',
        ""])
    assert consumer_lag(metrics) == 12

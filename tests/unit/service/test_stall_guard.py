"""A partition with lag whose committed offset does not move is resumed, then the worker leaves for a fresh one.

The decision (streams/core/stall.py) is tested as a function of readings and time;
the shell (streams/supervision/stall_guard.py) against a consumer that records what is
done to it, with the lag monitor's view filled as the monitor fills it.
"""

from __future__ import annotations

import asyncio

from faust.types import TP

from streams.core.stall import REBALANCE_BOUNDS, Reading, Remedy, judge
from streams.supervision.lag import PartitionLag
from streams.supervision.metrics import Metrics
from streams.supervision.stall_guard import StallGuard
from streams.supervision.watchdog import AgentWatchdog

BOUND = 60.0
RAW = "shopify.webhooks.raw"


def reading(lag: int, committed: int | None, partition: int = 0, waiting_until: float | None = None) -> Reading:
    return Reading(topic=RAW, partition=partition, lag=lag, committed=committed, waiting_until=waiting_until)


def run(timeline: list[tuple[float, list[Reading]]]) -> list[tuple[float, int, Remedy]]:
    """Feed readings at the given moments; return (moment, partition, remedy) of every stall found."""
    watches: dict = {}
    found = []
    for now, readings in timeline:
        watches, stalls = judge(readings, watches, now, BOUND)
        found += [(now, stall.partition, stall.remedy) for stall in stalls]
    return found


def every(seconds: float, until: float, *readings: Reading, start: float = 0.0) -> list[tuple[float, list[Reading]]]:
    moments, now = [], start
    while now <= until:
        moments.append((now, list(readings)))
        now += seconds
    return moments


def test_lag_that_is_never_committed_is_resumed_after_the_bound_then_the_worker_exits_a_bound_later():
    assert run(every(5, 200, reading(lag=3, committed=17))) == [(60, 0, Remedy.RESUME), (120, 0, Remedy.EXIT)]


def test_a_partition_whose_committed_offset_moves_is_never_stalled_however_long_it_has_lag():
    timeline = [(t, [reading(lag=5, committed=int(t // 30))]) for t in range(0, 600, 5)]
    assert run(timeline) == []


def test_an_idle_partition_is_not_stalled_and_its_clock_starts_when_a_record_arrives():
    idle = every(5, 300, reading(lag=0, committed=17))
    busy = every(5, 420, reading(lag=1, committed=17), start=305)
    assert run(idle + busy) == [(365, 0, Remedy.RESUME)]


def test_progress_after_a_resume_starts_over_and_a_later_stall_is_resumed_again_before_any_exit():
    first = every(5, 100, reading(lag=3, committed=17))  # resumed at 60
    moved = every(5, 200, reading(lag=3, committed=20), start=105)  # it moves again at 105: a fresh stretch
    assert run(first + moved) == [(60, 0, Remedy.RESUME), (165, 0, Remedy.RESUME)]


def test_a_wait_an_agent_makes_on_purpose_is_not_a_stall_the_clock_starts_when_it_ends():
    held = every(5, 400, reading(lag=2, committed=8, waiting_until=250))
    assert run(held) == [(310, 0, Remedy.RESUME), (370, 0, Remedy.EXIT)]


def test_a_rebalance_holds_the_clock_and_the_stretch_starts_again_when_it_ends():
    rebalancing = every(5, 200, reading(lag=3, committed=17).model_copy(update={"rebalancing_since": 0}))
    after = every(5, 300, reading(lag=3, committed=17, waiting_until=205), start=205)
    assert run(rebalancing + after) == [(265, 0, Remedy.RESUME)]


def test_a_rebalance_that_never_ends_with_lag_uncommitted_makes_the_worker_exit_once():
    stuck = reading(lag=3, committed=17).model_copy(update={"rebalancing_since": 50})
    assert run(every(5, 45, reading(lag=3, committed=17)) + every(5, 1000, stuck, start=50)) == [
        (50 + REBALANCE_BOUNDS * BOUND, 0, Remedy.EXIT)]


def test_partitions_are_judged_apart_and_one_that_is_revoked_starts_afresh_when_it_comes_back():
    def moment(t: float, owned_0: bool) -> tuple[float, list[Reading]]:
        moving = reading(lag=4, committed=int(t), partition=1)
        return t, ([reading(lag=3, committed=17, partition=0)] if owned_0 else []) + [moving]

    timeline = [moment(t, owned_0=not 55 <= t <= 100) for t in range(0, 250, 5)]
    assert run(timeline) == [(165, 0, Remedy.RESUME), (225, 0, Remedy.EXIT)]


def test_a_partition_with_nothing_committed_yet_is_judged_like_any_other():
    assert run(every(5, 60, reading(lag=3, committed=None))) == [(60, 0, Remedy.RESUME)]


# --- the shell ------------------------------------------------------------------------------


class Consumer:
    """What the guard uses of Faust's consumer, recording what is done to it."""

    def __init__(self, owned: set[TP]) -> None:
        self._paused_partitions: set[TP] = set(owned)
        self.done: list[tuple] = []

    def resume_partitions(self, tps: set[TP]) -> None:
        self._paused_partitions -= tps
        self.done.append(("resume", *sorted(tps)))

    async def seek(self, tp: TP, offset: int) -> None:
        self.done.append(("seek", tp, offset))


class App:
    def __init__(self, consumer: Consumer) -> None:
        self.consumer, self.rebalancing, self.in_recovery = consumer, False, False


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_the_guard_resumes_and_seeks_a_stalled_partition_then_stops_the_worker_and_counts_each_remedy():
    clock = [1000.0]
    stops: list[float] = []
    metrics = Metrics()
    guard = StallGuard(BOUND, lag_interval_s=5, stop=lambda: stops.append(clock[0]), clock=lambda: clock[0])
    tp = TP(RAW, 2)
    app, agents = App(Consumer({tp})), AgentWatchdog(30)

    async def tick_until(end: float) -> None:
        while clock[0] <= end:
            metrics.lag.update("editsync", [PartitionLag(RAW, 2, high_watermark=9, committed=4, lag=5)], clock[0])
            await guard.check(app, metrics, agents)
            clock[0] += 5

    asyncio.run(tick_until(1000 + BOUND - 5))
    assert app.consumer.done == [] and stops == []
    asyncio.run(tick_until(1000 + BOUND))
    assert app.consumer.done == [("resume", tp), ("seek", tp, 4)]
    assert sample(metrics, "editsync_partition_stalls_total", topic=RAW, partition="2", remedy="resume") == 1
    asyncio.run(tick_until(1000 + 3 * BOUND))
    assert stops == [1000 + 2 * BOUND], "one stop, a bound after the resume"
    assert sample(metrics, "editsync_partition_stalls_total", topic=RAW, partition="2", remedy="exit") == 1
    assert guard.exiting is not None and guard.exiting.partition == 2


def test_the_guard_leaves_alone_what_is_paused_by_design_or_measured_too_long_ago_or_already_going_down():
    clock = [1000.0]
    stops: list[float] = []
    metrics = Metrics()
    guard = StallGuard(BOUND, lag_interval_s=5, stop=lambda: stops.append(clock[0]), clock=lambda: clock[0])
    app, agents = App(Consumer({TP(RAW, 0)})), AgentWatchdog(30, stop=lambda: None)

    def figures() -> None:
        metrics.lag.update("editsync", [PartitionLag(RAW, 0, high_watermark=9, committed=4, lag=5)], clock[0])

    async def tick(seconds: float, fresh: bool = True) -> None:
        end = clock[0] + seconds
        while clock[0] < end:
            if fresh:
                figures()
            await guard.check(app, metrics, agents)
            clock[0] += 5

    app.in_recovery = True  # table recovery keeps stream partitions paused on purpose
    asyncio.run(tick(3 * BOUND))
    app.in_recovery = False
    asyncio.run(tick(BOUND / 2))
    asyncio.run(tick(3 * BOUND, fresh=False))  # the lag monitor stopped measuring: lag unknown
    assert app.consumer.done == []

    async def crash() -> None:
        agents.report("order_state", RuntimeError("boom"))

    asyncio.run(crash())
    asyncio.run(tick(3 * BOUND))
    assert app.consumer.done == [] and stops == [], "a crashed agent's own exit is under way"


def test_the_guard_replaces_a_worker_whose_rebalance_never_ends():
    clock = [1000.0]
    stops: list[float] = []
    metrics = Metrics()
    guard = StallGuard(BOUND, lag_interval_s=5, stop=lambda: stops.append(clock[0]), clock=lambda: clock[0])
    app = App(Consumer({TP(RAW, 1)}))
    app.rebalancing = True  # e.g. a recovery that was never started: every partition stays paused

    async def tick_until(end: float) -> None:
        while clock[0] <= end:
            metrics.lag.update("editsync", [PartitionLag(RAW, 1, high_watermark=9, committed=4, lag=5)], clock[0])
            await guard.check(app, metrics, AgentWatchdog(30))
            clock[0] += 5

    asyncio.run(tick_until(1000 + (REBALANCE_BOUNDS + 2) * BOUND))
    assert stops == [1000 + REBALANCE_BOUNDS * BOUND] and app.consumer.done == [], "exit, never a resume mid-rebalance"
    assert sample(metrics, "editsync_partition_stalls_total", topic=RAW, partition="1", remedy="exit") == 1

"""A partition this worker owns never stays stalled: resumed first, the worker replaced if that fails.

The decision is streams/core/stall.py's, over the lag monitor's figures (the
group's committed offset and the high watermark, both from the broker, so a
consumer stuck in Faust cannot hide them). This shell feeds it every few
seconds and applies what it decides:

- ``resume``: the partition is resumed in Faust's consumer (it may have been
  left paused after a rebalance) and sought back to the group's committed
  offset (a record skipped in a rebalance is fetched again; records after it
  are processed twice, and every effect is idempotent);
- ``exit``: still stalled a bound later, the worker stops with code 75 so that
  its supervisor starts a fresh one and the group rebalances, as
  streams/supervision/watchdog.py does for a crashed agent.

Each is logged and counted (``editsync_partition_stalls_total``). Nothing is
resumed while the worker rebalances or recovers its tables (partitions are
paused then by design; only a rebalance that never ends makes it exit), nothing
is done once an agent has crashed (the worker is going down already), nor on
lag figures the monitor has not refreshed.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import cast

import faust
from faust.transport.consumer import Consumer
from faust.types import TP

from streams.core.stall import Key, Reading, Remedy, Stall, Watch, judge
from streams.supervision.metrics import Metrics
from streams.supervision.watchdog import AgentWatchdog

log = logging.getLogger(__name__)
EXIT_PARTITION_STALLED = 75  # EX_TEMPFAIL: a fresh worker can do what this one cannot


class StallGuard:
    def __init__(self, bound_s: float, lag_interval_s: float,
                 stop: Callable[[], None] = lambda: os.kill(os.getpid(), signal.SIGTERM),
                 clock: Callable[[], float] = time.time) -> None:
        self.bound_s, self._stale_after_s, self._stop, self._clock = bound_s, 3 * lag_interval_s, stop, clock
        self._watches: dict[Key, Watch] = {}
        self._waiting: dict[Key, float] = {}
        self._rebalancing_since: float | None = None
        self._rebalanced_at = 0.0  # the last rebalance's end: paused until then on purpose
        self.exiting: Stall | None = None

    @property
    def interval_s(self) -> float:
        return max(0.5, min(5.0, self.bound_s / 4))

    def waiting(self, topic: str, partition: int, until: float) -> None:
        """An agent holds a record of this partition on purpose until ``until`` (Unix time)."""
        key = (topic, partition)
        self._waiting[key] = max(until, self._waiting.get(key, until))

    def readings(self, metrics: Metrics, rebalancing: bool) -> list[Reading] | None:
        """This moment's figures for the owned partitions; None when the lag monitor's are stale."""
        now = self._clock()
        if rebalancing:
            self._rebalancing_since = self._rebalancing_since or now
        elif self._rebalancing_since is not None:
            self._rebalancing_since, self._rebalanced_at = None, now
        refreshed = metrics.lag.refreshed_at
        if refreshed is None or now - refreshed > self._stale_after_s:
            return None
        return [Reading(topic=p.topic, partition=p.partition, lag=p.lag, committed=p.committed,
                        waiting_until=max(self._waiting.get((p.topic, p.partition), 0.0), self._rebalanced_at) or None,
                        rebalancing_since=self._rebalancing_since)
                for p in metrics.lag.partitions()]

    async def check(self, app: faust.App, metrics: Metrics, agents: AgentWatchdog) -> None:
        if self.exiting is not None or agents.crashed:
            return
        readings = self.readings(metrics, rebalancing=bool(app.rebalancing or app.in_recovery))
        if readings is None:
            return
        self._watches, stalls = judge(readings, self._watches, self._clock(), self.bound_s)
        for stall in stalls:
            metrics.partition_stalls.labels(stall.topic, str(stall.partition), stall.remedy.value).inc()
            if stall.remedy is Remedy.RESUME:
                await self._resume(app, stall)
            else:
                self._exit(stall)
                return

    async def _resume(self, app: faust.App, stall: Stall) -> None:
        consumer = cast(Consumer, app.consumer)  # the transport's Consumer keeps the paused set
        tp = TP(stall.topic, stall.partition)
        state = "paused" if tp in consumer._paused_partitions else "not paused"
        log.error("%s[%d] has had lag (%d) and no committed progress (offset %s) for %.0f s while owned here "
                  "(%s in the consumer): resuming it and fetching again from its committed offset",
                  stall.topic, stall.partition, stall.lag, stall.committed, stall.stalled_s, state)
        consumer.resume_partitions({tp})
        if stall.committed is not None:
            await consumer.seek(tp, stall.committed)

    def _exit(self, stall: Stall) -> None:
        self.exiting = stall
        why = "a rebalance that does not end" if self._rebalancing_since is not None else "resumed in vain"
        log.critical("%s[%d] is still stalled (%s; lag %d, committed offset %s, no progress for %.0f s): exiting "
                     "with code %d so that a fresh worker takes its partitions", stall.topic, stall.partition, why,
                     stall.lag, stall.committed, stall.stalled_s, EXIT_PARTITION_STALLED)
        self._stop()


def guard_partitions(app: faust.App, metrics: Metrics, agents: AgentWatchdog, guard: StallGuard) -> None:
    @app.timer(guard.interval_s)
    async def judge_stalls() -> None:
        await guard.check(app, metrics, agents)

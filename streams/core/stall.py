"""When a partition a worker owns has stopped moving, and what the worker does about it.

Faust can leave an assigned partition unprocessed while the worker looks
healthy: after a rebalance some partitions never fetch again (faust-streaming
#629), and a record skipped in a rebalance leaves a gap that the group's
committed offset never passes, so later records are processed while that one
order waits forever. Both look the same from outside: the partition has lag
and the group's committed offset does not move. That is what is judged here,
from the broker's figures (committed offset, high watermark), not from Faust's
own view of itself.

A partition is stalled once it has had lag, with its committed offset unchanged,
for ``bound_s``. The clock starts when lag is first seen (a record that has just
arrived is not late) and starts again whenever the committed offset changes, the
partition is newly owned, or an agent says it waits on purpose (the retry agent
holds a record until its ``not_before``). A stalled partition is first
*resumed* (the shell resumes it in the consumer and seeks it back to its
committed offset, so a paused or skipped record is fetched again); if it is
still stalled ``bound_s`` after that, the worker *exits* so that a fresh one
takes its partitions (a supervisor restarts it; the group rebalances).

While the worker rebalances or recovers its tables, stream partitions are paused
on purpose and resuming one would process records against half-recovered
tables: the clock waits. But a rebalance that never ends (recovery hangs,
faust-streaming #432; a recovery that is never started leaves everything
paused) is a stall too: once it has lasted ``REBALANCE_BOUNDS`` bounds with
lag not committed, the worker exits.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict


class Reading(BaseModel):
    """One measurement of a partition this worker owns."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    lag: int  # records between the group's committed offset and the high watermark
    committed: int | None  # the group's committed offset (None: nothing committed yet)
    waiting_until: float | None = None  # an agent holds a record of it on purpose until then (Unix time)
    rebalancing_since: float | None = None  # the worker has been rebalancing or recovering tables since then


class Remedy(str, Enum):
    RESUME = "resume"
    EXIT = "exit"


class Watch(BaseModel):
    """What is remembered of a partition with lag between two readings."""

    model_config = ConfigDict(frozen=True)

    committed: int | None
    since: float  # when this stretch of lag without progress began
    remedy: Remedy | None = None  # the last remedy decided in this stretch
    remedied_at: float | None = None


class Stall(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    remedy: Remedy
    committed: int | None
    lag: int
    stalled_s: float


Key = tuple[str, int]
#: How many bounds a rebalance (table recovery included) may keep lag uncommitted before the worker exits.
REBALANCE_BOUNDS = 5


def judge(readings: list[Reading], watches: dict[Key, Watch], now: float,
          bound_s: float) -> tuple[dict[Key, Watch], list[Stall]]:
    """The watches to keep and the stalls to remedy, given this moment's readings.

    ``readings`` are the partitions owned now; one missing from them is no longer
    watched (revoked, or its figures unknown), so a partition that comes back
    starts a fresh stretch.
    """
    kept: dict[Key, Watch] = {}
    stalls: list[Stall] = []
    for reading in readings:
        key = (reading.topic, reading.partition)
        if reading.lag <= 0:
            continue  # idle: nothing to wait for
        watch = watches.get(key)
        if watch is None or reading.committed != watch.committed:
            kept[key] = Watch(committed=reading.committed, since=now)
            continue
        if reading.rebalancing_since is not None:
            kept[key] = watch
            if now - max(reading.rebalancing_since, watch.since) >= REBALANCE_BOUNDS * bound_s:
                kept[key] = watch.model_copy(update={"remedy": Remedy.EXIT, "remedied_at": now})
                if watch.remedy is not Remedy.EXIT:
                    stalls.append(Stall(topic=reading.topic, partition=reading.partition, remedy=Remedy.EXIT,
                                        committed=reading.committed, lag=reading.lag, stalled_s=now - watch.since))
            continue
        if reading.waiting_until is not None and reading.waiting_until > watch.since:
            # Waiting on purpose is not stalling: the stretch begins when the wait ends.
            kept[key] = Watch(committed=reading.committed, since=min(now, reading.waiting_until))
            continue
        stalled_s = now - watch.since
        remedy = next_remedy(watch, now, bound_s)
        if remedy is None:
            kept[key] = watch
            continue
        kept[key] = watch.model_copy(update={"remedy": remedy, "remedied_at": now})
        stalls.append(Stall(topic=reading.topic, partition=reading.partition, remedy=remedy,
                            committed=reading.committed, lag=reading.lag, stalled_s=stalled_s))
    return kept, stalls


def next_remedy(watch: Watch, now: float, bound_s: float) -> Remedy | None:
    """Resume a bound into the stretch; exit a bound after the resume did not help; then nothing more."""
    if watch.remedy is None:
        return Remedy.RESUME if now - watch.since >= bound_s else None
    if watch.remedy is Remedy.RESUME and now - (watch.remedied_at or watch.since) >= bound_s:
        return Remedy.EXIT
    return None

"""Orders out of sync, held and owed a decision, by age, computed at every scrape.

The order-state agent keeps ``OrderHealth`` (streams/core/health.py) for each
order it owns that is not healthy; ages are taken at scrape time, so an
order that stays out of sync moves up the age buckets without any input.
Each order is owned by one partition and so by one worker: per-worker
figures are disjoint and ``sum without (instance)`` adds up. For the
``_oldest_seconds`` gauges take ``max without (instance)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.core.health import OrderHealth

#: Upper bounds (seconds) and labels of the age buckets; each order falls in exactly one.
AGE_BUCKETS: tuple[tuple[float, str], ...] = (
    (60, "under_1m"), (300, "1m_to_5m"), (900, "5m_to_15m"), (3600, "15m_to_1h"), (21600, "1h_to_6h"),
    (float("inf"), "over_6h"),
)


def age_bucket(age_s: float) -> str:
    return next(label for bound, label in AGE_BUCKETS if age_s < bound)


class _Tally:
    """Counts per (labels, age bucket) and the oldest age per labels, for one gauge family pair."""

    def __init__(self) -> None:
        self.counts: dict[tuple[tuple[str, ...], str], int] = {}
        self.oldest: dict[tuple[str, ...], float] = {}

    def add(self, labels: tuple[str, ...], age_s: float) -> None:
        key = (labels, age_bucket(age_s))
        self.counts[key] = self.counts.get(key, 0) + 1
        self.oldest[labels] = max(age_s, self.oldest.get(labels, 0.0))

    def families(self, name: str, what: str, labels: list[str]) -> Iterator[GaugeMetricFamily]:
        counts = GaugeMetricFamily(name, f"{what}, by age bucket (this worker's orders).", labels=[*labels, "age"])
        for (values, bucket), count in sorted(self.counts.items()):
            counts.add_metric([*values, bucket], count)
        oldest = GaugeMetricFamily(f"{name}_oldest_seconds", f"Age of the oldest of: {what.lower()}.", labels=labels)
        for values, age in sorted(self.oldest.items()):
            oldest.add_metric(list(values), age)
        yield counts
        yield oldest


class OrderGauges(Collector):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._orders: Mapping[str, OrderHealth] = {}

    def watch(self, orders: Mapping[str, OrderHealth]) -> None:
        """Report the order-state agent's live map of unhealthy orders at every scrape."""
        self._orders = orders

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now_ms = self._clock() * 1000
        gaps, holds, exceptions = _Tally(), _Tally(), _Tally()
        for health in self._orders.values():
            for gap in health.gaps:
                gaps.add((gap.pair.value, gap.reason), _age_s(now_ms, gap.since))
            for hold in health.holds:
                holds.add((hold.reason,), _age_s(now_ms, hold.since))
            for exception in health.exceptions:
                exceptions.add((exception.type, exception.owner), _age_s(now_ms, exception.since))
        yield from gaps.families("editsync_orders_out_of_sync",
                                 "Orders where Shopify and another system disagree, by system pair and reason",
                                 ["pair", "reason"])
        yield from holds.families("editsync_orders_held", "Orders waiting before editsync can move them on, by reason",
                                  ["reason"])
        yield from exceptions.families("editsync_exceptions_open", "Open exceptions, by type and owner",
                                       ["type", "owner"])


def _age_s(now_ms: float, since_ms: int) -> float:
    return max(0.0, (now_ms - since_ms) / 1000)

"""The sweep's shell and its Admin API query, without Kafka or a sandbox.

The sweeper runs against the in-memory shop (``tests/fakes``); the connector
against Shopify's documented answers replayed through httpx's MockTransport:
``orders(first:, after:, sortKey: UPDATED_AT, query: "updated_at:>'…'")``
pages with ``pageInfo { hasNextPage endCursor }``
(shopify.dev/docs/api/usage/pagination-graphql) and the search syntax's
quoted dates (shopify.dev/docs/api/usage/search-syntax).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest

from connectors.errors import TransientError
from connectors.ports import OrderUpdate
from connectors.shopify import SWEEP_PAGE, ShopifyAdmin
from sandboxes.testkit.core_builders import order
from streams.agents import shopify_sweep
from streams.agents.shopify_sweep import OVERLAP_MS, Sweeper
from streams.core.inputs import Swept
from streams.supervision.metrics import Metrics
from tests.fakes.shopify import FakeShop

HOUR = 3_600_000
NOW = 1_764_000_000_000  # 2025-11-24T16:00:00Z
COST = {"requestedQueryCost": 102, "actualQueryCost": 4,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1996.0, "restoreRate": 100.0}}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def sweeper(shop: Any, metrics: Metrics | None = None) -> tuple[Sweeper, list[tuple[str, Swept]], Clock]:
    sent: list[tuple[str, Swept]] = []

    async def send(order_id: str, swept: Swept) -> None:
        sent.append((order_id, swept))

    clock = Clock()
    return Sweeper(shop, send, metrics or Metrics(), lookback_ms=6 * HOUR, clock=clock), sent, clock


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_the_first_sweep_looks_back_and_the_next_starts_where_the_last_began_less_the_overlap():
    shop = FakeShop({o.order_id: o for o in (order("1", version=NOW - 7 * HOUR), order("2", version=NOW - HOUR),
                                             order("3", version=NOW - 1000))})
    metrics = Metrics()
    sweep, sent, clock = sweeper(shop, metrics)
    asyncio.run(sweep.sweep())
    assert sent == [("2", Swept(updated_at=NOW - HOUR)), ("3", Swept(updated_at=NOW - 1000))], \
        "an order updated before the lookback is not listed"
    clock.now += 300_000
    shop.orders["2"] = order("2", version=clock.now - 10)
    sent.clear()
    asyncio.run(sweep.sweep())
    assert sent == [("3", Swept(updated_at=NOW - 1000)), ("2", Swept(updated_at=clock.now - 10))], \
        "3 again (updated within the overlap before the last sweep began), then 2's new version; 1 never"
    assert sweep.since(clock.now) == clock.now - OVERLAP_MS
    assert sample(metrics, "editsync_shopify_sweeps_total", outcome="ok") == 2
    assert sample(metrics, "editsync_shopify_sweep_last_success_timestamp_seconds") == clock.now / 1000


class FailingShop(FakeShop):
    """Lists one order, then Shopify stops answering."""

    async def updated_since(self, since_ms: int) -> AsyncIterator[OrderUpdate]:
        yield OrderUpdate("1", NOW - 5)
        raise TransientError("Shopify answered 503")


def test_a_failed_sweep_is_counted_and_the_next_covers_the_same_window():
    metrics = Metrics()
    sweep, sent, clock = sweeper(FailingShop(), metrics)
    asyncio.run(sweep.sweep())  # raises nothing: the worker carries on
    clock.now += 300_000
    assert sweep.since(clock.now) == clock.now - 6 * HOUR, "still the first window: nothing was swept"
    assert sample(metrics, "editsync_shopify_sweeps_total", outcome="failed") == 1
    assert sample(metrics, "editsync_shopify_sweeps_total", outcome="ok") == 0
    assert sent == [("1", Swept(updated_at=NOW - 5))], "what was listed before the failure is handed over"
    assert b"editsync_shopify_sweep_seconds_count 1.0" in generate_latest(metrics.registry)


class TimerApp:
    """Records the timers an agent module asks Faust for."""

    def __init__(self) -> None:
        self.timers: list[float] = []

    def timer(self, interval: float, **options: Any) -> Any:
        self.timers.append(interval)
        return lambda function: function


@pytest.mark.parametrize("interval_s", [300.0, 0.0])
def test_every_worker_exports_the_configured_interval_so_a_sweep_turned_off_is_not_overdue(interval_s):
    metrics, app = Metrics(), TimerApp()
    ctx = SimpleNamespace(app=app, metrics=metrics, topic=lambda name: None,
                          settings=SimpleNamespace(shopify_sweep_s=interval_s, shopify_sweep_lookback_s=21600.0))
    shopify_sweep.register(ctx, FakeShop({}))  # type: ignore[arg-type]
    assert sample(metrics, "editsync_shopify_sweep_interval_seconds") == interval_s
    assert app.timers == ([interval_s] if interval_s else [])


def orders_page(ids: list[int], more: bool) -> dict[str, Any]:
    return {"data": {"orders": {
        "pageInfo": {"hasNextPage": more, "endCursor": "eyJsYXN0X2lkIjoyLCJsYXN0X3ZhbHVlIjoxfQ==" if more else None},
        "nodes": [{"id": f"gid://shopify/Order/{i}", "updatedAt": f"2025-11-24T15:5{i}:00Z"} for i in ids]}},
        "extensions": {"cost": COST}}


def test_the_connector_asks_only_ids_and_versions_sorted_by_update_and_follows_every_page():
    asked: list[dict[str, Any]] = []
    answers = [orders_page([1, 2], more=True), orders_page([3], more=False)]

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content))
        return httpx.Response(200, json=answers[len(asked) - 1])

    async def go() -> list[OrderUpdate]:
        admin = ShopifyAdmin("https://shop.example", "token", transport=httpx.MockTransport(answer))
        try:
            return [update async for update in admin.updated_since(NOW - HOUR)]
        finally:
            await admin.aclose()

    updates = asyncio.run(go())
    assert updates == [OrderUpdate("1", NOW - 9 * 60_000), OrderUpdate("2", NOW - 8 * 60_000),
                       OrderUpdate("3", NOW - 7 * 60_000)]
    first, second = asked
    assert first["variables"] == {"query": "updated_at:>'2025-11-24T15:00:00.000Z'", "first": SWEEP_PAGE,
                                  "after": None}
    assert second["variables"]["after"] == "eyJsYXN0X2lkIjoyLCJsYXN0X3ZhbHVlIjoxfQ=="
    assert "sortKey: UPDATED_AT" in first["query"] and "nodes { id updatedAt }" in first["query"]

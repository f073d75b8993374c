"""Lag arithmetic, partition progress, API metering at the transport and the agent-crash watchdog."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connectors.metered_http import MeteredTransport
from streams.core.model import System
from streams.supervision.lag import LagView, PartitionLag, partition_lag
from streams.supervision.metrics import Metrics
from streams.supervision.progress import Progress
from streams.supervision.watchdog import AgentWatchdog


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


@pytest.mark.parametrize(("high", "low", "committed", "lag"), [
    (100, 0, 60, 40),      # committed: the rest is lag
    (100, 0, None, 100),   # nothing committed: from the log start
    (100, 30, None, 70),   # log start moved by retention
    (100, 30, 10, 70),     # a commit below the log start counts from the start
    (100, 0, 100, 0),
    (0, 0, 5, 0),          # never negative
])
def test_partition_lag(high, low, committed, lag):
    assert partition_lag(high, low, committed) == lag


def test_lag_is_exported_only_for_owned_partitions_so_workers_add_up():
    view = LagView()
    view.update("editsync", [PartitionLag("t", 0, 10, 4, 6), PartitionLag("t", 1, 7, None, 7)], at=123.0)
    view.export_only(lambda: frozenset({("t", 1)}))
    exported = {f.name: [(s.labels, s.value) for s in f.samples] for f in view.collect()}
    assert exported["editsync_consumer_lag"] == [({"group": "editsync", "topic": "t", "partition": "1"}, 7)]
    assert exported["editsync_consumer_committed_offset"] == []  # none committed on partition 1
    assert exported["editsync_lag_monitor_refreshed_timestamp_seconds"] == [({}, 123.0)]


def test_progress_is_dated_from_assignment_and_forgets_revoked_partitions():
    now = [1000.0]
    progress = Progress(clock=lambda: now[0])
    progress.watch_topics({"orders"})
    progress.assigned([("orders", 0), ("orders", 1), ("editsync-order-state-changelog", 0)])
    assert progress.owned() == {("orders", 0), ("orders", 1)}
    now[0] = 1010.0
    progress.processed(("orders", 1))
    now[0] = 1020.0
    progress.assigned([("orders", 1), ("orders", 2)])  # a rebalance: 0 went away, 2 arrived
    stamps = {tuple(s.labels.values()): s.value for f in progress.collect() for s in f.samples}
    assert stamps == {("orders", "1"): 1010.0, ("orders", "2"): 1020.0}
    progress.revoked([("orders", 1)])
    assert progress.owned() == {("orders", 2)}


def metered(handler) -> tuple[httpx.AsyncClient, Metrics]:
    metrics = Metrics()
    return httpx.AsyncClient(transport=MeteredTransport(System.SHOPIFY, metrics, httpx.MockTransport(handler))), metrics


def shopify_answer(errors: list | None = None, actual: int | None = 12) -> dict:
    return {"data": None if errors else {"order": None}, "errors": errors or [],
            "extensions": {"cost": {"requestedQueryCost": 52, "actualQueryCost": actual,
                                    "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 2,
                                                       "restoreRate": 50}}}}


def test_shopify_answers_count_cost_points_left_and_what_throttling_asks_to_wait():
    answers = iter([httpx.Response(200, json=shopify_answer()),
                    httpx.Response(200, json=shopify_answer([{"message": "Throttled",
                                                              "extensions": {"code": "THROTTLED"}}], None)),
                    httpx.Response(429, headers={"Retry-After": "2"}),
                    httpx.Response(503), httpx.Response(401), httpx.Response(400)])
    client, metrics = metered(lambda request: next(answers))

    async def calls() -> list[int]:
        return [(await client.post("https://shop.test/graphql.json", json={})).status_code for _ in range(6)]

    statuses = asyncio.run(calls())
    assert statuses == [200, 200, 429, 503, 401, 400]
    outcomes = {o: sample(metrics, "editsync_api_requests_total", system="shopify", outcome=o)
                for o in ("ok", "throttled", "server_error", "auth_error", "client_error")}
    assert outcomes == {"ok": 1, "throttled": 2, "server_error": 1, "auth_error": 1, "client_error": 1}
    assert sample(metrics, "editsync_api_cost_points_total", system="shopify") == 12  # the refused query cost nothing
    assert sample(metrics, "editsync_api_cost_available_points", system="shopify") == 2
    # (52 requested - 2 left) / 50 per second = 1 s, then Retry-After 2 s
    assert sample(metrics, "editsync_api_throttle_wait_seconds_total", system="shopify", source="upstream") == 3
    assert sample(metrics, "editsync_api_request_seconds_count", system="shopify") == 6


def test_a_request_that_never_gets_an_answer_is_a_transport_error():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, metrics = metered(refuse)
    with pytest.raises(httpx.ConnectError):
        asyncio.run(client.get("https://shop.test/"))
    assert sample(metrics, "editsync_api_requests_total", system="shopify", outcome="transport_error") == 1


def test_a_crashed_agent_is_reported_once_and_stops_the_worker_after_the_grace():
    stops: list[float] = []
    stopped = asyncio.Event()

    async def crash_twice() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            stops.append(loop.time())
            stopped.set()

        watchdog = AgentWatchdog(exit_after_s=0.05, stop=stop)
        supervisor = watchdog.supervisor()(max_restarts=100.0, over=1.0)

        class Actor:  # what Faust hands its supervisor: an actor of an agent, with why it died
            agent = type("Agent", (), {"name": "streams.agents.order_state.order_state"})()
            crash_reason = RuntimeError("boom")

            async def stop(self) -> None:
                return None

        actor = Actor()
        await supervisor.restart_services([actor])
        await supervisor.restart_services([actor])  # the supervisor finds the same dead actor again
        assert watchdog.crashed == {"order_state": "RuntimeError('boom')"}
        await asyncio.wait_for(stopped.wait(), 2)
        await asyncio.sleep(0.1)

    asyncio.run(crash_twice())
    assert len(stops) == 1  # one stop, however often the supervisor finds the dead actor

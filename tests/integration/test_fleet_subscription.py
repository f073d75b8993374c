"""One Peoplevox status subscription for a fleet of `editsync run` workers on one broker.

Workers join, the leader stops, a worker restarts: the Peoplevox sandbox holds exactly one
SalesOrderStatusChanges subscription throughout, the one recorded on ``editsync.peoplevox-subscription``,
and a status change is called back once and accepted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from sandboxes.testkit.pipeline import Pipeline, pipeline_on_own_broker
from sandboxes.testkit.service import Service
from streams.kafka import topics
from streams.kafka.broker import free_port
from streams.kafka.ledger import KafkaLedger

MADE = "recorded for the fleet"  # the leader logs it once the subscription it made is on the ledger


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("fleet")) as running:
        yield running


def test_the_ledger_reads_every_record_in_order_up_to_its_end(pipeline):
    """The end is where the consumer reports end of partition: right on Tansu, whose ListOffsets is not."""
    admin = AdminClient({"bootstrap.servers": pipeline.bootstrap})
    admin.create_topics([NewTopic("test.ledger", num_partitions=1, replication_factor=1)])["test.ledger"].result(10)
    ledger = KafkaLedger(pipeline.bootstrap, "test.ledger")

    async def scenario() -> list:
        assert await ledger.read() == []
        offsets = [await ledger.append("k", {"n": n}) for n in range(3)]
        assert offsets == [0, 1, 2]
        return await ledger.read()

    assert asyncio.run(scenario()) == [(0, {"n": 0}), (1, {"n": 1}), (2, {"n": 2})]


def recorded(pipeline: Pipeline) -> int:
    return asyncio.run(KafkaLedger(pipeline.bootstrap, topics.PEOPLEVOX_SUBSCRIPTION).read())[-1][1][
        "subscription_id"]


def one_live_recorded(pipeline: Pipeline) -> None:
    with pipeline.sandboxes.warehouse.lock:
        live = list(pipeline.sandboxes.warehouse.subscriptions)
    assert live == [recorded(pipeline)], "exactly one live subscription: the recorded one"


def made(*workers: Service) -> int:
    return sum(worker.whole_log().count(MADE) for worker in workers)


def test_joins_a_leader_stopping_and_a_restart_leave_one_subscription(pipeline, tmp_path, started):
    first = pipeline.service
    pipeline.wait_for("the first worker, leader, subscribed", lambda: made(first) == 1)
    one_live_recorded(pipeline)

    second = started(dict(pipeline.env, EDITSYNC_WEB_PORT=str(free_port()),
                          EDITSYNC_DATA_DIR=str(tmp_path / "w2")), "worker-2.log")
    second.wait_ready(timeout_s=90)
    time.sleep(8)  # the rebalance settles; the leader may have moved
    one_live_recorded(pipeline)

    # The first worker goes: the second leads now, having taken over at the join or taking over now.
    first.stop()
    pipeline.wait_for("the second worker took over", lambda: made(second) >= 1, timeout_s=60)
    time.sleep(3)
    one_live_recorded(pipeline)

    # The first comes back on its data dir, and the second goes: the first leads again.
    pipeline.service = third = Service(pipeline.env, Path(pipeline.tmp) / "editsync-restarted.log")
    third.wait_ready(timeout_s=90)
    second.stop()
    pipeline.wait_for("the restarted worker took over", lambda: made(third) >= 1, timeout_s=60)
    time.sleep(3)
    one_live_recorded(pipeline)

    # A status change is called back once, and the worker that gets it accepts it.
    plan = pipeline.create({"TEE-S": 1})
    pipeline.settled([plan])
    calls = len(pipeline.sandboxes.peoplevox.callbacks)
    pipeline.force_status(plan, "Picking")
    pipeline.wait_for("the callback", lambda: len(pipeline.sandboxes.peoplevox.callbacks) > calls)
    time.sleep(2)
    assert [c["status"] for c in pipeline.sandboxes.peoplevox.callbacks[calls:]] == [200]

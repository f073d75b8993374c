"""One Peoplevox status subscription per fleet, whatever the workers, leaders and restarts.

Workers share the ledger (in memory here, a one-partition topic in production) and one Peoplevox
(``tests/fakes``); Faust's leadership is what each worker is told after a rebalance.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connectors.errors import TransientError
from connectors.peoplevox import Refused
from streams.agents.peoplevox_subscription import FleetSubscription, forget_worker_subscription
from streams.kafka.ledger import LedgerError
from tests.fakes.peoplevox import FakeWarehouseEvents

PEOPLEVOX = "https://pvx.example/C/resources/integrationservicev4.asmx"
CALLBACK = "https://editsync.example/webhooks/peoplevox?token=t&event=SalesOrderStatusChanges"


class MemoryLedger:
    def __init__(self) -> None:
        self.records: list[tuple[int, dict[str, Any]]] = []
        self.append_fails = 0  # the next appends the broker does not acknowledge

    async def read(self) -> list[tuple[int, dict[str, Any]]]:
        await asyncio.sleep(0)
        return list(self.records)

    async def append(self, key: str, value: dict[str, Any]) -> int:
        await asyncio.sleep(0)
        if self.append_fails:
            self.append_fails -= 1
            raise LedgerError("editsync.peoplevox-subscription: append not acknowledged (timed out)")
        self.records.append((len(self.records), value))
        return len(self.records) - 1

    def latest(self) -> int:
        return self.records[-1][1]["subscription_id"]


def worker(events: FakeWarehouseEvents, ledger: MemoryLedger, peoplevox: str = PEOPLEVOX) -> FleetSubscription:
    return FleetSubscription(events, ledger, peoplevox, CALLBACK, retry_s=0.01)


async def settled(condition, timeout_s: float = 2.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


async def leading_until(events: FakeWarehouseEvents, ledger: MemoryLedger, records: int) -> None:
    """A worker that becomes leader and renews, retrying as it does, until the ledger holds ``records``."""
    w = worker(events, ledger)
    running = asyncio.create_task(w.run())
    w.leadership(True)
    await settled(lambda: len(ledger.records) == records)
    running.cancel()


def test_leaders_taking_over_and_restarts_leave_exactly_the_recorded_subscription():
    events, ledger = FakeWarehouseEvents(), MemoryLedger()

    async def scenario() -> None:
        a, b = worker(events, ledger), worker(events, ledger)
        running = [asyncio.create_task(w.run()) for w in (a, b)]
        a.leadership(True), b.leadership(False)  # the first rebalance: a leads
        await settled(lambda: len(ledger.records) == 1)
        a.leadership(True), b.leadership(False)  # a rebalance that leaves a leading: nothing to renew
        await asyncio.sleep(0.05)
        assert events.made == 1
        a.leadership(False), b.leadership(True)  # a scale-down or a restart of a: b takes over
        await settled(lambda: len(ledger.records) == 2)
        for task in running:
            task.cancel()
        restarted = worker(events, ledger)  # the whole fleet restarts, same callback URL
        restarted_run = asyncio.create_task(restarted.run())
        restarted.leadership(True)
        await settled(lambda: len(ledger.records) == 3)
        restarted_run.cancel()

    asyncio.run(scenario())
    assert list(events.subscriptions) == [ledger.latest()] == [3], "one live subscription: the recorded one"


def test_two_workers_renewing_at_once_leave_one_subscription():
    """During a rebalance the old leader can still be renewing when the new one starts."""
    events, ledger = FakeWarehouseEvents(), MemoryLedger()

    async def scenario() -> None:
        await worker(events, ledger).renew()
        await asyncio.gather(worker(events, ledger).renew(), worker(events, ledger).renew())

    asyncio.run(scenario())
    assert events.made == 3
    assert list(events.subscriptions) == [ledger.latest()]


def test_a_renewal_that_fails_removes_nothing_unrecorded_and_is_tried_again():
    events, ledger = FakeWarehouseEvents(), MemoryLedger()
    asyncio.run(worker(events, ledger).renew())
    # Peoplevox away at the unsubscribe, then the subscribe; the third attempt goes through.
    events.failures = [TransientError("Peoplevox answered 503"), None, TransientError("Peoplevox unreachable")]
    asyncio.run(leading_until(events, ledger, records=2))
    assert list(events.subscriptions) == [ledger.latest()] == [2]


def test_a_subscription_peoplevox_no_longer_holds_and_one_at_another_peoplevox_are_not_in_the_way():
    events, ledger = FakeWarehouseEvents(), MemoryLedger()
    events.subscriptions[1] = "someone else's"  # the same id as the other Peoplevox's record: not ours to remove
    events.made = 1
    ledger.records.append((0, {"peoplevox": "https://old.example/X/resources/integrationservicev4.asmx",
                               "subscription_id": 1}))
    asyncio.run(worker(events, ledger).renew())
    assert sorted(events.subscriptions) == [1, 2] and ledger.latest() == 2
    events.failures = [Refused("Subscription not found")]  # removed in Peoplevox by hand meanwhile
    asyncio.run(worker(events, ledger).renew())
    assert sorted(events.subscriptions) == [1, 2, 3] and ledger.latest() == 3, "refused: gone already"


def test_a_subscription_the_broker_would_not_record_is_taken_back_before_the_next_try():
    """Peoplevox cannot list subscriptions: one nobody recorded would call back for good."""
    events, ledger = FakeWarehouseEvents(), MemoryLedger()
    ledger.append_fails = 1
    asyncio.run(leading_until(events, ledger, records=1))
    assert events.made == 2 and list(events.subscriptions) == [ledger.latest()] == [2]


def test_a_refusal_to_remove_for_another_reason_is_a_persons_and_does_not_stop_the_new_subscription(caplog):
    events, ledger = FakeWarehouseEvents(), MemoryLedger()
    asyncio.run(worker(events, ledger).renew())
    events.failures = [Refused("System : Security:Access denied to UnsubscribeEvent")]
    asyncio.run(worker(events, ledger).renew())
    assert ledger.latest() == 2 and sorted(events.subscriptions) == [1, 2]
    assert "refused to remove subscription 1" in caplog.text and "by hand" in caplog.text


def test_an_unreadable_id_from_before_is_set_aside_for_a_person_not_a_crash_at_every_start(tmp_path, caplog):
    marker = tmp_path / "peoplevox-subscription"
    marker.write_text("Subscription created: 42")
    asyncio.run(forget_worker_subscription(FakeWarehouseEvents(), marker))
    assert not marker.exists() and (tmp_path / "peoplevox-subscription.unreadable").exists()
    assert "remove that subscription in Peoplevox by hand" in caplog.text


@pytest.mark.parametrize("answer, kept", [(None, False), (Refused("Subscription not found"), False),
                                          (TransientError("Peoplevox unreachable"), True)])
def test_a_workers_own_subscription_from_before_is_removed_once(answer, kept, tmp_path):
    """Each worker subscribed for itself and kept the id in its data dir: it must not call back for good."""
    gone = isinstance(answer, Refused)  # removed in Peoplevox by hand: refused, and done all the same
    events = FakeWarehouseEvents(subscriptions={} if gone else {7: CALLBACK}, failures=[answer])
    marker = tmp_path / "peoplevox-subscription"
    marker.write_text("7")
    asyncio.run(forget_worker_subscription(events, marker))
    assert marker.exists() is kept
    assert (7 in events.subscriptions) is kept

"""One Peoplevox status subscription for the whole fleet, made by the leader.

Peoplevox calls every ``SalesOrderStatusChanges`` subscription once per status
change, and offers ``SubscribeEvent`` and ``UnsubscribeEvent`` only: there is
no call that lists what is subscribed. So one worker makes the subscription,
Faust's leader (as for the Shopify sweep: the worker holding the one partition
of ``<app id>-__assignor-__leader``), and the id it got is recorded on the
broker (``editsync.peoplevox-subscription``, streams/kafka/ledger.py) where
every worker reads it. Each time a worker becomes leader (its first assignment
after a start, or a take-over after a rebalance) it renews: it unsubscribes the
subscription the latest record names, subscribes, and records the new id. A
restart, a new leader or a scale-down so replaces one subscription with one;
renewing rather than trusting the record also restores, at the next take-over,
a subscription someone deleted in Peoplevox. Between the unsubscribe and the
subscribe a status change can go uncalled-back; callbacks are hints, and the
sinks check the status before every write anyway.

For a moment during a rebalance two workers can both believe they lead and both
renew. The records appended between one's read and its own append name
subscriptions its own supersedes, and it unsubscribes them too: whatever the
interleaving, the latest record names the one live subscription.

A record made against another Peoplevox (another ``EDITSYNC_PEOPLEVOX_URL``)
names an id there, not here: it is left alone. An unsubscribe Peoplevox refuses
for an id it does not hold (removed by hand) is done; one refused for any other
reason is logged as an error naming the id, for a person to remove in Peoplevox,
and the renewal goes on: a duplicate subscription only doubles callbacks (same
URL, same token, hints re-read before use), while no subscription loses them.
A transient failure stops the renewal before the next step, and the leader tries
again ``RETRY_S`` later. A subscription whose id cannot be recorded (the broker
away) is removed again before the retry, and every id is logged the moment
Peoplevox answers it, so that one made just before a crash can still be found:
Peoplevox has no call that lists subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any, Protocol

from connectors.errors import ConnectorError
from connectors.peoplevox import Refused
from connectors.ports import WarehouseEvents
from streams.context import Context
from streams.kafka.ledger import LedgerError
from streams.runtime.clock import now_ms

log = logging.getLogger(__name__)
EVENT = "SalesOrderStatusChanges"
RETRY_S = 30.0  # a renewal that failed (Peoplevox or the broker away) is tried again this much later


class Ledger(Protocol):
    async def read(self) -> list[tuple[int, dict[str, Any]]]: ...

    async def append(self, key: str, value: dict[str, Any]) -> int: ...


class FleetSubscription:
    """Renews the fleet's one subscription whenever this worker becomes leader."""

    def __init__(self, events: WarehouseEvents, ledger: Ledger, peoplevox: str, callback_url: str,
                 retry_s: float = RETRY_S) -> None:
        self._events = events
        self._ledger = ledger
        self._peoplevox = peoplevox
        self._callback_url = callback_url
        self._retry_s = retry_s
        self._leader = False
        self._due = asyncio.Event()

    def leadership(self, leader: bool) -> None:
        """After every rebalance: a worker that has just become leader renews."""
        if leader and not self._leader:
            self._due.set()
        self._leader = leader

    async def run(self) -> None:
        """For the worker's life: renew on each take-over, retrying while still leader."""
        while True:
            await self._due.wait()
            self._due.clear()
            while self._leader:
                try:
                    await self.renew()
                    break
                except (ConnectorError, LedgerError, ValueError) as error:  # ValueError: an id that is no number
                    log.error("Peoplevox status subscription not renewed (%s); trying again in %.0f s, meanwhile "
                              "statuses are read by the sinks' state checks", getattr(error, "reason", error),
                              self._retry_s)
                    await asyncio.sleep(self._retry_s)

    async def renew(self) -> int:
        """Replace the recorded subscription with a new one, recorded; answer its id."""
        before = await self._ledger.read()
        last_read = before[-1][0] if before else -1
        if before:
            await self._remove(before[-1][1])
        subscription_id = int(await self._events.subscribe(EVENT, self._callback_url))
        log.info("Peoplevox %s subscription %d made for the fleet (callbacks to %s)", EVENT, subscription_id,
                 self._peoplevox)
        try:
            appended = await self._ledger.append(EVENT, {"peoplevox": self._peoplevox,
                                                         "subscription_id": subscription_id, "at": now_ms()})
        except LedgerError:
            # Unrecorded, no later leader could remove it: take it back before this renewal is tried again.
            try:
                await unsubscribe(self._events, subscription_id)
            except ConnectorError as error:
                log.error("Peoplevox subscription %d could be neither recorded nor removed (%s): remove it in "
                          "Peoplevox by hand", subscription_id, error.reason)
            raise
        log.info("Peoplevox subscription %d recorded for the fleet", subscription_id)
        for offset, record in await self._ledger.read():
            if last_read < offset < appended:  # another worker renewed at the same time: this one supersedes it
                try:
                    await self._remove(record)
                except ConnectorError as error:
                    log.error("Peoplevox subscription %s, made by a worker renewing at the same time, could not "
                              "be removed (%s): remove it in Peoplevox", record.get("subscription_id"), error.reason)
        return subscription_id

    async def _remove(self, record: dict[str, Any]) -> None:
        if record.get("peoplevox") != self._peoplevox:
            log.info("the recorded Peoplevox subscription %s belongs to %s, not this Peoplevox: left alone",
                     record.get("subscription_id"), record.get("peoplevox"))
            return
        await unsubscribe(self._events, int(record["subscription_id"]))


#: How a refusal reads when the id is not (or no longer) Peoplevox's: the real wording is not published, so the
#: test is loose; any other refusal is left to a person.
GONE = re.compile(r"not found|does not exist|no such|unknown|invalid subscription", re.I)


async def unsubscribe(events: WarehouseEvents, subscription_id: int) -> None:
    try:
        await events.unsubscribe(subscription_id)
    except Refused as refused:
        if GONE.search(refused.reason):
            log.info("Peoplevox subscription %d was gone already (%s)", subscription_id, refused.reason)
        else:
            log.error("Peoplevox refused to remove subscription %d (%s): remove it in Peoplevox by hand; until "
                      "then each status change is called back twice", subscription_id, refused.reason)
        return
    log.info("Peoplevox subscription %d removed", subscription_id)


async def forget_worker_subscription(events: WarehouseEvents, marker: Path) -> None:
    """Before one subscription per fleet, each worker made its own and kept its id in its data dir: remove it,
    or it calls back for good (with that worker's own token, refused by the others)."""
    if not marker.exists():
        return
    text = marker.read_text().strip()
    if not text.isdigit():
        kept = marker.with_name(marker.name + ".unreadable")
        marker.rename(kept)
        log.error("this worker's own Peoplevox subscription id is unreadable (%r, now in %s): remove that "
                  "subscription in Peoplevox by hand", text[:80], kept)
        return
    try:
        await unsubscribe(events, int(text))
    except ConnectorError as error:
        log.warning("this worker's own Peoplevox subscription (%s) not removed (%s): tried again at the next start",
                    marker, error.reason)
        return
    marker.unlink()


def register(ctx: Context, events: WarehouseEvents, ledger: Ledger) -> FleetSubscription:
    settings = ctx.settings
    app = ctx.app
    subscription = FleetSubscription(events, ledger, settings.peoplevox_url or "", settings.callback_url())

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # faust types receivers as (sender, *args, signal=...)
    async def assigned(sender: Any, assigned: set, **_: Any) -> None:
        subscription.leadership(app.is_leader())

    @app.task
    async def keep_one_peoplevox_subscription() -> None:
        await forget_worker_subscription(events, settings.data_dir / "peoplevox-subscription")
        await subscription.run()

    return subscription

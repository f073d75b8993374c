"""The sweep: Shopify's list of recently updated orders, every ``EDITSYNC_SHOPIFY_SWEEP_S``, on one worker.

A webhook is a hint that can be lost for good: Shopify gives up on a delivery
after its retries, a subscription can be deleted, an ingress outage can
outlast the retries. The sweep is the level-triggered net under them: it asks
Shopify which orders were updated since the last sweep started (less
``OVERLAP_MS``: Shopify's search index may trail its writes, and its clock
is not ours), only ``id`` and ``updatedAt``, and hands each order to the
order-state agent as ``Swept`` keyed by order id. The engine reads an order
only if it knows no version that recent, through the same fetch path as a
webhook (debounce, backoff, coalesced reads); an order it never saw is read
and handled as new.

Only the leader sweeps (Faust's leader assignor: the worker holding the one
partition of ``<app id>-__assignor-__leader``), so several workers do not list
the same orders. The since-time lives in the sweeping worker's memory: its
first sweep, after a start or on becoming leader, looks back
``EDITSYNC_SHOPIFY_SWEEP_LOOKBACK_S``. An order listed again costs its line in
the list and one record; the engine's version compare does the rest.

A sweep that fails (Shopify down or throttling past the connector's waits, the
broker refusing a record) logs a warning, counts a failed sweep and leaves the
since-time where it was, so the next sweep covers the same window again; the
worker carries on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from connectors.ports import Shop
from streams.context import Context
from streams.core import inputs
from streams.core.inputs import Swept
from streams.kafka import topics
from streams.runtime.clock import now_ms
from streams.supervision.metrics import Metrics

log = logging.getLogger(__name__)
OVERLAP_MS = 120_000


class Sweeper:
    """One sweep at a time: list, hand over, and remember where the next one starts."""

    def __init__(self, shop: Shop, send: Callable[[str, Swept], Awaitable[None]], metrics: Metrics,
                 lookback_ms: int, clock: Callable[[], int] = now_ms, overlap_ms: int = OVERLAP_MS) -> None:
        self._shop = shop
        self._send = send
        self._metrics = metrics
        self._lookback_ms = lookback_ms
        self._overlap_ms = overlap_ms
        self._clock = clock
        self._last_started: int | None = None  # of the last sweep that listed every order

    def since(self, now: int) -> int:
        """The last successful sweep's start less the overlap; the lookback before there was one."""
        if self._last_started is None:
            return now - self._lookback_ms
        return self._last_started - self._overlap_ms

    async def sweep(self) -> None:
        started, began = self._clock(), time.monotonic()
        listed = 0
        try:
            async for update in self._shop.updated_since(self.since(started)):
                await self._send(update.order_id, Swept(updated_at=update.updated_at))
                listed += 1
        except Exception as error:
            self._metrics.shopify_sweeps.labels("failed").inc()
            log.warning("Shopify sweep failed after %d orders (%s); the next sweep covers the same window again",
                        listed, getattr(error, "reason", None) or repr(error))
            return
        finally:
            self._metrics.shopify_sweep_seconds.observe(time.monotonic() - began)
        self._last_started = started
        self._metrics.shopify_sweeps.labels("ok").inc()
        self._metrics.shopify_sweep_last_success.set(started / 1000)
        if listed:
            log.info("Shopify sweep: %d orders updated lately handed to their order state", listed)


def register(ctx: Context, shop: Shop) -> Sweeper | None:
    """Sweep every ``EDITSYNC_SHOPIFY_SWEEP_S`` on the leader; nothing when that is 0."""
    settings = ctx.settings
    ctx.metrics.shopify_sweep_interval.set(settings.shopify_sweep_s)
    if not settings.shopify_sweep_s:
        log.info("the Shopify sweep is off (EDITSYNC_SHOPIFY_SWEEP_S=0): only webhooks tell editsync of changes")
        return None
    order_inputs = ctx.topic(topics.ORDER_INPUTS)

    async def send(order_id: str, swept: Swept) -> None:
        await order_inputs.send(key=order_id.encode(), value=inputs.encode(swept))

    sweeper = Sweeper(shop, send, ctx.metrics, int(settings.shopify_sweep_lookback_s * 1000))
    ctx.app.timer(settings.shopify_sweep_s, on_leader=True, name="shopify_sweep")(sweeper.sweep)
    return sweeper

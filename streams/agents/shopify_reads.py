"""Reads from Shopify the order-state agent asked for: whole orders, and order names to ids.

Separate from the order-state agent so that a slow or throttled Admin API
delays only reads, never the handling of results and statuses. Name look-ups
(recreate links) have their own topic and agent, so a queue of order reads
cannot starve them. A read that keeps failing is dropped with a warning: the
order-state agent asks again, backing off, and an order that waits too long
becomes an exception (streams.core.holds), so nothing is held in silence. A
read Shopify denies for a missing access scope is never retried here: it goes
back to the order (the one that asked, for a name look-up) as ``read_denied``,
which the engine turns into an owned ``SHOPIFY_ACCESS_DENIED`` exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from connectors.downstream import Downstream
from connectors.errors import AccessDenied, ConnectorError, TransientError
from streams.context import Context
from streams.core import inputs
from streams.core.inputs import (
    FetchedSnapshot,
    FetchOrder,
    NoticeIn,
    OrderMissing,
    PredecessorAnswer,
    ReadDenied,
    ResolveOrder,
)
from streams.kafka import topics
from streams.runtime.clock import now_ms

log = logging.getLogger(__name__)
ATTEMPTS = 4
T = TypeVar("T")
R = TypeVar("R", FetchOrder, ResolveOrder)


class ReadLog:
    """When each order's latest read started (bounded): a request made before that is already answered."""

    def __init__(self, size: int = 50_000) -> None:
        self._started: OrderedDict[str, int] = OrderedDict()
        self._size = size

    def answered(self, request: FetchOrder) -> bool:
        started = self._started.get(request.order_id)
        return started is not None and request.requested_at != 0 and started >= request.requested_at

    def answered_at(self, order_id: str, at: int) -> None:
        """A read that started ``at`` was answered."""
        self._started[order_id] = at
        self._started.move_to_end(order_id)
        while len(self._started) > self._size:
            self._started.popitem(last=False)


def register(ctx: Context, downstream: Downstream) -> None:
    order_inputs = ctx.topic(topics.ORDER_INPUTS)
    metrics = ctx.metrics
    reads = ReadLog()

    async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except TransientError as error:
                if attempt == ATTEMPTS:
                    raise
                await asyncio.sleep(error.retry_after_s or 0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    async def handled(kind: str, order_id: str, call: Callable[[], Awaitable[None]]) -> None:
        try:
            await call()
        except AccessDenied as error:
            # Asking again cannot help until a person grants access: the order owns an exception instead.
            metrics.shopify_reads.labels(kind, "denied").inc()
            log.warning("Shopify denied a %s read for order %s: %s", kind, order_id, error.reason)
            denied = ReadDenied(required_access=error.required_access, reason=error.reason)
            await order_inputs.send(key=order_id.encode(), value=inputs.encode(denied))
        except ConnectorError as error:
            metrics.shopify_reads.labels(kind, "failed").inc()
            log.warning("Shopify read %s failed (%s); the order asks again, backing off", kind, error.reason)

    async def decoded(message: Any, kind: type[R]) -> R | None:
        """The request a record carries, or None once the record is dead-lettered."""
        try:
            request = inputs.decode(message.value)
        except (TypeError, ValueError) as error:  # pydantic's ValidationError: not a known internal message
            await ctx.dead_letter(message, "undecodable_record", str(error))
            return None
        if not isinstance(request, kind):
            await ctx.dead_letter(message, "unexpected_input", f"{request.kind} on {message.topic} is not a "
                                  f"{kind.__name__}")
            return None
        return request

    # One read at a time: the shop's cost bucket serialises reads anyway.
    @ctx.app.agent(ctx.topic(topics.SHOPIFY_READS), name="shopify_reads")
    async def shopify_reads(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            request = await decoded(event.message, FetchOrder)
            if request is None:
                continue
            if reads.answered(request):
                # A burst queued this order's read more than once: the read already made answers them all.
                metrics.shopify_reads.labels("fetch", "coalesced").inc()
            else:
                await handled("fetch", request.order_id, partial(fetch, request))

    @ctx.app.agent(ctx.topic(topics.SHOPIFY_LOOKUPS), name="shopify_lookups")
    async def shopify_lookups(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            request = await decoded(event.message, ResolveOrder)
            if request is not None:
                await handled("resolve", request.from_order_id, partial(resolve, request))

    async def fetch(request: FetchOrder) -> None:
        order_id = request.order_id
        started = now_ms()
        snapshot = await with_retries(lambda: downstream.shopify.fetch_order(order_id))
        metrics.shopify_reads.labels("fetch", "ok" if snapshot else "missing").inc()
        answer = FetchedSnapshot(snapshot=snapshot) if snapshot is not None else OrderMissing()
        await order_inputs.send(key=order_id.encode(), value=inputs.encode(answer))
        # Only an answered read answers the requests queued behind it: a failed one answers nothing.
        reads.answered_at(order_id, started)

    async def resolve(request: ResolveOrder) -> None:
        found = await with_retries(lambda: downstream.shopify.find_order_id(request.ref))
        metrics.shopify_reads.labels("resolve", "ok" if found else "missing").inc()
        if found is not None:
            await order_inputs.send(key=found.encode(), value=inputs.encode(NoticeIn(message=request.message)))
        else:
            answer = PredecessorAnswer(predecessor_id=None, released=False,
                                       reason=f"{request.ref} is not an order of this shop")
            await order_inputs.send(key=request.from_order_id.encode(), value=inputs.encode(NoticeIn(message=answer)))

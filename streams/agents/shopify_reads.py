"""Reads from Shopify the order-state agent asked for: whole orders, and order names to ids.

Separate from the order-state agent so that a slow or throttled Admin API
delays only reads, never the handling of results and statuses. A read that
keeps failing is dropped with a warning: the order-state agent asks again
when its fetch times out (level-triggered), so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging

from connectors.errors import ConnectorError, TransientError
from streams.core import inputs
from streams.core.inputs import FetchedSnapshot, FetchOrder, NoticeIn, PredecessorAnswer, ResolveOrder
from streams.kafka import topics
from streams.service.context import Context
from streams.service.downstream import Downstream

log = logging.getLogger(__name__)
ATTEMPTS = 4


def register(ctx: Context, downstream: Downstream) -> None:
    order_inputs = ctx.topic(topics.ORDER_INPUTS)
    metrics = ctx.metrics

    async def with_retries(call):  # type: ignore[no-untyped-def]
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except TransientError as error:
                if attempt == ATTEMPTS:
                    raise
                await asyncio.sleep(error.retry_after_s or 0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    # One read at a time: the shop's cost bucket serialises reads anyway, and with Faust agent
    # concurrency above 1 the demo saw reads of one partition stall (see the README's known issues).
    @ctx.app.agent(ctx.topic(topics.SHOPIFY_READS), name="shopify_reads")
    async def shopify_reads(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            request = inputs.decode(value)
            try:
                if isinstance(request, FetchOrder):
                    await fetch(request)
                elif isinstance(request, ResolveOrder):
                    await resolve(request)
                else:
                    log.warning("%s on %s is not a Shopify read", request.kind, topics.SHOPIFY_READS)
            except ConnectorError as error:
                metrics.shopify_reads.labels(request.kind, "failed").inc()
                log.warning("Shopify read %s failed (%s); the order asks again after its fetch timeout",
                            request.kind, error.reason)

    async def fetch(request: FetchOrder) -> None:
        order_id = request.order_id
        snapshot = await with_retries(lambda: downstream.shopify.fetch_order(order_id))
        metrics.shopify_reads.labels("fetch", "ok" if snapshot else "missing").inc()
        if snapshot is not None:
            await order_inputs.send(key=order_id.encode(), value=inputs.encode(FetchedSnapshot(snapshot=snapshot)))

    async def resolve(request: ResolveOrder) -> None:
        found = await with_retries(lambda: downstream.shopify.find_order_id(request.ref))
        metrics.shopify_reads.labels("resolve", "ok" if found else "missing").inc()
        if found is not None:
            await order_inputs.send(key=found.encode(), value=inputs.encode(NoticeIn(message=request.message)))
        else:
            answer = PredecessorAnswer(predecessor_id=None, released=False,
                                       reason=f"{request.ref} is not an order of this shop")
            await order_inputs.send(key=request.from_order_id.encode(), value=inputs.encode(NoticeIn(message=answer)))

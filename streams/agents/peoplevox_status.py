"""Peoplevox callbacks are hints: re-read the sales order, then tell its order the status.

Peoplevox signs nothing and fills the callback URL from its own data, so the
callback only names a sales order; ``GetData`` says where it really is and
which Shopify order it belongs to (``CustomerPurchaseOrderReferenceNumber``).
The status is stamped with the time it was read, the moment it is known true. A Despatched sales order's
despatches (carrier, tracking, items) are read with it, for its fulfillments in Shopify; when they cannot
be, the status says so and its order asks again (``editsync.peoplevox-reads``), backing off, until they are.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from connectors.downstream import Downstream
from connectors.errors import ConnectorError
from streams.context import Context
from streams.core import inputs
from streams.core.inputs import PeoplevoxStatus, ReadSalesOrder
from streams.core.model import Despatch
from streams.core.peoplevox import DESPATCHED
from streams.ingress.callbacks import InvalidCallback, sales_order_number
from streams.kafka import topics
from streams.kafka.avro_codec import DecodeError
from streams.runtime.clock import now_ms

log = logging.getLogger(__name__)


def register(ctx: Context, downstream: Downstream) -> None:
    order_inputs = ctx.topic(topics.ORDER_INPUTS)
    statuses = ctx.metrics.peoplevox_statuses
    channel = ctx.app.topic(topics.PEOPLEVOX_EVENTS_RAW, topics.PEOPLEVOX_READS, key_type=bytes, value_type=bytes,
                            key_serializer="raw", value_serializer="raw")

    def requested(message: Any) -> str:
        """The sales order a callback, or an order asking again, wants read."""
        if message.topic == topics.PEOPLEVOX_READS:
            read = inputs.decode(message.value)
            if not isinstance(read, ReadSalesOrder):
                raise DecodeError(f"{type(read).__name__} is not a sales order read")
            return read.number
        callback = ctx.codec.decode(topics.PEOPLEVOX_EVENTS_RAW, message.value)
        return sales_order_number(callback.get("sales_order_number"))

    @ctx.app.agent(channel, name="peoplevox_status", concurrency=ctx.settings.sink_concurrency)
    async def peoplevox_status(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            message = event.message
            try:
                number = requested(message)
            except (DecodeError, ValidationError) as error:
                await ctx.dead_letter(message, "undecodable_record", str(error))
                continue
            except InvalidCallback as error:
                await ctx.dead_letter(message, error.error_type, str(error))
                continue
            try:
                row = await downstream.peoplevox.sales_order(number)
            except ConnectorError as error:
                # The next callback, the sink's own state check, or the order asking again catches up.
                statuses.labels("reread_failed").inc()
                log.warning("could not re-read Peoplevox sales order %s: %s", number, error.reason)
                continue
            except Exception as error:
                await ctx.dead_letter(message, "unreadable_sales_order", f"re-reading {number!r} failed: {error!r}")
                continue
            if row is None or not row.reference:
                statuses.labels("not_owned").inc()
                log.info("callback for sales order %s that editsync does not own", number)
                continue
            despatches: tuple[Despatch, ...] = ()
            unread = False
            if row.status == DESPATCHED and ctx.settings.fulfil_despatches:
                try:
                    despatches = await downstream.peoplevox.despatches(number)
                except ConnectorError as error:
                    # The status still counts (the lock, the cut-off); the order asks for the despatch again.
                    statuses.labels("despatch_read_failed").inc()
                    log.warning("could not read what Peoplevox despatched of %s: %s", number, error.reason)
                    unread = True
            status = PeoplevoxStatus(status=row.status, at=now_ms(), number=number, despatches=despatches,
                                     despatches_unread=unread)
            await order_inputs.send(key=row.reference.encode(), value=inputs.encode(status))
            statuses.labels("forwarded").inc()

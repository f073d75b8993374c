"""Peoplevox callbacks are hints: re-read the sales order, then tell its order the status.

Peoplevox signs nothing and fills the callback URL from its own data, so the
callback only names a sales order; ``GetData`` says where it really is and
which Shopify order it belongs to (``CustomerPurchaseOrderReferenceNumber``).
The status is stamped with the time it was read, the moment it is known true. A Despatched sales order's
despatches (carrier, tracking, items) are read with it, for its fulfillments in Shopify.
"""

from __future__ import annotations

import logging

from connectors.downstream import Downstream
from connectors.errors import ConnectorError
from streams.context import Context
from streams.core import inputs
from streams.core.inputs import PeoplevoxStatus
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

    @ctx.app.agent(ctx.topic(topics.PEOPLEVOX_EVENTS_RAW), name="peoplevox_status",
                   concurrency=ctx.settings.sink_concurrency)
    async def peoplevox_status(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            message = event.message
            try:
                callback = ctx.codec.decode(topics.PEOPLEVOX_EVENTS_RAW, message.value)
                number = sales_order_number(callback.get("sales_order_number"))
            except DecodeError as error:
                await ctx.dead_letter(message, "undecodable_record", str(error))
                continue
            except InvalidCallback as error:
                await ctx.dead_letter(message, error.error_type, str(error))
                continue
            try:
                row = await downstream.peoplevox.sales_order(number)
            except ConnectorError as error:
                # The next callback, or the sink's own state check, catches up; log and move on.
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
            if row.status == DESPATCHED and ctx.settings.fulfil_despatches:
                try:
                    despatches = await downstream.peoplevox.despatches(number)
                except ConnectorError as error:
                    # The status still counts (the lock, the cut-off); the despatch is read on its next callback.
                    statuses.labels("despatch_read_failed").inc()
                    log.warning("could not read what Peoplevox despatched of %s: %s", number, error.reason)
            status = PeoplevoxStatus(status=row.status, at=now_ms(), number=number, despatches=despatches)
            await order_inputs.send(key=row.reference.encode(), value=inputs.encode(status))
            statuses.labels("forwarded").inc()

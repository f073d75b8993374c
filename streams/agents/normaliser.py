"""shopify.webhooks.raw → orders.events.v1, or dlq.v1 with the reason."""

from __future__ import annotations

import logging

from streams import topics
from streams.avro_codec import DecodeError
from streams.context import Context
from streams.dead_letters import dead_letter
from streams.normalise import NormaliseError, normalise

log = logging.getLogger(__name__)


def register(ctx: Context) -> None:
    codec, metrics = ctx.codec, ctx.metrics
    events_out = ctx.topic(topics.ORDERS_EVENTS)
    dlq = ctx.topic(topics.DEAD_LETTERS)

    @ctx.app.agent(ctx.topic(topics.SHOPIFY_WEBHOOKS_RAW), name="normaliser")
    async def normaliser(stream):  # type: ignore[no-untyped-def]
        # send() only buffers; Faust flushes the producer before it commits
        # offsets, so an input is never committed before its output is acked.
        async for event in stream.events():
            message = event.message
            try:
                envelope = codec.decode(topics.SHOPIFY_WEBHOOKS_RAW, message.value)
                order_event = normalise(envelope)
            except (DecodeError, NormaliseError) as exc:
                error_type = getattr(exc, "error_type", "undecodable_record")
                context = {}
                if not isinstance(exc, DecodeError):
                    context = {"topic": envelope["topic"], "shop_domain": envelope["shop_domain"],
                               "webhook_id": envelope.get("webhook_id"), "event_id": envelope.get("event_id")}
                # The envelope's body is what a person needs to look at; undecodable bytes are kept as they are.
                payload = message.value if isinstance(exc, DecodeError) else envelope["body"]
                letter = dead_letter(source=message.topic, payload=payload, reason=str(exc), error_type=error_type,
                                     key=message.key, partition=message.partition, offset=message.offset,
                                     context=context)
                await dlq.send(key=message.key, value=codec.encode(topics.DEAD_LETTERS, letter))
                metrics.dead_letters.labels(message.topic, error_type).inc()
                log.warning("dead-lettered %s[%s]@%s: %s (%s)", message.topic, message.partition,
                            message.offset, error_type, exc)
                continue
            await events_out.send(key=order_event["order_id"].encode(),
                                  value=codec.encode(topics.ORDERS_EVENTS, order_event))
            metrics.events_normalised.labels(order_event["event_type"]).inc()

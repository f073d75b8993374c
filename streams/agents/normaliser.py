"""shopify.webhooks.raw → orders.events.v1, or dlq.v1 with the reason."""

from __future__ import annotations

from streams.ingress.normalise import NormaliseError, normalise
from streams.kafka import topics
from streams.kafka.avro_codec import DecodeError
from streams.service.context import Context


def register(ctx: Context) -> None:
    codec, metrics = ctx.codec, ctx.metrics
    events_out = ctx.topic(topics.ORDERS_EVENTS)

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
                if isinstance(exc, DecodeError):
                    await ctx.dead_letter(message, "undecodable_record", exc)
                else:
                    # The envelope's body is what a person needs to look at.
                    await ctx.dead_letter(message, exc.error_type, exc, payload=envelope["body"], context={
                        "topic": envelope["topic"], "shop_domain": envelope["shop_domain"],
                        "webhook_id": envelope.get("webhook_id"), "event_id": envelope.get("event_id")})
                continue
            await events_out.send(key=order_event["order_id"].encode(),
                                  value=codec.encode(topics.ORDERS_EVENTS, order_event))
            metrics.events_normalised.labels(order_event["event_type"]).inc()

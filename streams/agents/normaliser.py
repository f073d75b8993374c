"""shopify.webhooks.raw → orders.events.v1, or dlq.v1 with the reason.

Every record ends as exactly one of the two: whatever its bytes hold, the
only thing that can stop this agent is the broker refusing a send.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.context import Context
from streams.ingress.normalise import NormaliseError, normalise
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec, DecodeError
from streams.runtime.settings import RECORD_RESERVE_BYTES


@dataclass(frozen=True)
class Normalised:
    key: bytes
    value: bytes
    event_type: str


@dataclass(frozen=True)
class Rejected:
    error_type: str
    reason: str
    payload: bytes | None  # what a person needs to look at: the webhook body; None keeps the record as read
    context: dict[str, str | None] = field(default_factory=dict)


def normalise_record(codec: AvroCodec, value: bytes, max_event_bytes: int) -> Normalised | Rejected:
    """One raw record → the encoded event, or why not. Never raises."""
    try:
        envelope = codec.decode(topics.SHOPIFY_WEBHOOKS_RAW, value)
    except DecodeError as exc:
        return Rejected("undecodable_record", str(exc), None)
    context = {name: envelope.get(name) for name in ("topic", "shop_domain", "webhook_id", "event_id")}
    try:
        event = normalise(envelope)
    except NormaliseError as exc:
        return Rejected(exc.error_type, str(exc), envelope["body"], context)
    except Exception as exc:
        return Rejected("normaliser_error", f"normalising failed: {exc!r}", envelope["body"], context)
    try:
        encoded = codec.encode(topics.ORDERS_EVENTS, event)
    except Exception as exc:
        return Rejected("unencodable_event", f"the event does not fit the OrderEvent schema: {exc!r}",
                        envelope["body"], context)
    if len(encoded) > max_event_bytes:
        return Rejected("event_too_large", f"the event is {len(encoded)} bytes, over {max_event_bytes}",
                        envelope["body"], context)
    return Normalised(event["order_id"].encode(), encoded, event["event_type"])


def register(ctx: Context) -> None:
    codec, metrics = ctx.codec, ctx.metrics
    events_out = ctx.topic(topics.ORDERS_EVENTS)
    max_event_bytes = ctx.settings.kafka_max_message_bytes - RECORD_RESERVE_BYTES

    @ctx.app.agent(ctx.topic(topics.SHOPIFY_WEBHOOKS_RAW), name="normaliser")
    async def normaliser(stream):  # type: ignore[no-untyped-def]
        # send() only buffers; Faust flushes the producer before it commits
        # offsets, so an input is never committed before its output is acked.
        async for event in stream.events():
            message = event.message
            result = normalise_record(codec, message.value, max_event_bytes)
            if isinstance(result, Rejected):
                await ctx.dead_letter(message, result.error_type, result.reason, payload=result.payload,
                                      context=result.context)
                continue
            await events_out.send(key=result.key, value=result.value)
            metrics.events_normalised.labels(result.event_type).inc()

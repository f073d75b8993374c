"""Sink agents: execute commands, publish results, retry transient failures through a retry topic.

One agent per target, ``concurrency`` commands at once and a rate limit per
target, so a slow system back-pressures only its own topic. A transient
failure is re-published to ``commands.retry.v1`` with the next attempt's
``not_before`` (exponential backoff with jitter, streams/runtime/backoff.py); the retry agent waits
for it and hands it back to its target's topic, so the partition it came
from is never blocked. A permanent failure, or the last attempt, becomes a
FAILED result: the order-state agent turns it into an owned exception. The
last attempt's result says ``gave_up``: the system never answered, so the
command goes again by itself once the system is seen answering.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from connectors.downstream import Downstream
from connectors.errors import PermanentError, TransientError
from streams.context import Context
from streams.core.commands import Command
from streams.core.details import Outcome
from streams.core.model import Target
from streams.kafka import topics
from streams.kafka.avro_codec import DecodeError
from streams.kafka.records import command_from_record, command_record, result_record
from streams.runtime.backoff import backoff_ms
from streams.runtime.clock import epoch_ms, now_ms
from streams.sinks.executors import Answer, execute
from streams.sinks.rate_limit import RateLimiter

log = logging.getLogger(__name__)
SALES_ORDER_KINDS = frozenset({"create_sales_order", "update_sales_order", "replace_sales_order",
                               "cancel_sales_order"})


def register(ctx: Context, downstream: Downstream) -> None:
    settings, codec, metrics = ctx.settings, ctx.codec, ctx.metrics
    results = ctx.topic(topics.COMMANDS_RESULTS)
    retries = ctx.topic(topics.COMMANDS_RETRY)
    rng = random.Random()

    def sink(target: str, topic_name: str) -> None:
        limiter = RateLimiter(settings.sink_rate_per_s)

        async def handle(key: bytes, record: dict[str, Any], command: Command) -> None:
            attempt = record["attempt"]
            waiting = time.monotonic()
            await limiter.acquire()
            started = time.monotonic()
            metrics.api_throttle_wait_seconds.labels(Target(target).system.value, "rate_limit").inc(started - waiting)
            try:
                outcome = await execute(downstream, command)
            except TransientError as error:
                if attempt + 1 < settings.sink_max_attempts:
                    delay = max(backoff_ms(attempt, settings.sink_backoff_s, rng),
                                int((error.retry_after_s or 0) * 1000))
                    metrics.command_retries.labels(target).inc()
                    log.info("%s: %s, retry %d in %d ms", command.command_id, error.reason, attempt + 1, delay)
                    await retries.send(key=key, value=codec.encode(topics.COMMANDS_RETRY, command_record(
                        command, epoch_ms(record["issued_at"]) or now_ms(), attempt + 1, now_ms() + delay)))
                    return
                outcome = Answer(Outcome.FAILED, f"gave up after {attempt + 1} attempts: {error.reason}",
                                 error.detail.model_copy(update={"gave_up": True}))
            except PermanentError as error:
                outcome = Answer(Outcome.FAILED, error.reason, error.detail)
            metrics.command_seconds.labels(target).observe(time.monotonic() - started)
            metrics.command_results.labels(target, command.kind, outcome.outcome).inc()
            if outcome.outcome is Outcome.FAILED:
                log.warning("%s failed: %s", command.command_id, outcome.reason)
            elif outcome.outcome is Outcome.APPLIED and command.kind in SALES_ORDER_KINDS:
                metrics.edit_to_warehouse_seconds.labels(command.kind).observe(
                    max(0, now_ms() - command.order_version) / 1000)
            await results.send(key=key, value=codec.encode(topics.COMMANDS_RESULTS, result_record(
                command, outcome.outcome, outcome.reason, outcome.detail, attempt + 1, now_ms())))

        async def agent(stream):  # type: ignore[no-untyped-def]
            async for event in stream.events():
                message = event.message
                try:
                    record = codec.decode(topic_name, message.value)
                    command = command_from_record(record)
                except Exception as error:
                    await ctx.dead_letter(message, "undecodable_command", str(error) or repr(error))
                    continue
                await handle(message.key, record, command)

        agent.__name__ = f"{target.lower()}_sink"
        ctx.app.agent(ctx.topic(topic_name), name=agent.__name__, concurrency=settings.sink_concurrency)(agent)

    for target, topic_name in topics.COMMANDS_BY_TARGET.items():
        sink(target, topic_name)

    @ctx.app.agent(retries, name="retry", concurrency=64)
    async def retry(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            try:
                record = codec.decode(topics.COMMANDS_RETRY, event.message.value)
                target_topic = topics.COMMANDS_BY_TARGET[record["target"]]
            except (DecodeError, KeyError) as error:
                await ctx.dead_letter(event.message, "undecodable_command", str(error) or repr(error))
                continue
            wait_s = ((epoch_ms(record["not_before"]) or 0) - now_ms()) / 1000
            if wait_s > 0:
                # Holding the record on purpose: its partition is not stalled (streams/core/stall.py).
                ctx.stalls.waiting(event.message.topic, event.message.partition, time.time() + wait_s)
                await asyncio.sleep(wait_s)
            await ctx.topic(target_topic).send(key=event.message.key, value=codec.encode(target_topic, record))

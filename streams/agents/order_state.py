"""The order-state agent: one table row per order, every input through the pure engine.

Inputs, all keyed by order id so one order's inputs are handled one at a
time in one partition: ``orders.events.v1`` (a hint that the order changed),
``commands.results.v1`` and the internal ``editsync.order-inputs`` (debounce
ticks, fetched snapshots, Peoplevox statuses, recreate notices, heal, people's
retries, resolves and ignores, replays, re-checks of held orders, and the
sweep's listings of orders Shopify updated lately).

Webhook payloads are never taken as the order: they lack inventory item ids,
checkout-vs-edit quantities and transactions, so every event only marks the
order dirty and the debounced reconcile reads it from the Admin API.

Timers live in memory (``wakes``): a periodic task turns due ones into tick
records on the internal topic, so the table is only written while iterating
the stream. After a restart or rebalance they are gone, which is why every
order with work outstanding is healed: re-read and re-sent before anything new.

Orders whose commands a system never answered are indexed by that system
(``waiting``, like the gauges' views, rebuilt from the table on rebalance).
Any input that shows the system answering (``actions.answering``: another
order's result, a Shopify read), or a probe from the app, sends each of them
one ``SystemAnswering``; the engine decides what goes again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connectors.errors import ConnectorError
from streams.context import Context
from streams.core import actions, engine, inputs
from streams.core.engine import Decision, Policy
from streams.core.exceptions import mismatch_reasons
from streams.core.health import OrderHealth, order_health
from streams.core.inputs import (
    FetchOrder,
    Heal,
    NoticeIn,
    OrderEventIn,
    PersonAction,
    ReadSalesOrder,
    Recheck,
    ResolveOrder,
    Swept,
    SystemAnswering,
    Tick,
)
from streams.core.model import Target
from streams.core.state import OrderState
from streams.kafka import topics
from streams.kafka.records import command_record, exception_record, result_from_record
from streams.runtime.clock import now_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heals:
    """What the rest of the worker may tell the orders this worker owns."""

    recheck_held: Callable[[], Awaitable[int]]  # Peoplevox knows more items: held orders may go
    system_answering: Callable[[Target], Awaitable[int]]  # a system answers again: what it missed may go
    waiting_for: Callable[[Target], int]  # how many orders wait for a system to answer again


async def probe(heals: Heals, target: Target, ping: Callable[[], Awaitable[None]]) -> int:
    """Orders wait for a system that stopped answering; with no other order to show it back, ask it. Answers
    how many orders were told it answers again."""
    if not heals.waiting_for(target):
        return 0
    try:
        await ping()
    except ConnectorError as error:
        log.info("%s still does not answer (%s)", target.value, error.reason)
        return 0
    return await heals.system_answering(target)


def register(ctx: Context, reference: Callable[[], Any], policy: Policy,
             refresh_item_codes: Callable[[], Awaitable[None]] | None = None) -> Heals:
    """Registers the agent; returns how the worker asks its orders to heal."""
    app, codec, metrics = ctx.app, ctx.codec, ctx.metrics
    table = app.Table("order-state", default=None, key_type=bytes, value_type=bytes,
                      partitions=ctx.settings.topic_partitions, options={"driver": "rocksdict"})
    order_inputs = ctx.topic(topics.ORDER_INPUTS)
    reads = ctx.topic(topics.SHOPIFY_READS)
    peoplevox_reads = ctx.topic(topics.PEOPLEVOX_READS)
    lookups = ctx.topic(topics.SHOPIFY_LOOKUPS)
    exceptions = ctx.topic(topics.EXCEPTIONS)
    wakes: dict[str, int] = {}
    mismatched: dict[str, set[str]] = {}
    metrics.watch_mismatches(mismatched)
    unhealthy: dict[str, OrderHealth] = {}
    metrics.order_gauges.watch(unhealthy)
    waiting: dict[Target, set[str]] = {target: set() for target in Target}

    def track(order_id: str, state: OrderState | None) -> None:
        """Keep the live views the gauges read: mismatch reasons, and where the order stands."""
        reasons = mismatch_reasons(state) if state is not None else set()
        if reasons:
            mismatched[order_id] = reasons
        else:
            mismatched.pop(order_id, None)
        health = order_health(state) if state is not None else OrderHealth()
        if health.healthy:
            unhealthy.pop(order_id, None)
        else:
            unhealthy[order_id] = health
        for target, orders in waiting.items():
            if state is not None and actions.waiting_for_system(state, target):
                orders.add(order_id)
            else:
                orders.discard(order_id)

    def load(order_id: str) -> OrderState:
        raw = table.get(order_id.encode())
        return OrderState.model_validate_json(raw) if raw else OrderState(order_id=order_id)

    async def apply(order_id: str, decision: Decision) -> None:
        key = order_id.encode()
        if decision.forget:
            table.pop(key, None)
            wakes.pop(order_id, None)
            track(order_id, None)
            return
        table[key] = decision.state.model_dump_json().encode()
        now = now_ms()
        for command in decision.commands:
            target_topic = ctx.topic(topics.COMMANDS_BY_TARGET[command.target.value])
            await target_topic.send(key=key, value=codec.encode(target_topic.get_topic_name(),
                                                                command_record(command, now)))
            metrics.commands_issued.labels(command.target.value, command.kind).inc()
        for exception in decision.exceptions:
            await exceptions.send(key=key, value=codec.encode(topics.EXCEPTIONS, exception_record(exception)))
            metrics.exceptions.labels(exception.type, exception.owner.value, exception.state).inc()
        if decision.fetch:
            await reads.send(key=key, value=inputs.encode(FetchOrder(order_id=order_id, requested_at=now)))
        if decision.read_sales_order is not None:
            await peoplevox_reads.send(key=key, value=inputs.encode(ReadSalesOrder(number=decision.read_sales_order)))
        for notice in decision.notices:
            if notice.to_order_id is not None:
                await order_inputs.send(key=notice.to_order_id.encode(),
                                        value=inputs.encode(NoticeIn(message=notice.message)))
            else:
                await lookups.send(key=key, value=inputs.encode(ResolveOrder(ref=notice.to_order_ref,
                                                                           from_order_id=order_id,
                                                                           message=notice.message)))
        wake = engine.keep_wake(wakes.get(order_id), decision.wake_at)
        if wake is not None:
            wakes[order_id] = wake
        track(order_id, decision.state)

    def parse(source: str, value: bytes) -> Any:
        if source == topics.ORDERS_EVENTS:
            event = codec.decode(source, value)
            return OrderEventIn(event_id=event["event_id"], event_type=event["event_type"])
        if source == topics.COMMANDS_RESULTS:
            return result_from_record(codec.decode(source, value))
        return inputs.decode(value)

    channel = app.topic(topics.ORDERS_EVENTS, topics.COMMANDS_RESULTS, topics.ORDER_INPUTS, key_type=bytes,
                        value_type=bytes, key_serializer="raw", value_serializer="raw")

    @app.agent(channel, name="order_state")
    async def order_state(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            message = event.message
            started = time.monotonic()
            try:
                order_id = message.key.decode()
                parsed = parse(message.topic, message.value)
                if refresh_item_codes is not None and isinstance(parsed, PersonAction) and parsed.action == "retry":
                    await refresh_item_codes()  # the fix may be an item just added to Peoplevox
                decision = engine.step(load(order_id), parsed, policy, reference(), now_ms())
            except Exception as error:
                await ctx.dead_letter(message, "undecidable_input", str(error) or repr(error))
                continue
            if decision is not None:
                await apply(order_id, decision)
            if isinstance(parsed, Swept):
                metrics.shopify_sweep_orders.labels("current" if decision is None else "behind").inc()
            answered = actions.answering(parsed)
            if answered is not None and waiting[answered]:
                await system_answering(answered)
            metrics.decision_seconds.observe(time.monotonic() - started)

    @app.timer(0.25)
    async def fire_due_wakes() -> None:
        now = now_ms()
        for order_id, due in list(wakes.items()):
            if due <= now and wakes.get(order_id) == due:
                del wakes[order_id]
                await order_inputs.send(key=order_id.encode(), value=inputs.encode(Tick()))

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]  # faust types receivers as (sender, *args, signal=...)
    async def heal(sender: Any, **_: Any) -> None:
        # Local table rows are exactly the orders this worker now owns: the gauges start again from them.
        healed = 0
        mismatched.clear()
        unhealthy.clear()
        for orders in waiting.values():
            orders.clear()
        for key, raw in list(table.items()):
            if not raw:
                continue
            state = OrderState.model_validate_json(raw)
            track(key.decode(), state)
            if engine.needs_heal(state):
                await order_inputs.send(key=key, value=inputs.encode(Heal()))
                healed += 1
        if healed:
            log.info("healing %d orders with outstanding work after rebalance", healed)

    async def recheck_held() -> int:
        catalogue = reference().catalogue
        held = [key for key, raw in list(table.items())
                if raw and actions.unknown_skus_now_known(OrderState.model_validate_json(raw), catalogue)]
        for key in held:
            await order_inputs.send(key=key, value=inputs.encode(Recheck()))
        return len(held)

    async def system_answering(target: Target) -> int:
        # Each once: an order is indexed again only if its next decision leaves it waiting.
        orders, waiting[target] = waiting[target], set()
        for order_id in sorted(orders):
            await order_inputs.send(key=order_id.encode(), value=inputs.encode(SystemAnswering(target=target)))
        if orders:
            log.info("%s answers again: %d orders send what it missed", target.value, len(orders))
        return len(orders)

    return Heals(recheck_held, system_answering, lambda target: len(waiting[target]))

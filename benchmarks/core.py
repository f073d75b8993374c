"""The pure core: decisions per second of ``engine.step()``, and how big an order's stored state is.

**Decisions.** N orders each live a realistic life, interleaved as a busy
partition sees them: the create webhook (15 % delivered twice), the debounce
tick that reconciles, a sink result per command, Peoplevox's ``New`` status, an
``orders/edited`` hint, the tick that asks for a read, the read's snapshot (a
quantity changed, a line added), the results; 30 % then get a refund (hint,
tick, snapshot, results), and 5 % an edit after picking started (``Picking``
status, hint, tick, snapshot: an ``EDIT_AFTER_PICK`` exception). Each input is
handled as the order-state agent handles it: the row loaded from its JSON,
``step()``, the new state dumped back (``streams/agents/order_state.py``); step
and load/store are timed apart.

**State size.** The table's value is ``OrderState.model_dump_json()`` as bytes
(order_state.py ``apply``). A 2-line order and the 40-line order of the tests
(``sandboxes/testkit/shopify_big_order.py``: bundles, 10 edits, 6 refunds, two locations)
are built in the Shopify sandbox, read back through editsync's own connector
over loopback HTTP, and taken through the engine until every system
acknowledged them; sizes are measured then, and at their largest on the way.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from connectors.shopify import ShopifyAdmin
from sandboxes.stack import SKU_OVERRIDES, SandboxStack
from sandboxes.testkit.core_builders import REFERENCE, line, order
from sandboxes.testkit.shopify_big_order import BigOrder, add_second_location, build, stock_parts
from streams.core.engine import Decision, Policy, step
from streams.core.inputs import FetchedSnapshot, OrderEventIn, PeoplevoxStatus, ResultIn, Tick
from streams.core.model import OrderSnapshot, Refund, RefundLine, Transaction
from streams.core.reference import Catalogue, Reference
from streams.core.state import OrderState
from streams.ingress.normalise import EVENT_TYPES

POLICY = Policy()
SKUS = ("TEE-S", "TEE-M", "TEE-L", "MUG", "SOCK", "CAP", "SHOPIFY-CAP", "GIFT-BOX")  # an override and a bundle

#: An order's inputs and the decisions that answer them: yields (kind, input, now), is sent the decision.
Life = Generator[tuple[str, Any, int], Decision | None, None]


def _answered(decision: Decision | None, now: int) -> Life:
    """A sink result for every command, and for the commands those results bring, until none is left."""
    pending = list(decision.commands) if decision else []
    while pending:
        now += 40  # a sink round trip
        answer = yield "result", ResultIn(command=pending.pop(0), outcome="APPLIED"), now
        pending.extend(answer.commands if answer else ())
    return now


def _read(snapshot: OrderSnapshot, event_type: str, event_id: str, now: int) -> Life:
    """A partial webhook (a hint), the debounce tick that asks for a read, the read's answer, the results."""
    yield "event", OrderEventIn(event_id=event_id, event_type=event_type), now
    now += POLICY.debounce_ms
    yield "tick", Tick(), now
    now += 300  # the Shopify read
    decision = yield "snapshot", FetchedSnapshot(snapshot=snapshot), now
    return (yield from _answered(decision, now))


def order_life(order_id: str, rng: random.Random, now: int) -> Life:
    lines = tuple(line(str(n), sku, rng.randint(1, 3)) for n, sku in enumerate(rng.sample(SKUS, rng.randint(1, 4)), 1))
    created = order(order_id, version=now, lines=lines, created_at=now)
    event = OrderEventIn(event_id=f"{order_id}-create", event_type="ORDER_CREATED", snapshot=created)
    yield "event", event, now
    if rng.random() < 0.15:
        yield "event", event, now + 5  # Shopify delivered it twice
    now += POLICY.debounce_ms
    decision = yield "tick", Tick(), now
    now = yield from _answered(decision, now)
    now += 1_000
    yield "status", PeoplevoxStatus(status="New", at=now), now

    first = lines[0]
    grown = first.model_copy(update={"quantity": first.quantity + 1, "sold_quantity": first.quantity + 1})
    edited_lines = (grown, *lines[1:], line(str(len(lines) + 1), "SOCK", 1, price="8.00", original=0))
    now += 60_000
    edited = _repriced(created.model_copy(update={"version": now, "lines": edited_lines}))
    now = yield from _read(edited, "ORDER_EDITED", f"{order_id}-edit", now)

    latest = edited
    if rng.random() < 0.30:
        now += 60_000
        latest = _refund_last_line(edited, now)
        now = yield from _read(latest, "REFUND_CREATED", f"{order_id}-refund", now)
    if rng.random() < 0.05:
        now += 60_000
        yield "status", PeoplevoxStatus(status="Picking", at=now), now
        now += 1_000
        fewer = latest.lines[0].model_copy(update={"quantity": latest.lines[0].quantity - 1})
        late = latest.model_copy(update={"version": now, "lines": (fewer, *latest.lines[1:])})
        yield from _read(_repriced(late), "ORDER_EDITED", f"{order_id}-late-edit", now)


def _repriced(snapshot: OrderSnapshot) -> OrderSnapshot:
    total = sum((li.unit_price * li.quantity for li in snapshot.lines), Decimal(0))
    return snapshot.model_copy(update={"total": total})


def _refund_last_line(snapshot: OrderSnapshot, now: int) -> OrderSnapshot:
    last = snapshot.lines[-1]
    amount = last.unit_price * last.quantity
    refund = Refund(refund_id=f"r-{snapshot.order_id}", amount=amount,
                    lines=(RefundLine(line_id=last.line_id, quantity=last.quantity, restock_type="CANCEL",
                                      location_id="loc-1"),))
    lines = (*snapshot.lines[:-1], last.model_copy(update={"quantity": 0, "restocked_quantity": last.quantity}))
    transactions = (*snapshot.transactions, Transaction(transaction_id=f"t-r-{snapshot.order_id}", kind="REFUND",
                                                        status="SUCCESS", amount=amount))
    return snapshot.model_copy(update={"version": now, "lines": lines, "refunds": (refund,),
                                       "transactions": transactions, "total": snapshot.total - amount})


def decisions(orders: int, seed: int = 1) -> dict[str, Any]:
    """Every order's life, one input of each order in turn, through load → step → store as the agent does."""
    rng = random.Random(seed)
    start = 1_800_000_000_000
    table: dict[str, bytes] = {}
    lives: dict[str, Life] = {}
    pending: dict[str, tuple[str, Any, int]] = {}
    for n in range(orders):
        order_id = str(5_000_000_000 + n)
        lives[order_id] = order_life(order_id, rng, start + n * 10)
        pending[order_id] = next(lives[order_id])
    by_kind: Counter[str] = Counter()
    step_s: Counter[str] = Counter()
    load_s = store_s = 0.0
    nothing_to_do = 0
    commands: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    while pending:
        for order_id in list(pending):
            kind, message, now = pending[order_id]
            t0 = time.perf_counter()
            raw = table.get(order_id)
            state = OrderState.model_validate_json(raw) if raw else OrderState(order_id=order_id)
            t1 = time.perf_counter()
            decision = step(state, message, POLICY, REFERENCE, now)
            t2 = time.perf_counter()
            if decision is not None:
                table[order_id] = decision.state.model_dump_json().encode()
            t3 = time.perf_counter()
            load_s, store_s = load_s + (t1 - t0), store_s + (t3 - t2)
            step_s[kind] += t2 - t1
            by_kind[kind] += 1
            if decision is None:
                nothing_to_do += 1
            else:
                commands.update(f"{c.target.value} {c.kind}" for c in decision.commands)
                exceptions.update(e.type for e in decision.exceptions)
            try:
                pending[order_id] = lives[order_id].send(decision)
            except StopIteration:
                del pending[order_id]
    total = sum(by_kind.values())
    stepping = sum(step_s.values())
    states = [OrderState.model_validate_json(raw) for raw in table.values()]
    return {
        "orders": orders,
        "inputs": total,
        "inputs_by_kind": dict(sorted(by_kind.items())),
        "nothing_to_do": nothing_to_do,
        "step_seconds": round(stepping, 3),
        "decisions_per_second": round(total / stepping, 1),
        "step_microseconds_by_kind": {k: round(step_s[k] / by_kind[k] * 1e6, 1) for k in sorted(by_kind)},
        "load_store_seconds": round(load_s + store_s, 3),
        "inputs_per_second_with_load_store": round(total / (stepping + load_s + store_s), 1),
        "commands": dict(sorted(commands.items())),
        "exceptions": dict(sorted(exceptions.items())),
        # What the lives should have led to: every order's commands answered, its sales order known.
        "orders_settled": sum(1 for s in states if not s.in_flight and s.peoplevox_sales_order is not None),
        "table_bytes_mean": round(sum(map(len, table.values())) / len(table)),
    }


# --- state size of one order, read the production way -------------------------------------------


def _stored(state: OrderState) -> int:
    return len(state.model_dump_json().encode())


def _settle_one(snapshot: OrderSnapshot, events: list[str], reference: Reference) -> dict[str, int]:
    """The order's webhooks, the read, every result, Peoplevox's status: the row's size settled and at its largest."""
    state = OrderState(order_id=snapshot.order_id)
    now = snapshot.version
    largest = 0

    def take(message: Any) -> Decision | None:
        nonlocal state, largest
        decision = step(state, message, POLICY, reference, now)
        if decision is not None:
            state = decision.state
            largest = max(largest, _stored(state))
        return decision

    for topic in events:  # event ids as Shopify's X-Shopify-Event-Id: a UUID each
        take(OrderEventIn(event_id=str(uuid.uuid4()), event_type=EVENT_TYPES[topic]))
    now += POLICY.debounce_ms
    take(Tick())
    pending = list(take(FetchedSnapshot(snapshot=snapshot)).commands)
    while pending:
        pending.extend(take(ResultIn(command=pending.pop(0), outcome="APPLIED")).commands)
    take(PeoplevoxStatus(status="New", at=now))
    if state.in_flight or state.peoplevox_sales_order is None or state.exceptions:
        raise RuntimeError(f"order {snapshot.order_id} did not settle: {state.in_flight=} {state.exceptions=}")
    return {"lines": len(snapshot.lines), "refunds": len(snapshot.refunds), "webhooks": len(events),
            "stored_bytes": _stored(state), "largest_bytes": largest}


@contextmanager
def merchant_with_big_order() -> Iterator[tuple[SandboxStack, BigOrder, list[tuple[int, str]]]]:
    """The sandboxes, with the tests' 40-line order placed, edited and refunded; each webhook the shop raised
    is listed as (order id, topic) instead of delivered."""
    with SandboxStack("http://127.0.0.1:9/unused", b"unused", pick_delay_s=(3600, 3600), seed=3) as stack:
        shop = stack.shop
        shop.listeners.clear()
        events: list[tuple[int, str]] = []
        shop.listeners.append(lambda topic, change: events.append((change["order"].id, topic)))
        parts = stock_parts(shop)
        main = next(iter(shop.locations))
        big = build(shop, parts, stack.merchant["variants"]["GIFT-BOX"], main, add_second_location(shop))
        yield stack, big, events


def state_sizes() -> dict[str, Any]:
    with merchant_with_big_order() as (stack, big, events):
        variants = stack.merchant["variants"]
        small = stack.shop.create_order([(variants["TEE-M"], 1), (variants["MUG"], 2)],
                                        address={"name": "Ann Smith", "address1": "1 High Street", "city": "Leeds"})
        with stack.warehouse.lock:
            stack.warehouse.item_types.update({p.sku: p.title for p in big.parts})
            codes = frozenset(stack.warehouse.item_types)
        reference = Reference(Catalogue(codes, SKU_OVERRIDES))

        async def read(order_id: int) -> OrderSnapshot:
            admin = ShopifyAdmin(stack.shopify_url, stack.credentials.shopify_token)
            try:
                snapshot = await admin.fetch_order(str(order_id))
            finally:
                await admin.aclose()
            assert snapshot is not None
            return snapshot

        sizes = {}
        for name, placed in (("2_line_order", small), ("40_line_order", big.order)):
            snapshot = asyncio.run(read(placed.id))
            sizes[name] = _settle_one(snapshot, [t for oid, t in events if oid == placed.id], reference)
        return sizes

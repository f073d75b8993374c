"""Drives the pure engine against simulated downstream systems, with no Kafka and no HTTP.

The simulated systems follow the rules the real ones enforce (and the sinks
will check): Peoplevox refuses changes past the cut-off and never removes a
line in an update; Shopify's inventory ignores a repeated idempotency key;
the ERP upserts sales orders by external id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from streams.core import engine
from streams.core.commands import Command, CreateReturn, RecordPayment, UpsertSalesOrder
from streams.core.engine import Decision, Policy
from streams.core.inputs import (
    Notice,
    OrderEventIn,
    PeoplevoxStatus,
    PredecessorAnswer,
    ResultIn,
    SuccessorLinked,
)
from streams.core.model import OrderException, OrderSnapshot, Target
from streams.core.peoplevox import PICK_CYCLE
from streams.core.reference import Reference
from streams.core.state import OrderState


@dataclass
class Warehouse:
    cutoff: str = "Picking"
    orders: dict[str, dict] = field(default_factory=dict)  # sales order number -> record
    returns: set[str] = field(default_factory=set)

    def live(self) -> list[dict]:
        return [so for so in self.orders.values() if not so["cancelled"]]

    def past_cutoff(self, number: str) -> str | None:
        status = self.orders[number]["status"]
        return status if PICK_CYCLE.index(status) >= PICK_CYCLE.index(self.cutoff) else None

    def apply(self, command: Command) -> ResultIn:
        payload = command.payload
        if isinstance(payload, CreateReturn):
            self.returns.add(payload.refund_id)
            return ResultIn(command=command, outcome="APPLIED")
        wanted = payload.sales_order.model_dump(mode="json")
        number = wanted["number"]
        touched = payload.replaces or number
        if touched in self.orders and command.kind != "create_sales_order":
            status = self.past_cutoff(touched)
            if status:
                return ResultIn(command=command, outcome="REJECTED_CUTOFF", detail={"status": status})
        if command.kind == "update_sales_order":
            existing = self.orders[number]
            assert set(dict(existing["lines"])) <= set(dict(map(tuple, wanted["lines"]))), "an update removed a line"
        if payload.replaces is not None:
            self.orders[payload.replaces]["cancelled"] = True
        status = self.orders.get(number, {}).get("status", "New")
        self.orders[number] = {"lines": [tuple(line) for line in wanted["lines"]], "address": wanted["address"],
                               "gift_message": wanted["gift_message"], "cancelled": wanted["cancelled"],
                               "status": status}
        return ResultIn(command=command, outcome="APPLIED", detail={"status": status})


@dataclass
class Stock:
    levels: dict[str, int] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)

    def apply(self, command: Command) -> ResultIn:
        if command.idempotency_key not in self.keys:  # @idempotent: a repeated key changes nothing
            self.keys.add(command.idempotency_key)
            key = command.payload.stock_key
            self.levels[key] = self.levels.get(key, 0) + command.payload.delta
        return ResultIn(command=command, outcome="APPLIED")


@dataclass
class Erp:
    sales_orders: dict[str, dict] = field(default_factory=dict)
    payments: dict[str, Decimal] = field(default_factory=dict)
    credit_memos: dict[str, Decimal] = field(default_factory=dict)
    upserts: int = 0

    def apply(self, command: Command) -> ResultIn:
        payload = command.payload
        if isinstance(payload, UpsertSalesOrder):
            self.upserts += 1
            self.sales_orders[payload.sales_order.external_id] = payload.sales_order.model_dump(mode="json")
        elif isinstance(payload, RecordPayment):
            assert payload.external_id in self.sales_orders
            self.payments[payload.transaction_id] = payload.amount
        else:
            assert payload.external_id in self.sales_orders
            self.credit_memos[payload.refund_id] = payload.amount
        return ResultIn(command=command, outcome="APPLIED")


@dataclass
class Harness:
    reference: Reference = field(default_factory=Reference)
    policy: Policy = field(default_factory=Policy)
    shop: dict[str, OrderSnapshot] = field(default_factory=dict)  # what Shopify's Admin API answers now
    now: int = 1_000_000
    states: dict[str, OrderState] = field(default_factory=dict)
    warehouse: Warehouse = field(default_factory=Warehouse)
    stock: Stock = field(default_factory=Stock)
    erp: Erp = field(default_factory=Erp)
    sent: list[Command] = field(default_factory=list)
    exceptions: list[OrderException] = field(default_factory=list)
    fetches: int = 0
    outbox: list[Command] = field(default_factory=list)
    wakes: dict[str, int] = field(default_factory=dict)
    pending_fetches: set[str] = field(default_factory=set)
    fail_next: dict[Target, str] = field(default_factory=dict)
    results: list[ResultIn] = field(default_factory=list)
    lose_lookups: int = 0  # order-name lookups that fail, as a throttled Admin API read can

    def state(self, order_id: str) -> OrderState:
        return self.states.setdefault(order_id, OrderState(order_id=order_id))

    def _take(self, order_id: str, decision: Decision) -> None:
        self.states[order_id] = decision.state
        self.sent.extend(decision.commands)
        self.outbox.extend(decision.commands)
        self.exceptions.extend(decision.exceptions)
        if decision.fetch:
            self.pending_fetches.add(order_id)
        if decision.wake_at is not None:
            self.wakes[order_id] = decision.wake_at
        for notice in decision.notices:
            self._route(notice)

    def _route(self, notice: Notice) -> None:
        if notice.to_order_ref is not None and self.lose_lookups:
            self.lose_lookups -= 1
            return
        target = notice.to_order_id or next(
            (oid for oid, snap in self.shop.items() if snap.name == notice.to_order_ref or oid == notice.to_order_ref),
            None)
        message = notice.message
        if target is None:  # the original is unknown to Shopify: nothing of it can be in the warehouse
            assert isinstance(message, SuccessorLinked)
            answer = PredecessorAnswer(predecessor_id=None, released=True, reason="original not found")
            self._take(message.successor_id, engine.on_predecessor_answer(
                self.state(message.successor_id), answer, self.policy, self.reference, self.now))
        elif isinstance(message, SuccessorLinked):
            self._take(target, engine.on_successor_linked(self.state(target), message, self.policy,
                                                          self.reference, self.now))
        else:
            self._take(target, engine.on_predecessor_answer(self.state(target), message, self.policy,
                                                            self.reference, self.now))

    # inputs
    def event(self, order_id: str, event: OrderEventIn) -> None:
        self._take(order_id, engine.on_event(self.state(order_id), event, self.policy, self.now))

    def webhook(self, snapshot: OrderSnapshot, event_type: str = "ORDER_UPDATED", complete: bool = True,
                event_id: str | None = None) -> None:
        """Shopify changed the order: the store now says ``snapshot``, and a webhook goes out."""
        current = self.shop.get(snapshot.order_id)
        if current is None or snapshot.version >= current.version:
            self.shop[snapshot.order_id] = snapshot
        self.event(snapshot.order_id, OrderEventIn(
            event_id=event_id or f"{event_type}:{snapshot.order_id}:{snapshot.version}", event_type=event_type,
            snapshot=snapshot if complete else None))

    def peoplevox_status(self, order_id: str, status: str) -> None:
        number = self.state(order_id).peoplevox_sales_order.number
        self.warehouse.orders[number]["status"] = status
        self.now += 1
        status_in = PeoplevoxStatus(status=status, at=self.now)
        self._take(order_id, engine.on_peoplevox_status(self.state(order_id), status_in, self.policy, self.reference,
                                                        self.now))

    def advance(self, ms: int) -> None:
        self.now += ms
        for order_id, due in sorted(self.wakes.items()):
            if due <= self.now:
                del self.wakes[order_id]
                self._take(order_id, engine.on_timer(self.state(order_id), self.policy, self.reference, self.now))
        for order_id in sorted(self.pending_fetches):
            self.pending_fetches.discard(order_id)
            self.fetches += 1
            self._take(order_id, engine.on_snapshot(self.state(order_id), self.shop[order_id], self.policy,
                                                    self.reference, self.now))

    def deliver(self, limit: int = 200) -> None:
        """Run every queued command through its system and feed the results back."""
        for _ in range(limit):
            if not self.outbox:
                return
            command = self.outbox.pop(0)
            failure = self.fail_next.pop(command.target, None)
            if failure:
                result = ResultIn(command=command, outcome="FAILED", reason=failure)
            else:
                system = {Target.PEOPLEVOX: self.warehouse, Target.INVENTORY: self.stock, Target.ERP: self.erp}
                result = system[command.target].apply(command)
            self.results.append(result)
            self._take(command.order_id, engine.on_result(self.state(command.order_id), result, self.policy,
                                                          self.reference, self.now))
        if self.outbox:
            raise AssertionError(f"commands still coming after {limit} deliveries: the engine does not converge")

    def redeliver_results(self) -> None:
        """Every result again, as a sink re-executing a redelivered command would publish it."""
        for result in list(self.results):
            self._take(result.command.order_id, engine.on_result(self.state(result.command.order_id), result,
                                                                 self.policy, self.reference, self.now))
        self.deliver()

    def settle(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            self.advance(self.policy.debounce_ms + 1)
            self.deliver()
            if not (self.wakes or self.pending_fetches or self.outbox):
                return
        raise AssertionError("did not settle")

    def open_exceptions(self, order_id: str) -> dict[str, OrderException]:
        return {exception.type: exception for exception in self.state(order_id).exceptions.values()}

"""Drives the pure engine and the sinks' real executors against in-memory systems, with no Kafka and no HTTP.

The systems are the fakes in ``tests/fakes/``, behind the same protocols as the
real clients, so a command runs here exactly as a sink runs it. Results and
exceptions cross the real Avro wire as they do between the sinks, the order
agent and the inbox, and must come back equal: a detail the wire loses fails
every scenario that raises it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.downstream import Downstream
from connectors.errors import PermanentError
from streams.core import engine
from streams.core.commands import Command
from streams.core.details import OrderException, Outcome, ResultDetail
from streams.core.engine import Decision, Policy
from streams.core.inputs import (
    Notice,
    OrderEventIn,
    PeoplevoxStatus,
    PredecessorAnswer,
    ResultIn,
    SuccessorLinked,
)
from streams.core.model import Despatch, OrderSnapshot, Target
from streams.core.peoplevox import CutOff
from streams.core.reference import Reference
from streams.core.state import OrderState
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.records import exception_from_record, exception_record, result_from_record, result_record
from streams.sinks.executors import Answer, execute
from tests.fakes import run_now
from tests.fakes.erp import FakeErp
from tests.fakes.peoplevox import FakeWarehouse
from tests.fakes.shopify import FakeShop

CODEC = AvroCodec()


def _over_the_wire(topic: str, record: dict) -> dict:
    return CODEC.decode(topic, CODEC.encode(topic, record))


def result_over_the_wire(result: ResultIn) -> ResultIn:
    record = result_record(result.command, result.outcome, result.reason, result.detail, 1, result.completed_at)
    received = result_from_record(_over_the_wire(topics.COMMANDS_RESULTS, record))
    assert received == result, f"the wire changed a result:\n{result!r}\n{received!r}"
    return received


def exception_over_the_wire(exception: OrderException) -> OrderException:
    received = exception_from_record(_over_the_wire(topics.EXCEPTIONS, exception_record(exception)))
    assert received == exception, f"the wire changed an exception:\n{exception!r}\n{received!r}"
    return received


@dataclass
class Harness:
    reference: Reference = field(default_factory=Reference)
    policy: Policy = field(default_factory=Policy)
    now: int = 1_000_000
    states: dict[str, OrderState] = field(default_factory=dict)
    shopify: FakeShop = field(default_factory=FakeShop)  # orders as they are now, and stock levels
    warehouse: FakeWarehouse = field(default_factory=FakeWarehouse)
    erp: FakeErp = field(default_factory=FakeErp)
    sent: list[Command] = field(default_factory=list)
    exceptions: list[OrderException] = field(default_factory=list)
    fetches: int = 0
    outbox: list[Command] = field(default_factory=list)
    wakes: dict[str, int] = field(default_factory=dict)
    pending_fetches: set[str] = field(default_factory=set)
    fail_next: dict[Target, str] = field(default_factory=dict)  # the system does not answer: the sink gives up
    refuse_next: dict[Target, str] = field(default_factory=dict)  # the system refuses the next command
    results: list[ResultIn] = field(default_factory=list)
    lose_lookups: int = 0  # order-name lookups that fail, as a throttled Admin API read can

    @property
    def shop(self) -> dict[str, OrderSnapshot]:
        """What Shopify's Admin API answers now."""
        return self.shopify.orders

    def state(self, order_id: str) -> OrderState:
        return self.states.setdefault(order_id, OrderState(order_id=order_id))

    def _take(self, order_id: str, decision: Decision) -> None:
        self.states[order_id] = decision.state
        self.sent.extend(decision.commands)
        self.outbox.extend(decision.commands)
        self.exceptions.extend(exception_over_the_wire(exception) for exception in decision.exceptions)
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
        target = notice.to_order_id or run_now(self.shopify.find_order_id(notice.to_order_ref or ""))
        message = notice.message
        if target is None:  # as streams/agents/shopify_reads.py answers a name Shopify does not know
            assert isinstance(message, SuccessorLinked)
            answer = PredecessorAnswer(predecessor_id=None, released=False,
                                       reason=f"{notice.to_order_ref} is not an order of this shop")
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

    def peoplevox_status(self, order_id: str, status: str, despatches: tuple[Despatch, ...] = ()) -> None:
        number = self.state(order_id).peoplevox_sales_order.number
        self.warehouse.orders[number]["status"] = status
        self.now += 1
        status_in = PeoplevoxStatus(status=status, at=self.now, despatches=despatches)
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
            snapshot = run_now(self.shopify.fetch_order(order_id))
            if snapshot is not None:
                self._take(order_id, engine.on_snapshot(self.state(order_id), snapshot, self.policy, self.reference,
                                                        self.now))

    def deliver(self, limit: int = 200) -> None:
        """Run every queued command through its system and feed the results back."""
        for _ in range(limit):
            if not self.outbox:
                return
            command = self.outbox.pop(0)
            failure = self.fail_next.pop(command.target, None)
            refusal = self.refuse_next.pop(command.target, None)
            if failure:
                result = ResultIn(command=command, outcome="FAILED", reason=failure, detail=ResultDetail(gave_up=True))
            elif refusal:
                result = ResultIn(command=command, outcome="FAILED", reason=refusal, detail=ResultDetail(http_status=400))
            else:
                result = self.execute(command)
            result = result_over_the_wire(result.model_copy(update={"completed_at": self.now}))
            self.results.append(result)
            self._take(command.order_id, engine.on_result(self.state(command.order_id), result, self.policy,
                                                          self.reference, self.now))
        if self.outbox:
            raise AssertionError(f"commands still coming after {limit} deliveries: the engine does not converge")

    def execute(self, command: Command) -> ResultIn:
        """As a sink runs it: the real executor against the fakes; a refusal becomes a FAILED result."""
        systems = Downstream(shopify=self.shopify, peoplevox=self.warehouse, erp=self.erp, cutoff=CutOff())
        try:
            outcome = run_now(execute(systems, command))
        except PermanentError as error:
            outcome = Answer(Outcome.FAILED, error.reason, error.detail)
        return ResultIn(command=command, outcome=outcome.outcome, reason=outcome.reason, detail=outcome.detail)

    def redeliver_results(self) -> None:
        """Every result again, as a sink re-executing a redelivered command would publish it."""
        for result in list(self.results):
            self._take(result.command.order_id, engine.on_result(self.state(result.command.order_id), result,
                                                                 self.policy, self.reference, self.now))
        self.deliver()

    def settle(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            # Straight to the next timer: re-asks back off to minutes.
            next_wake = min(self.wakes.values(), default=self.now) - self.now
            self.advance(max(self.policy.debounce_ms + 1, next_wake))
            self.deliver()
            if not (self.wakes or self.pending_fetches or self.outbox):
                return
        raise AssertionError("did not settle")

    def open_exceptions(self, order_id: str) -> dict[str, OrderException]:
        return {exception.type: exception for exception in self.state(order_id).exceptions.values()}

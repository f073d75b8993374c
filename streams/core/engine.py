"""The order-state engine: one input and the order's state in, the new state and effects out.

Level-triggered: every reconcile compares what Shopify says the order is now
(``state.snapshot``) with what each system acknowledged, and emits only the
commands that close the gap, never one already in flight. Replaying,
duplicating or reordering inputs therefore converges on the same end state.
``reconcile`` is the one place that asks every target's planner
(:mod:`~streams.core.peoplevox`, :mod:`~streams.core.inventory`,
:mod:`~streams.core.money`) and settles the exceptions
(:mod:`~streams.core.exceptions`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from streams.core import (
    actions,
    edit_lock,
    fulfillment,
    fulfillment_orders,
    holds,
    inventory,
    money,
    peoplevox,
    release,
)
from streams.core.commands import (
    Command,
    CreateFulfillment,
    CreateSalesOrder,
    PeoplevoxPayload,
    ReplaceSalesOrder,
    SalesOrderChange,
    TagsChange,
)
from streams.core.details import ExceptionType, OrderException, Outcome, ReadDeniedDetail, Severity
from streams.core.exceptions import (
    Wanted,
    failure_exception,
    read_denied_id,
    resolved_by_editsync,
    settle,
    settle_retried,
)
from streams.core.inputs import (
    FetchedSnapshot,
    Heal,
    Notice,
    NoticeIn,
    OrderEventIn,
    OrderInput,
    OrderMissing,
    PeoplevoxStatus,
    PersonAction,
    PredecessorAnswer,
    ReadDenied,
    Rebuild,
    Recheck,
    ReleaseNow,
    Replay,
    ResultIn,
    SuccessorLinked,
    Swept,
    SystemAnswering,
    Tick,
)
from streams.core.model import OrderSnapshot, Owner, Target
from streams.core.peoplevox import CutOff
from streams.core.recreate import RecreatePolicy, referenced_order
from streams.core.reference import Reference
from streams.core.state import OrderState


@dataclass(frozen=True)
class Policy:
    debounce_ms: int = 2000
    fetch_timeout_ms: int = 30_000  # the first re-ask; each next one waits twice as long
    max_fetch_timeout_ms: int = 300_000
    hold_bound_ms: int = 300_000  # a wait longer than this becomes an owned exception
    cutoff: CutOff = CutOff()
    lock_tag: str = ""  # the tag that closes the order for edits in Shopify past the cut-off; empty: no lock
    payment_grace_ms: int = 300_000  # how long an edit's balance may stay open before it is finance's
    fulfillment: fulfillment.FulfillmentPolicy = fulfillment.FulfillmentPolicy()
    fulfillment_orders: bool = False  # mirror picking and the edit window on the order's fulfillment orders
    release: release.ReleaseHold = release.ReleaseHold()
    recreate: RecreatePolicy = RecreatePolicy()
    max_seen_events: int = 256


@dataclass(frozen=True)
class Decision:
    state: OrderState
    commands: tuple[Command, ...] = ()
    exceptions: tuple[OrderException, ...] = ()  # opened, changed or resolved by this input
    fetch: bool = False  # read the order from Shopify, then call on_snapshot
    wake_at: int | None = None  # call on_timer at or after this time
    notices: tuple[Notice, ...] = ()
    forget: bool = False  # nothing is known or owed for this order: drop its row
    read_sales_order: str | None = None  # ask Peoplevox again for this sales order's status and despatches


def step(state: OrderState, message: OrderEventIn | ResultIn | OrderInput, policy: Policy, reference: Reference,
         now: int) -> Decision | None:
    """The one entry: any input for an order, then what its waits call for. None: nothing to do."""
    match message:
        case OrderEventIn():
            decision = on_event(state, message, policy, now)
        case Swept():
            if not behind(state, message):
                return None
            decision = _mark_for_read(state, policy, now)
        case ResultIn():
            decision = on_result(state, message, policy, reference, now)
        case Tick():
            decision = on_timer(state, policy, reference, now)
        case FetchedSnapshot(snapshot=snapshot):
            decision = on_snapshot(state, snapshot, policy, reference, now)
        case OrderMissing():
            decision = on_missing(state, policy, now)
        case ReadDenied():
            decision = on_read_denied(state, message, now)
        case PeoplevoxStatus():
            decision = on_peoplevox_status(state, message, policy, reference, now)
        case Heal():
            if not needs_heal(state):
                return None
            decision = on_heal(state, policy, now)
        case Rebuild():
            decision = on_heal(state.model_copy(update={"rebuilt": True, "peoplevox_unknown": True}), policy, now)
        case PersonAction():
            acted = actions.on_action(state, message, now)
            if not acted.exceptions:
                return None  # repeated, or settled meanwhile: leave the order (and its timers) as they are
            decision = Decision(acted.state, exceptions=acted.exceptions,
                                wake_at=now + policy.debounce_ms if acted.reread else None)
        case ReleaseNow():
            released = release.release_now(state)
            if released is None:
                return None  # not held (released already, or never): nothing to do
            decision = reconcile(released, policy, reference, now)
        case Replay():
            decision = on_heal(state, policy, now)
        case SystemAnswering(target=target):
            acted = actions.on_system_answering(state, target, now)
            if not acted.exceptions:
                return None  # nothing of this order waits for that system (or editsync stopped re-sending it)
            decision = reconcile(acted.state, policy, reference, now)
            decision = replace(decision, exceptions=(*acted.exceptions, *decision.exceptions))
        case Recheck():
            if not actions.unknown_skus_now_known(state, reference.catalogue):
                return None
            decision = reconcile(state, policy, reference, now)
        case NoticeIn(message=SuccessorLinked() as linked):
            decision = on_successor_linked(state, linked, policy, reference, now)
        case NoticeIn(message=PredecessorAnswer() as answer):
            decision = on_predecessor_answer(state, answer, policy, reference, now)
        case _:
            raise ValueError(f"{type(message).__name__} is not an order input")
    return decision if decision.forget else _settle_holds(_ask_for_despatches(decision, policy, now), policy, now)


def _ask_for_despatches(decision: Decision, policy: Policy, now: int) -> Decision:
    """A despatch that could not be read is asked for again, backing off like a Shopify read, until it is."""
    state = decision.state
    if state.despatch_unread is None:
        return decision
    due = _next_ask(policy, state.despatch_asked_at, state.despatch_asks, now)
    if now < due:
        return replace(decision, wake_at=keep_wake(decision.wake_at, due))
    asks = state.despatch_asks + 1
    state = state.model_copy(update={"despatch_asked_at": now, "despatch_asks": asks})
    return replace(decision, state=state, read_sales_order=state.despatch_unread,
                   wake_at=keep_wake(decision.wake_at, now + _backoff(policy, asks)))


def _settle_holds(decision: Decision, policy: Policy, now: int) -> Decision:
    """Time every wait; one that outlasted the bound opens its exception, and resolves it when it ends."""
    state = holds.track(decision.state, now)
    wanted = holds.overdue(state, policy.hold_bound_ms, now)
    exceptions, changed = settle(state.exceptions, wanted, now, holds.HOLD_EXCEPTIONS)
    deadline = holds.next_deadline(state, policy.hold_bound_ms, now)
    wake_at = min((t for t in (decision.wake_at, deadline) if t is not None), default=None)
    return replace(decision, state=state.model_copy(update={"exceptions": exceptions}),
                   exceptions=(*decision.exceptions, *changed), wake_at=wake_at)


def keep_wake(pending: int | None, decided: int | None) -> int | None:
    """The wake to keep for an order: the earliest. A later decision's far deadline (a hold's bound) must
    not replace a debounce or fetch wake still due; an early tick costs nothing, it asks for the next one."""
    return min((t for t in (pending, decided) if t is not None), default=None)


def _backoff(policy: Policy, attempts: int) -> int:
    """How long the ``attempts``-th ask waits for its answer before asking again."""
    return min(policy.fetch_timeout_ms << max(attempts - 1, 0), policy.max_fetch_timeout_ms)


def _next_ask(policy: Policy, asked_at: int | None, asks: int, now: int) -> int:
    """When an ask made at ``asked_at`` (never made: now), the ``asks``-th, is due again."""
    return (asked_at or now) + _backoff(policy, asks)


# --- inputs -------------------------------------------------------------------------------


def on_event(state: OrderState, event: OrderEventIn, policy: Policy, now: int) -> Decision:
    """A webhook said the order changed: remember it, and reconcile once the burst is over."""
    if event.event_id in state.seen_event_ids:
        return Decision(state)
    seen = (*state.seen_event_ids, event.event_id)[-policy.max_seen_events:]
    snapshot = event.snapshot
    known = state.snapshot
    if snapshot is not None and known is not None and snapshot.version <= known.version:
        return Decision(state.model_copy(update={"seen_event_ids": seen}))  # stale: nothing new
    state = state.model_copy(update={"seen_event_ids": seen})
    if snapshot is None or (known is None and event.event_type != "ORDER_CREATED"):
        # Partial payload, or ahead of the order's creation: never act on it, read the order.
        return _mark_for_read(state, policy, now)
    return _mark_dirty(state.model_copy(update={"snapshot": snapshot}), policy, now)


def _mark_for_read(state: OrderState, policy: Policy, now: int) -> Decision:
    return _mark_dirty(state.model_copy(update={"needs_fetch": True}), policy, now)


def _mark_dirty(state: OrderState, policy: Policy, now: int) -> Decision:
    """The order changed: reconcile (reading it first if marked) once the burst is over."""
    dirty_since = state.dirty_since if state.dirty_since is not None else now
    return Decision(state.model_copy(update={"last_event_at": now, "dirty_since": dirty_since}),
                    wake_at=dirty_since + policy.debounce_ms)


def behind(state: OrderState, swept: Swept) -> bool:
    """Shopify lists the order as updated at a version editsync has not seen, nor has a read coming that will.

    An order never seen is behind (a missed ``orders/create``). A read already
    due (debounced) or under way since after that update answers with it; one
    that started before it does not, so the order is marked again and that
    answer goes round once more (``_take_snapshot``).
    """
    if state.snapshot is not None and state.snapshot.version >= swept.updated_at:
        return False
    if not state.needs_fetch:
        return True
    if state.fetching_since is not None:
        return state.fetching_since < swept.updated_at
    return state.dirty_since is None  # marked without a timer (a denied read): nothing will read it unasked


def on_timer(state: OrderState, policy: Policy, reference: Reference, now: int) -> Decision:
    if state.dirty_since is None:
        waiting = _awaiting_predecessor(state) or state.release_at is not None or state.balance_since is not None
        return reconcile(state, policy, reference, now) if waiting else Decision(state)
    due = state.dirty_since + policy.debounce_ms
    if now < due:
        return Decision(state, wake_at=due)
    if state.needs_fetch or state.snapshot is None:
        # Re-asks back off, so a burst that outruns Shopify's cost budget does not multiply its own reads.
        waited = _backoff(policy, state.fetch_attempts)
        if state.fetching_since is not None and now - state.fetching_since < waited:
            return Decision(state, wake_at=state.fetching_since + waited)
        attempts = state.fetch_attempts + 1
        return Decision(state.model_copy(update={"fetching_since": now, "fetch_attempts": attempts}), fetch=True,
                        wake_at=now + _backoff(policy, attempts))
    return reconcile(state.model_copy(update={"dirty_since": None}), policy, reference, now)


def on_snapshot(state: OrderState, snapshot: OrderSnapshot, policy: Policy, reference: Reference,
                now: int) -> Decision:
    """The order as Shopify's Admin API returned it (so a read denied earlier is allowed again)."""
    denied = state.exceptions.get(read_denied_id(state.order_id))
    if denied is None:
        return _take_snapshot(state, snapshot, policy, reference, now)
    exceptions = {k: v for k, v in state.exceptions.items() if k != denied.exception_id}
    decision = _take_snapshot(state.model_copy(update={"exceptions": exceptions}), snapshot, policy, reference, now)
    return replace(decision, exceptions=(resolved_by_editsync(denied, now),
                                         *decision.exceptions))


def _take_snapshot(state: OrderState, snapshot: OrderSnapshot, policy: Policy, reference: Reference,
                   now: int) -> Decision:
    current = state.snapshot
    if current is None or snapshot.version >= current.version:
        current = snapshot
    updates: dict = {"snapshot": current, "needs_fetch": False, "dirty_since": None, "fetching_since": None,
                     "fetch_attempts": 0, "read_missing": False, "rebuilt": False}
    fetch_started = state.fetching_since
    if fetch_started is not None and state.last_event_at is not None and state.last_event_at > fetch_started:
        # Events arrived while we were fetching: this answer may predate them, go round again.
        updates.update(needs_fetch=True, dirty_since=state.last_event_at)
        decision = reconcile(state.model_copy(update=updates), policy, reference, now)
        return replace(decision, wake_at=state.last_event_at + policy.debounce_ms)
    return reconcile(state.model_copy(update=updates), policy, reference, now)


def on_read_denied(state: OrderState, denied: ReadDenied, now: int) -> Decision:
    """Shopify refused to show the order: a person must grant access; asking again cannot help until then.

    The order stays marked for a read without a timer, so it is read again on
    its next webhook or on the next start (heal), not on every timeout.
    """
    exception_id = read_denied_id(state.order_id)
    previous = state.exceptions.get(exception_id)
    name = state.snapshot.name if state.snapshot else None
    exception = OrderException(
        exception_id=exception_id, order_id=state.order_id, order_name=name, type=ExceptionType.SHOPIFY_ACCESS_DENIED,
        owner=Owner.OPS, severity=Severity.HIGH,
        summary=f"{name or 'order ' + state.order_id} cannot be read from Shopify: {denied.reason}",
        detail=ReadDeniedDetail(required_access=denied.required_access, reason=denied.reason),
        suggested_action=f"Grant the editsync app {denied.required_access} in Shopify; the order is read again on "
                         "its next change or when editsync restarts.",
        first_seen=previous.first_seen if previous else now, last_seen=now)
    updates = {"needs_fetch": True, "fetching_since": None, "dirty_since": None,
               "exceptions": {**state.exceptions, exception_id: exception}}
    changed = () if previous is not None and previous.same_content(exception) else (exception,)
    return Decision(state.model_copy(update=updates), exceptions=changed)


def on_missing(state: OrderState, policy: Policy, now: int) -> Decision:
    """Shopify has no such order. A rebuilt order nothing is known of belonged to discarded state: forget it.

    Otherwise keep asking (backing off): an order read a moment after its webhook may not be readable yet,
    and one that stays missing is held until the bound turns it into an exception.
    """
    if state.rebuilt and state.snapshot is None and not state.in_flight:
        return Decision(OrderState(order_id=state.order_id), forget=True)
    return Decision(state.model_copy(update={"read_missing": True}),
                    wake_at=(state.fetching_since or now) + _backoff(policy, state.fetch_attempts))


def on_peoplevox_status(state: OrderState, status: PeoplevoxStatus, policy: Policy, reference: Reference,
                        now: int) -> Decision:
    """A status Peoplevox reported (re-read, not taken from a callback on trust).

    Only the live sales order's status counts: a replaced one's "Cancelled" says
    nothing about where the replacement is.
    """
    live = state.peoplevox_sales_order
    if status.at < state.peoplevox_status_at or (status.number and live is not None and status.number != live.number):
        return Decision(state)
    update: dict[str, Any] = {"peoplevox_status": status.status, "peoplevox_status_at": status.at,
                              "peoplevox_status_of": status.number}
    if not status.despatches_unread:
        update.update(despatch_unread=None, despatch_asked_at=None, despatch_asks=0)
    elif state.despatch_unread is None:  # the read that failed was the first ask
        update.update(despatch_unread=status.number or (live.number if live else None), despatch_asked_at=now,
                      despatch_asks=1)
    state = fulfillment.known_despatches(state.model_copy(update=update), status.despatches)
    return reconcile(state, policy, reference, now)


def on_result(state: OrderState, result: ResultIn, policy: Policy, reference: Reference, now: int) -> Decision:
    command = result.command
    if command.command_id in state.acknowledged and command.command_id not in state.in_flight:
        return Decision(state)  # a redelivered result: its effect is already counted
    in_flight = {cid: c for cid, c in state.in_flight.items() if cid != command.command_id}
    state = state.model_copy(update={"in_flight": in_flight})
    if result.outcome is Outcome.APPLIED:
        acknowledged = (*state.acknowledged, command.command_id)[-policy.max_seen_events:]
        state = _seen_status(_acknowledge(state.model_copy(update={"acknowledged": acknowledged}), command),
                             result, now)
        return reconcile(state, policy, reference, now)
    state = _seen_status(state, result, now)
    held = result.detail.held(command.target)
    if held is not None and isinstance(command.payload, PeoplevoxPayload):
        # Peoplevox holds a sales order this order's state did not know (rebuilt): plan from it from now on.
        state = peoplevox.adopt(state, command.payload, held)
    if result.outcome is Outcome.REJECTED_CUTOFF or held is not None:
        # The sink re-read the status and found picking under way: reconcile raises EDIT_AFTER_PICK.
        return reconcile(state, policy, reference, now)
    exception = failure_exception(state, result, now)
    exceptions = {**state.exceptions, exception.exception_id: exception}
    updates: dict[str, Any] = {"failed": state.failed | {command.command_id}, "exceptions": exceptions}
    if isinstance(command.payload, ReplaceSalesOrder) and result.detail.warehouse_holds_nothing:
        updates["peoplevox_cancelled"] = command.payload.replaces  # so its "Cancelled" is no cut-off
    if isinstance(command.payload, CreateSalesOrder) and state.peoplevox_sales_order is None:
        # A create that timed out may have landed: should the order come to ship nothing, Peoplevox is checked.
        updates["peoplevox_unknown"] = True
    failed_state = state.model_copy(update=updates)
    decision = reconcile(failed_state, policy, reference, now)
    return replace(decision, exceptions=(exception, *decision.exceptions))


def _seen_status(state: OrderState, result: ResultIn, now: int) -> OrderState:
    """The status the sink saw when it wrote, for the live sales order, unless a read of that same sales order
    since is newer.

    A replacement cancels the old sales order first: its Cancelled callback, re-read while the replacement was
    being created, is newer than the replacement's answer but says nothing of it; kept, the order looked past
    the cut-off ("changed after the warehouse started (Cancelled)")."""
    status, payload = result.detail.status, result.command.payload
    seen_at = result.completed_at if result.completed_at is not None else now
    live = state.peoplevox_sales_order
    number = result.detail.number or (payload.sales_order.number if isinstance(payload, SalesOrderChange) else None)
    if status is None or (number and live and number != live.number):
        return state
    same_order = number is None or state.peoplevox_status_of in (None, number)
    if seen_at < state.peoplevox_status_at and same_order:
        return state
    return state.model_copy(update={"peoplevox_status": status, "peoplevox_status_at": seen_at,
                                    "peoplevox_status_of": number or state.peoplevox_status_of})


def on_successor_linked(state: OrderState, message: SuccessorLinked, policy: Policy, reference: Reference,
                        now: int) -> Decision:
    """This order was recreated as another: its sales order must go, and only then may the new one ship."""
    # A repeated link means the successor is still waiting: the answer is sent again.
    linked = state.model_copy(update={"successor_id": message.successor_id, "successor_notified": False})
    if state.snapshot is None:
        # Never seen (or state lost): read it before deciding anything.
        return Decision(linked.model_copy(update={"needs_fetch": True, "dirty_since": now}),
                        wake_at=now + policy.debounce_ms)
    return reconcile(linked, policy, reference, now)


def on_predecessor_answer(state: OrderState, message: PredecessorAnswer, policy: Policy, reference: Reference,
                          now: int) -> Decision:
    updates = {"predecessor_released": message.released, "predecessor_blocked": not message.released,
               "predecessor_reason": None if message.released else message.reason}
    return reconcile(state.model_copy(update=updates), policy, reference, now)


def on_heal(state: OrderState, policy: Policy, now: int) -> Decision:
    """After a restart or rebalance: re-verify before sending anything new.

    Commands still in flight are sent again (same ids, so sinks change nothing
    twice and re-check Peoplevox status first), and the order is re-read.
    """
    update = {"needs_fetch": True, "dirty_since": now, "fetching_since": None, "fetch_attempts": 0,
              "predecessor_asked_at": None, "predecessor_asks": 0}
    return Decision(state.model_copy(update=update), commands=tuple(state.in_flight.values()),
                    wake_at=now + policy.debounce_ms)


def needs_heal(state: OrderState) -> bool:
    """Work outstanding that a lost timer or a lost answer would leave undone."""
    return bool(state.in_flight) or state.dirty_since is not None or state.needs_fetch or bool(state.waiting)


# --- reconcile ----------------------------------------------------------------------------


def reconcile(state: OrderState, policy: Policy, reference: Reference, now: int) -> Decision:
    snapshot = state.snapshot
    if snapshot is None:
        return Decision(state)
    want = Wanted(snapshot, now)
    notices: list[Notice] = []

    ref = state.predecessor_ref or referenced_order(snapshot, policy.recreate)
    asked = state.predecessor_asked_at
    due = asked is None or now - asked >= _backoff(policy, state.predecessor_asks)
    if ref and due and not (state.predecessor_released or state.predecessor_blocked):
        # The link travels through a name lookup and another partition: ask, backing off, until answered.
        state = state.model_copy(update={"predecessor_ref": ref, "predecessor_asked_at": now,
                                         "predecessor_asks": state.predecessor_asks + 1})
        notices.append(Notice(to_order_ref=ref, message=SuccessorLinked(successor_id=snapshot.order_id)))

    state = release.settle(state, snapshot, policy.release, now)
    peoplevox_commands: list[Command] = []
    if state.released:  # inside the edit window Peoplevox is sent nothing: the first version it sees is the latest
        state, peoplevox_commands = peoplevox.plan_commands(state, snapshot, policy.cutoff, reference, want,
                                                            notices)
    state, inventory_commands = inventory.plan_commands(state, snapshot, want)
    state = money.track_balance(state, snapshot, now)
    money.want_balance(state, snapshot, policy.payment_grace_ms, now, want)
    erp_commands = money.plan_commands(state, snapshot, reference, want)
    shopify_commands = [*edit_lock.plan_commands(state, snapshot, policy.cutoff, policy.lock_tag),
                        *fulfillment.plan_commands(state, snapshot, reference.catalogue, policy.fulfillment),
                        *fulfillment_orders.plan_commands(state, snapshot, policy.cutoff, policy.fulfillment_orders)]
    commands = tuple(c for c in (*peoplevox_commands, *inventory_commands, *shopify_commands, *erp_commands)
                     if c.command_id not in state.failed and c.command_id not in state.in_flight)

    exceptions, changed = settle(state.exceptions, want.exceptions, now)
    in_flight = {**state.in_flight, **{c.command_id: c for c in commands}}
    exceptions, caught_up = settle_retried(exceptions, in_flight, now)
    changed.extend(caught_up)
    wake_at = (_next_ask(policy, state.predecessor_asked_at, state.predecessor_asks, now)
               if _awaiting_predecessor(state) else None)
    wake_at = keep_wake(wake_at, state.release_at)
    settles_at = money.balance_due(state, policy.payment_grace_ms)
    wake_at = keep_wake(wake_at, settles_at if settles_at is not None and settles_at > now else None)
    return Decision(state.model_copy(update={"in_flight": in_flight, "exceptions": exceptions}), commands,
                    tuple(changed), wake_at=wake_at, notices=tuple(notices))


def _awaiting_predecessor(state: OrderState) -> bool:
    return bool(state.predecessor_ref) and not state.predecessor_released and not state.predecessor_blocked


_ACKNOWLEDGE: dict[Target, Callable[[OrderState, Any], OrderState]] = {
    Target.PEOPLEVOX: peoplevox.acknowledge, Target.INVENTORY: inventory.acknowledge, Target.ERP: money.acknowledge,
    Target.SHOPIFY: lambda state, payload: (
        edit_lock.acknowledge(state, payload) if isinstance(payload, TagsChange)
        else fulfillment.acknowledge(state, payload) if isinstance(payload, CreateFulfillment)
        else fulfillment_orders.acknowledge(state, payload))}


def _acknowledge(state: OrderState, command: Command) -> OrderState:
    if command.payload is None:
        raise ValueError(f"{command.command_id} was applied, but its result (written before v1.1) does not carry "
                         "what was applied")
    return _ACKNOWLEDGE[command.target](state, command.payload)

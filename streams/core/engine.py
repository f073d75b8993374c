"""The order-state engine: one input and the order's state in, the new state and effects out.

Level-triggered: every reconcile compares what Shopify says the order is now
(``state.snapshot``) with what each system acknowledged, and emits only the
commands that close the gap, never one already in flight. Replaying,
duplicating or reordering inputs therefore converges on the same end state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from streams.core import inventory, money
from streams.core.model import Command, OrderException, OrderSnapshot, Owner, Target
from streams.core.peoplevox import Change, CutOff, SalesOrder, UnknownSkus, desired_sales_order, plan
from streams.core.recreate import RecreatePolicy, referenced_order
from streams.core.reference import Reference
from streams.core.state import (
    Notice,
    OrderEventIn,
    OrderState,
    PredecessorAnswer,
    ResultIn,
    SuccessorLinked,
)

#: Exception types the engine opens and resolves by itself as the order changes.
RULE_EXCEPTIONS = frozenset({"UNKNOWN_SKU", "EDIT_AFTER_PICK", "PRICE_LIST_MISMATCH", "RECREATE_AMBIGUOUS"})
FAILURE_EXCEPTION = {Target.PEOPLEVOX: "PVX_UPDATE_FAILED", Target.INVENTORY: "INVENTORY_ADJUST_FAILED",
                 Target.ERP: "ERP_SYNC_FAILED"}


@dataclass(frozen=True)
class Policy:
    debounce_ms: int = 2000
    fetch_timeout_ms: int = 30_000
    cutoff: CutOff = CutOff()
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
    updates: dict = {"seen_event_ids": seen, "last_event_at": now}
    if snapshot is None or (known is None and event.event_type != "ORDER_CREATED"):
        # Partial payload, or ahead of the order's creation: never act on it, read the order.
        updates["needs_fetch"] = True
    else:
        updates["snapshot"] = snapshot
    dirty_since = state.dirty_since if state.dirty_since is not None else now
    updates["dirty_since"] = dirty_since
    return Decision(state.model_copy(update=updates), wake_at=dirty_since + policy.debounce_ms)


def on_timer(state: OrderState, policy: Policy, reference: Reference, now: int) -> Decision:
    if state.dirty_since is None:
        return reconcile(state, policy, reference, now) if _awaiting_predecessor(state) else Decision(state)
    due = state.dirty_since + policy.debounce_ms
    if now < due:
        return Decision(state, wake_at=due)
    if state.needs_fetch or state.snapshot is None:
        if state.fetching_since is not None and now - state.fetching_since < policy.fetch_timeout_ms:
            return Decision(state, wake_at=state.fetching_since + policy.fetch_timeout_ms)
        return Decision(state.model_copy(update={"fetching_since": now}), fetch=True,
                        wake_at=now + policy.fetch_timeout_ms)
    return reconcile(state.model_copy(update={"dirty_since": None}), policy, reference, now)


def on_snapshot(state: OrderState, snapshot: OrderSnapshot, policy: Policy, reference: Reference,
                now: int) -> Decision:
    """The order as Shopify's Admin API returned it."""
    current = state.snapshot
    if current is None or snapshot.version >= current.version:
        current = snapshot
    updates: dict = {"snapshot": current, "needs_fetch": False, "dirty_since": None, "fetching_since": None}
    fetch_started = state.fetching_since
    if fetch_started is not None and state.last_event_at is not None and state.last_event_at > fetch_started:
        # Events arrived while we were fetching: this answer may predate them, go round again.
        updates.update(needs_fetch=True, dirty_since=state.last_event_at)
        decision = reconcile(state.model_copy(update=updates), policy, reference, now)
        return replace(decision, wake_at=state.last_event_at + policy.debounce_ms)
    return reconcile(state.model_copy(update=updates), policy, reference, now)


def on_peoplevox_status(state: OrderState, status: str, at: int, policy: Policy, reference: Reference,
                        now: int, number: str | None = None) -> Decision:
    """A status Peoplevox reported (re-read, not taken from a callback on trust).

    Only the live sales order's status counts: a replaced one's "Cancelled" says
    nothing about where the replacement is.
    """
    if at < state.peoplevox_status_at or (number and state.peoplevox_sales_order is not None and number != state.peoplevox_sales_order.number):
        return Decision(state)
    return reconcile(state.model_copy(update={"peoplevox_status": status, "peoplevox_status_at": at}), policy, reference, now)


def on_result(state: OrderState, result: ResultIn, policy: Policy, reference: Reference, now: int) -> Decision:
    command = result.command
    if command.command_id in state.acknowledged and command.command_id not in state.in_flight:
        return Decision(state)  # a redelivered result: its effect is already counted
    in_flight = {cid: c for cid, c in state.in_flight.items() if cid != command.command_id}
    state = state.model_copy(update={"in_flight": in_flight})
    status = result.detail.get("status")
    if isinstance(status, str):
        state = state.model_copy(update={"peoplevox_status": status, "peoplevox_status_at": max(state.peoplevox_status_at, now)})
    if result.outcome == "APPLIED":
        acknowledged = (*state.acknowledged, command.command_id)[-policy.max_seen_events:]
        state = state.model_copy(update={"acknowledged": acknowledged})
        return reconcile(_acknowledge(state, command), policy, reference, now)
    if result.outcome == "REJECTED_CUTOFF":
        # The sink re-read the status and found picking under way: reconcile raises EDIT_AFTER_PICK.
        return reconcile(state, policy, reference, now)
    exception = _failure_exception(state, result, now)
    exceptions = {**state.exceptions, exception.exception_id: exception}
    failed_state = state.model_copy(update={"failed": state.failed | {command.command_id}, "exceptions": exceptions})
    decision = reconcile(failed_state, policy, reference, now)
    return replace(decision, exceptions=(exception, *decision.exceptions))


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
    updates = {"predecessor_released": message.released, "predecessor_blocked": not message.released}
    return reconcile(state.model_copy(update=updates), policy, reference, now)


def on_heal(state: OrderState, policy: Policy, now: int) -> Decision:
    """After a restart or rebalance: re-verify before sending anything new.

    Commands still in flight are sent again (same ids, so sinks change nothing
    twice and re-check Peoplevox status first), and the order is re-read.
    """
    return Decision(state.model_copy(update={"needs_fetch": True, "dirty_since": now, "fetching_since": None}),
                    commands=tuple(state.in_flight.values()), wake_at=now + policy.debounce_ms)


# --- reconcile ----------------------------------------------------------------------------


def reconcile(state: OrderState, policy: Policy, reference: Reference, now: int) -> Decision:
    snapshot = state.snapshot
    if snapshot is None:
        return Decision(state)
    wanted: dict[str, OrderException] = {}
    notices: list[Notice] = []

    def want(kind: str, owner: Owner, severity: str, summary: str, detail: dict, action: str) -> None:
        key = f"{snapshot.order_id}:{kind}"
        wanted[key] = OrderException(exception_id=key, order_id=snapshot.order_id, order_name=snapshot.name,
                                 type=kind, owner=owner, severity=severity, summary=summary, detail=detail,
                                 suggested_action=action, first_seen=now, last_seen=now)

    ref = state.predecessor_ref or referenced_order(snapshot, policy.recreate)
    asked = state.predecessor_asked_at
    due = asked is None or now - asked >= policy.fetch_timeout_ms
    if ref and due and not (state.predecessor_released or state.predecessor_blocked):
        # The link travels through a name lookup and another partition: ask until answered.
        state = state.model_copy(update={"predecessor_ref": ref, "predecessor_asked_at": now})
        notices.append(Notice(to_order_ref=ref, message=SuccessorLinked(successor_id=snapshot.order_id)))

    state, peoplevox_commands = _peoplevox(state, snapshot, policy, reference, want, notices)
    state, inventory_commands = _inventory(state, snapshot)
    erp_commands = _erp(state, snapshot, reference, want)
    commands = tuple(c for c in (*peoplevox_commands, *inventory_commands, *erp_commands)
                     if c.command_id not in state.failed and c.command_id not in state.in_flight)

    exceptions, changed = _settle_exceptions(state.exceptions, wanted, now)
    in_flight = {**state.in_flight, **{c.command_id: c for c in commands}}
    wake_at = (state.predecessor_asked_at or now) + policy.fetch_timeout_ms if _awaiting_predecessor(state) else None
    return Decision(state.model_copy(update={"in_flight": in_flight, "exceptions": exceptions}), commands,
                    tuple(changed), wake_at=wake_at, notices=tuple(notices))


def _awaiting_predecessor(state: OrderState) -> bool:
    return bool(state.predecessor_ref) and not state.predecessor_released and not state.predecessor_blocked


def _peoplevox(state: OrderState, snapshot: OrderSnapshot, policy: Policy, reference: Reference,
               want: Callable[..., None], notices: list[Notice]) -> tuple[OrderState, list[Command]]:
    desired = None if state.successor_id else desired_sales_order(snapshot, reference.catalogue)
    if isinstance(desired, UnknownSkus):
        want("UNKNOWN_SKU", Owner.OPS, "HIGH",
             f"{snapshot.display_name} is held: {', '.join(desired.skus)} has no Peoplevox ItemCode.",
             {"skus": list(desired.skus)},
             "Add the item to Peoplevox (or a SKU override), then retry the order.")
        return state, []
    if state.predecessor_ref and not state.predecessor_released:
        if state.predecessor_blocked:
            want("RECREATE_AMBIGUOUS", Owner.OPS, "HIGH",
                 f"{snapshot.display_name} replaces {state.predecessor_ref}, which the warehouse is already "
                 "picking: neither is released automatically.",
                 {"predecessor": state.predecessor_ref},
                 "Decide which order ships; cancel the other in Peoplevox, then retry.")
        return state, []
    if any(c.target is Target.PEOPLEVOX for c in state.in_flight.values()):
        return state, []  # one Peoplevox change at a time per order; the result triggers the next
    change = plan(desired, state.peoplevox_sales_order)
    if change.kind == "none":
        returns = _returns(state, snapshot, reference)
        if state.successor_id and not state.successor_notified:
            notices.append(Notice(to_order_id=state.successor_id,
                                  message=PredecessorAnswer(predecessor_id=snapshot.order_id, released=True,
                                                            reason="original's sales order cancelled or never sent")))
            state = state.model_copy(update={"successor_notified": True})
        return state, returns
    # The pick cycle of a sales order editsync already cancelled cannot hold back its successor.
    if state.peoplevox_sales_order is not None and not state.peoplevox_sales_order.cancelled and policy.cutoff.reached(state.peoplevox_status):
        lines = change.touches_lines or change.kind == "cancel"
        want("EDIT_AFTER_PICK", Owner.OPS if lines else Owner.CX, "HIGH",
             f"{snapshot.display_name} changed after the warehouse started ({state.peoplevox_status}); "
             "the change was not sent.",
             {"status": state.peoplevox_status, "change": change.kind, "diff": change.diff},
             "Stop or amend the parcel in Peoplevox, or tell the customer the edit missed it.")
        if state.successor_id and not state.successor_notified:
            notices.append(Notice(to_order_id=state.successor_id,
                                  message=PredecessorAnswer(predecessor_id=snapshot.order_id, released=False,
                                                            reason=f"original is at {state.peoplevox_status}")))
            state = state.model_copy(update={"successor_notified": True})
        return state, []
    return state, [_peoplevox_command(state, snapshot, change, desired)]


def _peoplevox_command(state: OrderState, snapshot: OrderSnapshot, change: Change, desired: SalesOrder | None) -> Command:
    payload: dict = {"diff": change.diff}
    live = state.peoplevox_sales_order
    if change.kind == "cancel":
        assert live is not None
        payload["sales_order"] = live.model_copy(update={"cancelled": True}).model_dump(mode="json")
    else:
        assert desired is not None
        if change.kind == "update":
            number = live.number if live else desired.number
        elif live is None:
            number = desired.number
        else:  # replace, or re-create after a cancel: Peoplevox numbers are never reused
            number = f"{desired.number}-R{state.peoplevox_revision + 1}"
            payload["replaces"] = live.number
        payload["sales_order"] = desired.model_copy(update={"number": number}).model_dump(mode="json")
    return _command(snapshot, Target.PEOPLEVOX, f"{change.kind}_sales_order", payload)


def _returns(state: OrderState, snapshot: OrderSnapshot, reference: Reference) -> list[Command]:
    """A refund with returned lines becomes a return in Peoplevox (once per refund), in ItemCodes."""
    if state.peoplevox_sales_order is None:
        return []
    skus = {line.line_id: line.sku or "" for line in snapshot.lines}
    for refund in snapshot.refunds:
        returned = [line for line in refund.lines if line.restock_type == "RETURN"]
        if returned and refund.refund_id not in state.returns:
            codes: dict[str, int] = {}
            for line in returned:
                for sku, quantity in reference.catalogue.expand(skus.get(line.line_id, ""), line.quantity):
                    code = reference.catalogue.item_code(sku) or sku
                    codes[code] = codes.get(code, 0) + quantity
            payload = {"refund_id": refund.refund_id, "sales_order_number": state.peoplevox_sales_order.number,
                       "lines": [{"item_code": code, "quantity": quantity} for code, quantity in sorted(codes.items())]}
            return [_command(snapshot, Target.PEOPLEVOX, "create_return", payload, refund.refund_id)]
    return []


def _inventory(state: OrderState, snapshot: OrderSnapshot) -> tuple[OrderState, list[Command]]:
    in_flight: dict[str, int] = {}
    for command in state.in_flight.values():
        if command.target is Target.INVENTORY:
            key = command.payload["stock_key"]
            in_flight[key] = in_flight.get(key, 0) + command.payload["delta"]
    target = inventory.target_adjustments(snapshot)
    commands = []
    sequence = dict(state.inventory_sequence)
    for key, delta in inventory.outstanding(target, state.inventory_applied, in_flight).items():
        sequence[key] = sequence.get(key, 0) + 1
        item, location = key.split("@", 1)
        payload = {"stock_key": key, "inventory_item_id": item, "location_id": location, "delta": delta,
                   "reason": "correction", "reference_document_uri": f"gid://shopify/Order/{snapshot.order_id}"}
        commands.append(_command(snapshot, Target.INVENTORY, "adjust_inventory", payload, f"{key}:{sequence[key]}"))
    return state.model_copy(update={"inventory_sequence": sequence}), commands


def _erp(state: OrderState, snapshot: OrderSnapshot, reference: Reference, want: Callable[..., None]) -> list[Command]:
    mismatches = money.price_list_mismatches(snapshot, reference.price_lists)
    if mismatches:
        want("PRICE_LIST_MISMATCH", Owner.FINANCE, "MEDIUM",
             f"{snapshot.display_name}: an added line is not at the company's agreed price.",
             {"lines": mismatches}, "Correct the price in Shopify, or approve the difference, then retry.")
    commands = []
    in_flight_kinds = {c.kind for c in state.in_flight.values() if c.target is Target.ERP}
    record = money.erp_sales_order(snapshot)
    fingerprint = money.fingerprint(record)
    if state.erp_fingerprint != fingerprint and "upsert_sales_order" not in in_flight_kinds:
        commands.append(_command(snapshot, Target.ERP, "upsert_sales_order",
                                 {"sales_order": record, "fingerprint": fingerprint}))
    if state.erp_fingerprint is None:
        return commands  # payments and credit memos attach to a sales order the ERP already has
    for payment in money.captured_payments(snapshot):
        if payment.transaction_id not in state.erp_payments:
            commands.append(_command(snapshot, Target.ERP, "record_payment",
                                     {"external_id": snapshot.order_id, "transaction_id": payment.transaction_id,
                                      "amount": str(payment.amount), "currency": snapshot.currency},
                                     payment.transaction_id))
    for refund in snapshot.refunds:
        if refund.refund_id not in state.erp_credit_memos:
            commands.append(_command(snapshot, Target.ERP, "create_credit_memo",
                                     {"external_id": snapshot.order_id, "refund_id": refund.refund_id,
                                      "amount": str(refund.amount), "currency": snapshot.currency,
                                      "lines": [line.model_dump() for line in refund.lines]},
                                     refund.refund_id))
    return commands


def _command(snapshot: OrderSnapshot, target: Target, kind: str, payload: dict, subject: str | None = None) -> Command:
    """Ids are deterministic: per order version for state upserts, per Shopify id for one-off records."""
    scope = subject if subject is not None else str(snapshot.version)
    command_id = f"{target.value.lower()}:{kind}:{snapshot.order_id}:{scope}"
    return Command(command_id=command_id, order_id=snapshot.order_id, order_version=snapshot.version,
                   target=target, kind=kind, idempotency_key=command_id, payload=payload)


def _acknowledge(state: OrderState, command: Command) -> OrderState:
    payload = command.payload
    if command.target is Target.PEOPLEVOX:
        if command.kind == "create_return":
            return state.model_copy(update={"returns": state.returns | {payload["refund_id"]}})
        sales_order = SalesOrder.model_validate(payload["sales_order"])
        revision = state.peoplevox_revision + (1 if "replaces" in payload else 0)
        return state.model_copy(update={"peoplevox_sales_order": sales_order, "peoplevox_revision": revision})
    if command.target is Target.INVENTORY:
        applied = dict(state.inventory_applied)
        applied[payload["stock_key"]] = applied.get(payload["stock_key"], 0) + payload["delta"]
        return state.model_copy(update={"inventory_applied": applied})
    if command.kind == "upsert_sales_order":
        return state.model_copy(update={"erp_fingerprint": payload["fingerprint"]})
    if command.kind == "record_payment":
        return state.model_copy(update={"erp_payments": state.erp_payments | {payload["transaction_id"]}})
    return state.model_copy(update={"erp_credit_memos": state.erp_credit_memos | {payload["refund_id"]}})


def _failure_exception(state: OrderState, result: ResultIn, now: int) -> OrderException:
    command = result.command
    kind = FAILURE_EXCEPTION[command.target]
    if command.target is Target.ERP and command.kind == "create_credit_memo":
        kind = "REFUND_NOT_POSTED"
    owner = Owner.FINANCE if command.target is Target.ERP else Owner.OPS
    name = state.snapshot.name if state.snapshot else None
    return OrderException(exception_id=f"{command.order_id}:{kind}:{command.command_id}", order_id=command.order_id,
                 order_name=name, type=kind, owner=owner, severity="HIGH",
                 summary=f"{name or command.order_id}: {command.kind} was {result.outcome.lower()} by "
                         f"{command.target.value.title()}: {result.reason or 'no reason given'}",
                 detail={"command_id": command.command_id, "outcome": result.outcome, "reason": result.reason,
                         "detail": result.detail},
                 suggested_action="Fix the cause shown, then retry the order.", first_seen=now, last_seen=now)


def _settle_exceptions(current: dict[str, OrderException], wanted: dict[str, OrderException], now: int) -> tuple[dict[str, OrderException], list[OrderException]]:
    """Open what the rules want, resolve rule exceptions they no longer want; keep failure exceptions."""
    kept = {key: exception for key, exception in current.items() if exception.type not in RULE_EXCEPTIONS}
    changed: list[OrderException] = []
    for key, exception in wanted.items():
        previous = current.get(key)
        if previous is not None:
            exception = exception.model_copy(update={"first_seen": previous.first_seen})
        if previous is None or not previous.same_content(exception):
            changed.append(exception)
        kept[key] = exception if previous is None or not previous.same_content(exception) else previous
    for key, exception in current.items():
        if exception.type in RULE_EXCEPTIONS and key not in wanted:
            changed.append(exception.model_copy(update={"state": "RESOLVED", "last_seen": now}))
    return kept, changed


def mismatch_reasons(state: OrderState) -> set[str]:
    """Why Shopify and the other systems disagree about this order right now (empty when in step)."""
    return {exception.type.lower() for exception in state.exceptions.values()}


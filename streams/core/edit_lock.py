"""Closing the order for edits in Shopify while the warehouse works on it, and reopening it when it lets go.

Order-editing apps stop offering edits on an order that carries a tag chosen by the merchant (Revize's "early
stop via tags", OrderEditing.com's tag condition), so editsync tags the order (``tagsAdd``) as soon as
Peoplevox holds its live sales order at or past the cut-off, and removes the tag (``tagsRemove``) once the
warehouse lets go: the sales order cancelled, moved back before the cut-off, or replaced by one that is not
there yet. An edit that still slips through is raised as ``EDIT_AFTER_PICK`` as before.

Level-triggered like every planner: what the order should show (locked or not) is compared with what it shows,
the tag in the latest snapshot, unless Shopify confirmed editsync's own change after that snapshot was taken.
The ``orders/updated`` webhook Shopify sends for the tag change then carries the tag, matches, and plans
nothing: no loop. editsync lifts only a lock it added itself. One change at a time per order; a failed one (a
missing ``write_orders`` scope becomes ``SHOPIFY_ACCESS_DENIED``) is not sent again until a person retries the
order.
"""

from __future__ import annotations

from streams.core.commands import AddTags, Command, RemoveTags, TagsChange, command
from streams.core.model import OrderSnapshot
from streams.core.peoplevox import CANCELLED, CutOff
from streams.core.state import OrderState


def warehouse_holds(state: OrderState, cutoff: CutOff) -> bool:
    """Peoplevox holds the order's live sales order at or past the cut-off: edits can no longer reach it."""
    live = state.peoplevox_sales_order
    if live is None or live.cancelled or live.number == state.peoplevox_cancelled:
        return False
    # CutOff.reached takes a status it does not know as past the cut-off; Cancelled is known: the warehouse let go.
    return state.peoplevox_status != CANCELLED and cutoff.reached(state.peoplevox_status)


def shows_lock(state: OrderState, snapshot: OrderSnapshot, tag: str) -> bool:
    if state.shopify_locked is not None and snapshot.version <= state.shopify_locked_version:
        return state.shopify_locked  # confirmed by Shopify after this snapshot was read
    # Shopify keeps tags as typed but the apps match them without case.
    return tag.casefold() in {each.casefold() for each in snapshot.tags}


def plan_commands(state: OrderState, snapshot: OrderSnapshot, cutoff: CutOff, tag: str) -> list[Command]:
    """The tag change that makes the order show what the warehouse holds, if any. An empty tag: no lock."""
    if not tag or state.sending(TagsChange):
        return []
    locked = warehouse_holds(state, cutoff)
    shown = shows_lock(state, snapshot, tag)
    # A lock tag editsync did not add (the merchant's own, or one from before its state was lost) stays: lifting
    # a lock nobody asked editsync to lift would reopen edits the merchant closed.
    if locked == shown or (shown and state.shopify_locked is not True):
        return []
    payload = AddTags(tags=(tag,)) if locked else RemoveTags(tags=(tag,))
    # One id per sales order and direction: retried deliveries change nothing twice, and a failed one stays failed.
    live = state.peoplevox_sales_order
    return [command(snapshot, payload, live.number if live is not None else "none")]


def acknowledge(state: OrderState, payload: TagsChange) -> OrderState:
    version = state.snapshot.version if state.snapshot is not None else 0
    return state.model_copy(update={"shopify_locked": isinstance(payload, AddTags), "shopify_locked_version": version})

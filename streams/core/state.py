"""Everything editsync remembers about one order, and the inputs that change it.

Stored per order id in a Faust table. ``snapshot`` is the desired state (what
Shopify says now); the ``peoplevox_*``/``inventory_applied``/``erp_*`` fields are the
acknowledged state (what each system confirmed). Commands close the gap.

Rows are JSON in RocksDB and outlive a deploy: a renamed field keeps reading
its old name (``validation_alias``), so stored state loads as it was.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from streams.core.model import Command, OrderException, OrderSnapshot, Value
from streams.core.peoplevox import SalesOrder


class OrderState(Value):
    order_id: str
    snapshot: OrderSnapshot | None = None
    seen_event_ids: tuple[str, ...] = ()

    # Debounce and fetch: a burst of events gives one fetch and one reconcile.
    dirty_since: int | None = None
    last_event_at: int | None = None
    needs_fetch: bool = False
    fetching_since: int | None = None

    # Acknowledged by Peoplevox
    peoplevox_status: str | None = Field(None, validation_alias=AliasChoices("peoplevox_status", "pvx_status"))
    peoplevox_status_at: int = Field(0, validation_alias=AliasChoices("peoplevox_status_at", "pvx_status_at"))
    peoplevox_sales_order: SalesOrder | None = Field(None, validation_alias=AliasChoices("peoplevox_sales_order", "pvx"))
    # cancel-and-replace count: the replacement's number suffix
    peoplevox_revision: int = Field(0, validation_alias=AliasChoices("peoplevox_revision", "pvx_revision"))
    returns: frozenset[str] = frozenset()  # refund ids Peoplevox holds a return for

    # Acknowledged by Shopify inventory
    inventory_applied: dict[str, int] = {}
    inventory_sequence: dict[str, int] = {}

    # Acknowledged by the ERP
    erp_fingerprint: str | None = None
    erp_payments: frozenset[str] = frozenset()
    erp_credit_memos: frozenset[str] = frozenset()

    # Sent and not yet answered; answered APPLIED (the latest ids, so a redelivered result is
    # not counted twice); and failed for good (not re-sent until a person retries)
    in_flight: dict[str, Command] = {}
    acknowledged: tuple[str, ...] = ()
    failed: frozenset[str] = frozenset()

    # Recreate-as-new-order links
    predecessor_ref: str | None = None
    predecessor_released: bool = False
    predecessor_blocked: bool = False
    predecessor_asked_at: int | None = None  # asked again after the fetch timeout until it answers
    successor_id: str | None = None
    successor_notified: bool = False

    # open ones, by exception id
    exceptions: dict[str, OrderException] = Field({}, validation_alias=AliasChoices("exceptions", "issues"))


class OrderEventIn(Value):
    """A normalised ``orders.events.v1`` record, as much as the core needs."""

    event_id: str
    event_type: str
    snapshot: OrderSnapshot | None = None  # present only when the payload held the whole order


class PeoplevoxStatusIn(Value):
    status: str
    at: int  # when Peoplevox says the status changed (epoch ms)


class ResultIn(Value):
    """A sink's answer, carrying the command it answers, so it can be applied even after state loss."""

    command: Command
    outcome: str  # APPLIED, REJECTED, REJECTED_CUTOFF, FAILED
    reason: str | None = None
    detail: dict[str, Any] = {}


class SuccessorLinked(Value):
    """To an original order: a new order says it replaces you."""

    successor_id: str


class PredecessorAnswer(Value):
    """To a new order: the original released its warehouse slot (or could not)."""

    predecessor_id: str | None
    released: bool
    reason: str


class Notice(Value):
    """A message for another order, routed by the agent: by id, or by a reference to resolve first."""

    to_order_id: str | None = None
    to_order_ref: str | None = None  # e.g. "#1001": the agent resolves names to ids
    message: SuccessorLinked | PredecessorAnswer

"""Everything editsync remembers about one order.

Stored per order id in a Faust table. ``snapshot`` is the desired state (what
Shopify says now); the ``peoplevox_*``/``inventory_applied``/``erp_*`` fields are the
acknowledged state (what each system confirmed). Commands close the gap.

Rows are JSON in RocksDB and outlive a deploy: a renamed field keeps reading
its old name (``validation_alias``), so stored state loads as it was.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field

from streams.core.commands import Command, Payload
from streams.core.details import OrderException
from streams.core.model import Despatch, OrderSnapshot, SalesOrder, Value


class OrderState(Value):
    order_id: str
    snapshot: OrderSnapshot | None = None
    seen_event_ids: tuple[str, ...] = ()

    # Debounce and fetch: a burst of events gives one fetch and one reconcile.
    dirty_since: int | None = None
    last_event_at: int | None = None
    needs_fetch: bool = False
    fetching_since: int | None = None
    fetch_attempts: int = 0  # reads asked since the last answer: each waits twice as long for it
    read_missing: bool = False  # the last read found no such order in Shopify
    rebuilt: bool = False  # local state was discarded and this order is being rebuilt from Shopify

    # The edit window (streams.core.release): closed for good once the order may go to the warehouse; while
    # open, when it closes
    released: bool = False
    release_at: int | None = None

    # Acknowledged by Peoplevox
    peoplevox_status: str | None = Field(None, validation_alias=AliasChoices("peoplevox_status", "pvx_status"))
    peoplevox_status_at: int = Field(0, validation_alias=AliasChoices("peoplevox_status_at", "pvx_status_at"))
    peoplevox_status_of: str | None = None  # the sales order the status was read from, where known
    peoplevox_sales_order: SalesOrder | None = Field(None,
                                                     validation_alias=AliasChoices("peoplevox_sales_order", "pvx"))
    # cancel-and-replace count: the replacement's number suffix
    peoplevox_revision: int = Field(0, validation_alias=AliasChoices("peoplevox_revision", "pvx_revision"))
    returns: frozenset[str] = frozenset()  # refund ids Peoplevox holds a return for
    # a sales order editsync cancelled for a replacement that was not created: its "Cancelled" is editsync's
    # own doing, not the warehouse past the cut-off
    peoplevox_cancelled: str | None = None
    # Local state was lost (rebuilt), or a create failed whose answer may have been lost: Peoplevox may hold live
    # sales orders of this order that the state does not know. Cleared once a Peoplevox answer says what it holds.
    peoplevox_unknown: bool = False

    # What Peoplevox despatched (in the order it was reported), and the despatches Shopify shows as fulfillments
    despatches: tuple[Despatch, ...] = ()
    fulfilled_despatches: frozenset[str] = frozenset()
    # Since when Shopify has shown a balance (to collect or to refund) on the edited order: the grace's start.
    balance_since: int | None = None
    # A sales order Peoplevox reported Despatched whose despatches could not be read: asked again, backing off.
    despatch_unread: str | None = None
    despatch_asked_at: int | None = None
    despatch_asks: int = 0

    # Acknowledged by Shopify inventory
    inventory_applied: dict[str, int] = {}
    inventory_sequence: dict[str, int] = {}

    # Acknowledged by Shopify: the edit lock tag added (True) or removed (False), and the order's version when
    # Shopify confirmed it; a snapshot newer than that already shows the change itself (streams.core.edit_lock)
    shopify_locked: bool | None = None
    shopify_locked_version: int = 0
    # Acknowledged by Shopify: the fulfillment orders marked in progress (True) or opened again (False), and held by
    # editsync for the edit window (True) or released (False) (streams.core.fulfillment_orders)
    progress_reported: bool | None = None
    edit_window_held: bool | None = None

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
    predecessor_reason: str | None = None  # why the original could not be released, in its answer's words
    predecessor_asked_at: int | None = None  # asked again, backing off, until it answers
    predecessor_asks: int = 0
    successor_id: str | None = None
    successor_notified: bool = False

    # What the order is waiting for, and since when (streams.core.holds)
    waiting: dict[str, int] = {}

    # open ones, by exception id
    exceptions: dict[str, OrderException] = Field({}, validation_alias=AliasChoices("exceptions", "issues"))

    def sending(self, *payloads: type[Payload]) -> bool:
        """A command with a payload of one of these kinds is on its way, not answered yet."""
        return any(isinstance(sent.payload, payloads) for sent in self.in_flight.values())

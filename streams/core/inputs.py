"""The inputs that change an order's state, and editsync's internal messages, as typed values.

``editsync.order-inputs`` (for the order-state agent) and
``editsync.shopify-reads`` (for the Shopify reader) carry the messages below as
JSON, told apart by ``kind``; :func:`decode` is the one way back from bytes (:func:`from_value` from
parsed JSON).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from streams.core.commands import Command
from streams.core.details import Outcome, ResultDetail, WireResultDetail
from streams.core.model import Despatch, OrderSnapshot, Target, Value


class OrderEventIn(Value):
    """A normalised ``orders.events.v1`` record, as much as the core needs."""

    event_id: str
    event_type: str
    snapshot: OrderSnapshot | None = None  # present only when the payload held the whole order


class ResultIn(Value):
    """A sink's answer, carrying the command it answers, so it can be applied even after state loss."""

    command: Command
    outcome: Outcome
    reason: str | None = None
    detail: WireResultDetail = ResultDetail()
    completed_at: int | None = None  # when the sink had its answer, epoch ms: a status it carries was true then


# --- recreate-as-new-order links between two orders -----------------------------------------


class SuccessorLinked(Value):
    """To an original order: a new order says it replaces you."""

    type: Literal["SuccessorLinked"] = "SuccessorLinked"
    successor_id: str


class PredecessorAnswer(Value):
    """To a new order: the original released its warehouse slot (or could not)."""

    type: Literal["PredecessorAnswer"] = "PredecessorAnswer"
    predecessor_id: str | None
    released: bool
    reason: str


LinkMessage = Annotated[SuccessorLinked | PredecessorAnswer, Field(discriminator="type")]


class Notice(Value):
    """A message for another order, routed by the agent: by id, or by a reference to resolve first."""

    to_order_id: str | None = None
    to_order_ref: str | None = None  # e.g. "#1001": the agent resolves names to ids
    message: LinkMessage


# --- editsync.order-inputs ------------------------------------------------------------------


class Tick(Value):
    """A wake-up the engine asked for is due."""

    kind: Literal["tick"] = "tick"


class FetchedSnapshot(Value):
    """The order as Shopify's Admin API returned it."""

    kind: Literal["snapshot"] = "snapshot"
    snapshot: OrderSnapshot


class ReadDenied(Value):
    """Shopify refused to let editsync read the order: what access is missing, in Shopify's words."""

    kind: Literal["read_denied"] = "read_denied"
    required_access: str
    reason: str


class PeoplevoxStatus(Value):
    """A status re-read from Peoplevox (never taken from a callback on trust)."""

    kind: Literal["status"] = "status"
    status: str
    at: int  # when it was read, epoch ms: the moment it is known true
    number: str | None = None  # the sales order it was read from
    despatches: tuple[Despatch, ...] = ()  # what Peoplevox despatched of it, read with a Despatched status
    despatches_unread: bool = False  # Despatched, but what left could not be read: the order asks again


class NoticeIn(Value):
    """A link message from another order."""

    kind: Literal["notice"] = "notice"
    message: LinkMessage


class Heal(Value):
    """After a rebalance: re-verify an order with work outstanding."""

    kind: Literal["heal"] = "heal"


class Rebuild(Value):
    """This order's local state was discarded (the broker no longer backs it): re-read it from Shopify."""

    kind: Literal["rebuild"] = "rebuild"


class PersonAction(Value):
    """A person retried, resolved or ignored one of the order's exceptions (the API or the inbox)."""

    kind: Literal["action"] = "action"
    action: Literal["retry", "resolve", "ignore"]
    exception_id: str
    actor: str
    note: str | None = None


class ReleaseNow(Value):
    """A person sent a held order to the warehouse before its edit window closed (the API, the CLI, the inbox)."""

    kind: Literal["release"] = "release"
    actor: str


class Replay(Value):
    """Someone asked for the order to be read and reconciled again (``editsync replay``)."""

    kind: Literal["replay"] = "replay"


class Recheck(Value):
    """Peoplevox's item codes grew: an order held for unknown SKUs may go now."""

    kind: Literal["recheck"] = "recheck"


class Swept(Value):
    """The periodic sweep found the order in Shopify's list of recently updated orders.

    The level-triggered safety net for webhooks that never came: the engine
    reads the order only if it knows no version this recent.
    """

    kind: Literal["swept"] = "swept"
    updated_at: int  # epoch ms, Shopify's ``updatedAt``: the order's version


class SystemAnswering(Value):
    """A system editsync had given up on answers again: what it never answered for this order may go again."""

    kind: Literal["answering"] = "answering"
    target: Target


# --- editsync.shopify-reads -----------------------------------------------------------------


class FetchOrder(Value):
    kind: Literal["fetch"] = "fetch"
    order_id: str
    requested_at: int = 0  # epoch ms: a read that started later answers this request too


class OrderMissing(Value):
    """The Shopify read found no such order."""

    kind: Literal["missing"] = "missing"


class ResolveOrder(Value):
    """Find the order named ``ref`` and hand it ``message``; tell ``from_order_id`` when there is none."""

    kind: Literal["resolve"] = "resolve"
    ref: str
    from_order_id: str
    message: LinkMessage


OrderInput = (Tick | FetchedSnapshot | OrderMissing | ReadDenied | PeoplevoxStatus | NoticeIn | Heal | Rebuild
              | PersonAction | ReleaseNow | Replay | Recheck | SystemAnswering | Swept)
# --- editsync.peoplevox-reads --------------------------------------------------------------


class ReadSalesOrder(Value):
    """Read the sales order's status (and, Despatched, its despatches) again: what a callback asks for."""

    kind: Literal["read_sales_order"] = "read_sales_order"
    number: str


ShopifyRead = FetchOrder | ResolveOrder
InternalMessage = Annotated[OrderInput | ShopifyRead | ReadSalesOrder, Field(discriminator="kind")]
_INTERNAL: TypeAdapter[InternalMessage] = TypeAdapter(InternalMessage)


def decode(raw: bytes) -> OrderInput | ShopifyRead | ReadSalesOrder:
    """An internal message from its JSON; raises ``pydantic.ValidationError`` on anything else."""
    return _INTERNAL.validate_json(raw)


def from_value(value: Any) -> OrderInput | ShopifyRead | ReadSalesOrder:
    """An internal message from its JSON already parsed (as the inbox's tailer reads the topic)."""
    return _INTERNAL.validate_python(value)


def encode(message: OrderInput | ShopifyRead | ReadSalesOrder) -> bytes:
    return message.model_dump_json().encode()

"""Commands: one effect on one system, with one typed payload per kind.

The core builds the payloads and the sinks' executors consume them; nothing
reads a payload by string key. The Avro ``Command`` record carries a payload as
``payload_json`` without its kind (the record has a ``kind`` field of its
own): :meth:`Payload.wire` writes it, ``Command`` takes the kind back in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_serializer, model_validator

from streams.core.details import SalesOrderDiff
from streams.core.model import OrderSnapshot, RefundLine, SalesOrder, Target, Value


class Payload(Value):
    target: ClassVar[Target]
    kind: str

    def wire(self) -> dict[str, Any]:
        """As ``payload_json`` carries it: no kind, and no option left unset."""
        return {k: v for k, v in self.model_dump(mode="json", exclude={"kind"}).items() if v is not None}


# --- Peoplevox ------------------------------------------------------------------------------


class SalesOrderChange(Payload):
    """The whole sales order as it should stand afterwards, and the diff that explains it."""

    target: ClassVar[Target] = Target.PEOPLEVOX
    sales_order: SalesOrder
    diff: SalesOrderDiff
    replaces: str | None = None  # the live sales order this one takes over from (cancelled first)

    @field_serializer("diff")
    def _wire_diff(self, diff: SalesOrderDiff) -> dict[str, Any]:
        return diff.wire()


class CreateSalesOrder(SalesOrderChange):
    kind: Literal["create_sales_order"] = "create_sales_order"


class UpdateSalesOrder(SalesOrderChange):
    kind: Literal["update_sales_order"] = "update_sales_order"


class ReplaceSalesOrder(SalesOrderChange):
    kind: Literal["replace_sales_order"] = "replace_sales_order"
    replaces: str


class CancelSalesOrder(SalesOrderChange):
    kind: Literal["cancel_sales_order"] = "cancel_sales_order"


class CancelLiveSalesOrders(Payload):
    """Cancel whatever sales order Peoplevox holds live for the order, known to its state or not.

    For an order whose state was rebuilt (local state lost) and that should ship nothing: the state no longer
    knows which sales order editsync made, so the sink finds them by ``number`` (the order's own, and its
    ``-R<n>`` revisions) and by the order's id as reference.
    """

    target: ClassVar[Target] = Target.PEOPLEVOX
    kind: Literal["cancel_live_sales_orders"] = "cancel_live_sales_orders"
    number: str  # the order's own sales order number, without a revision suffix


class ReturnLine(Value):
    item_code: str
    quantity: int


class CreateReturn(Payload):
    target: ClassVar[Target] = Target.PEOPLEVOX
    kind: Literal["create_return"] = "create_return"
    refund_id: str
    sales_order_number: str
    lines: tuple[ReturnLine, ...]


# --- Shopify inventory ----------------------------------------------------------------------


class AdjustInventory(Payload):
    target: ClassVar[Target] = Target.INVENTORY
    kind: Literal["adjust_inventory"] = "adjust_inventory"
    stock_key: str  # "<inventory item id>@<location id>"
    inventory_item_id: str
    location_id: str
    delta: int
    reason: str = "correction"
    reference_document_uri: str


# --- the Shopify order ----------------------------------------------------------------------


class TagsChange(Payload):
    """Tags added to, or removed from, the Shopify order (``tagsAdd``/``tagsRemove``)."""

    target: ClassVar[Target] = Target.SHOPIFY
    tags: tuple[str, ...]


class AddTags(TagsChange):
    kind: Literal["add_tags"] = "add_tags"


class RemoveTags(TagsChange):
    kind: Literal["remove_tags"] = "remove_tags"


class ReportProgress(Payload):
    """The order's open fulfillment orders marked in progress (``fulfillmentOrderReportProgress``), with notes
    naming the warehouse's status, so order-editing apps that lock on a fulfillment in progress stop edits."""

    target: ClassVar[Target] = Target.SHOPIFY
    kind: Literal["report_progress"] = "report_progress"
    reason_notes: str


class OpenFulfillmentOrders(Payload):
    """Fulfillment orders editsync marked in progress, open again (``fulfillmentOrderOpen``): the warehouse let go."""

    target: ClassVar[Target] = Target.SHOPIFY
    kind: Literal["open_fulfillment_orders"] = "open_fulfillment_orders"


class HoldFulfillmentOrders(Payload):
    """editsync's own hold on the order's fulfillment orders while its edit window is open
    (``fulfillmentOrderHold`` with ``handle``), so the merchant sees in Shopify why the order waits."""

    target: ClassVar[Target] = Target.SHOPIFY
    kind: Literal["hold_fulfillment_orders"] = "hold_fulfillment_orders"
    handle: str
    reason_notes: str


class ReleaseFulfillmentHolds(Payload):
    """editsync's hold of that ``handle`` released (``fulfillmentOrderReleaseHold``); others' holds stay."""

    target: ClassVar[Target] = Target.SHOPIFY
    kind: Literal["release_fulfillment_holds"] = "release_fulfillment_holds"
    handle: str


FulfillmentOrderChange = ReportProgress | OpenFulfillmentOrders | HoldFulfillmentOrders | ReleaseFulfillmentHolds


class FulfilledLine(Value):
    line_id: str
    quantity: int  # units of the line Shopify should show fulfilled once this despatch is posted (cumulative)


class CreateFulfillment(Payload):
    """Peoplevox's despatch as a Shopify fulfillment (``fulfillmentCreate``), at most once per despatch.

    ``lines`` are levels, not deltas: the sink fulfils only what Shopify does not show fulfilled yet, so a
    repeat after a lost answer, or a fulfillment someone posted by hand, is not fulfilled twice.
    """

    target: ClassVar[Target] = Target.SHOPIFY
    kind: Literal["create_fulfillment"] = "create_fulfillment"
    despatch_number: str
    lines: tuple[FulfilledLine, ...]
    carrier: str | None = None
    tracking_number: str | None = None
    notify_customer: bool = False


# --- ERP ------------------------------------------------------------------------------------


class ErpLine(Value):
    line_id: str
    sku: str | None
    quantity: int
    unit_price: Decimal


class ErpSalesOrder(Value):
    """What the ERP holds for an order, upserted by Shopify order id as external id."""

    external_id: str
    number: str | None
    currency: str
    total: Decimal
    tax: Decimal
    cancelled: bool
    customer_id: str | None
    lines: tuple[ErpLine, ...]
    email: str | None = None  # finds the NetSuite customer when the Shopify customer id does not


class UpsertSalesOrder(Payload):
    target: ClassVar[Target] = Target.ERP
    kind: Literal["upsert_sales_order"] = "upsert_sales_order"
    sales_order: ErpSalesOrder
    fingerprint: str


class RecordPayment(Payload):
    target: ClassVar[Target] = Target.ERP
    kind: Literal["record_payment"] = "record_payment"
    external_id: str
    transaction_id: str
    amount: Decimal
    currency: str


class CreditMemoLine(RefundLine):
    """A refunded line with what a credit memo needs from the order line (absent in commands before v1.2)."""

    sku: str | None = None
    unit_price: Decimal | None = None


class CreateCreditMemo(Payload):
    target: ClassVar[Target] = Target.ERP
    kind: Literal["create_credit_memo"] = "create_credit_memo"
    external_id: str
    refund_id: str
    amount: Decimal
    currency: str
    lines: tuple[CreditMemoLine, ...]


PeoplevoxPayload = SalesOrderChange | CancelLiveSalesOrders | CreateReturn
ErpPayload = UpsertSalesOrder | RecordPayment | CreateCreditMemo
CommandPayload = Annotated[
    CreateSalesOrder | UpdateSalesOrder | ReplaceSalesOrder | CancelSalesOrder | CancelLiveSalesOrders | CreateReturn
    | AdjustInventory | AddTags | RemoveTags | CreateFulfillment | ReportProgress | OpenFulfillmentOrders
    | HoldFulfillmentOrders | ReleaseFulfillmentHolds | UpsertSalesOrder | RecordPayment | CreateCreditMemo,
    Field(discriminator="kind"),
]


class Command(Value):
    """One effect on one system. Same order, version, target and kind → same id and key.

    ``payload`` is None only on a result written before v1.1, which carried no payload.
    """

    command_id: str
    order_id: str
    order_version: int
    target: Target
    kind: str
    idempotency_key: str
    payload: CommandPayload | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_into_payload(cls, data: Any) -> Any:
        # payload_json, and order state stored before payloads were typed, leave the kind to the command.
        if isinstance(data, dict) and isinstance(data.get("payload"), dict) and "kind" not in data["payload"]:
            data = {**data, "payload": {**data["payload"], "kind": data.get("kind")}}
        return data


def command_id(snapshot: OrderSnapshot, target: Target, kind: str, subject: str | None = None) -> str:
    """Ids are deterministic: per order version for state upserts, per Shopify id for one-off records."""
    scope = subject if subject is not None else str(snapshot.version)
    return f"{target.value.lower()}:{kind}:{snapshot.order_id}:{scope}"


def command(snapshot: OrderSnapshot, payload: Payload, subject: str | None = None) -> Command:
    identity = command_id(snapshot, payload.target, payload.kind, subject)
    return Command(command_id=identity, order_id=snapshot.order_id, order_version=snapshot.version,
                   target=payload.target, kind=payload.kind, idempotency_key=identity, payload=payload)

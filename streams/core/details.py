"""What comes back, typed: a command's outcome and what its system said, and each exception type's detail.

Commands go out typed (``streams.core.commands``); these are the answers and the
exceptions, typed the same way, so the engine, the sinks and the inbox read one
model instead of agreeing on dictionary keys. On the wire (``detail_json`` of
``command_result.avsc`` and ``order_exception.avsc``) a detail is the JSON
object it always was: ``wire()`` leaves out what is unset, and the decoders
(``ResultDetail.from_wire``, ``exception_detail``) read records of every release.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, PlainSerializer, ValidationError, field_serializer, model_validator
from pydantic_core import to_jsonable_python

from streams.core.model import Address, Owner, Target, Value


class Outcome(StrEnum):
    """What a sink's command came to (``CommandResult.outcome``)."""

    APPLIED = "APPLIED"  # the system now holds it
    REJECTED = "REJECTED"  # nothing written: the system already holds something else (the detail says what)
    REJECTED_CUTOFF = "REJECTED_CUTOFF"  # nothing written: Peoplevox is past the cut-off
    FAILED = "FAILED"  # refused, or never answered through every attempt


# Each enum of ``order_exception.avsc`` has an UNKNOWN symbol the core never writes: its default, what a reader
# reads for a symbol a later release added (Avro schema resolution of enums).


class ExceptionState(StrEnum):
    OPEN = "OPEN"
    RETRYING = "RETRYING"  # a person asked editsync to try again
    RESOLVED = "RESOLVED"
    IGNORED = "IGNORED"
    UNKNOWN = "UNKNOWN"


class Severity(StrEnum):
    UNKNOWN = "UNKNOWN"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class ExceptionType(StrEnum):
    """What went wrong: one runbook section and handbook entry each. ``OrderException.type`` stays a string on the
    wire (``order_exception.avsc``: expect new types), and a type a later release added is read as its string."""

    UNKNOWN_SKU = "UNKNOWN_SKU"
    EDIT_AFTER_PICK = "EDIT_AFTER_PICK"
    PRICE_LIST_MISMATCH = "PRICE_LIST_MISMATCH"
    RECREATE_AMBIGUOUS = "RECREATE_AMBIGUOUS"
    RECREATE_UNRESOLVED = "RECREATE_UNRESOLVED"
    INVENTORY_LOCATION_UNKNOWN = "INVENTORY_LOCATION_UNKNOWN"
    ORDER_STALLED = "ORDER_STALLED"
    PVX_UPDATE_FAILED = "PVX_UPDATE_FAILED"
    PVX_NO_LIVE_SALES_ORDER = "PVX_NO_LIVE_SALES_ORDER"
    INVENTORY_ADJUST_FAILED = "INVENTORY_ADJUST_FAILED"
    ERP_SYNC_FAILED = "ERP_SYNC_FAILED"
    REFUND_NOT_POSTED = "REFUND_NOT_POSTED"
    SHOPIFY_ACCESS_DENIED = "SHOPIFY_ACCESS_DENIED"
    EDIT_LOCK_FAILED = "EDIT_LOCK_FAILED"  # the lock tag could not be added to, or removed from, the order
    FULFILLMENT_FAILED = "FULFILLMENT_FAILED"  # a Peoplevox despatch could not be posted as a Shopify fulfillment
    PAYMENT_OUTSTANDING = "PAYMENT_OUTSTANDING"  # an edit raised the total and Shopify has not collected it
    REFUND_OWED = "REFUND_OWED"  # an edit lowered the total and the customer has not been refunded


class Detail(Value):
    """A detail: what it says is all it may say, so a misspelt field is an error where it is written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def wire(self) -> dict[str, Any]:
        """As ``detail_json`` carries it: a field left at its default is left out, here and in a nested detail, as
        the dictionaries before it were written."""
        wired: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if value != field.get_default(call_default_factory=True):
                wired[name] = value.wire() if isinstance(value, Detail) else to_jsonable_python(value)
        return {**wired, **to_jsonable_python(self.model_extra or {})}


def _as_tuple(value: Any) -> Any:
    # Before v1.6 a replace's detail named the one sales order it cancelled as a string.
    return (value,) if isinstance(value, str) else value


#: A header field of a sales order: the address's own fields, then the sales order's.
HeaderField = Literal["name", "company", "address1", "address2", "city", "province_code", "zip", "country_code",
                      "phone", "email", "gift_message", "line_notes"]


class HeldHeader(Value):
    """A sales order's header as Peoplevox holds it, read back through the client's templates.

    Only the ``stored`` fields are held: the others (a column configured "", a field editsync never writes, such
    as the phone) are None here and say nothing about the sales order. ``line_notes`` holds each line's Notes
    text by ItemCode, as Peoplevox stores it (``streams.core.peoplevox.notes_by_code``); an empty one is left out.
    """

    address: Address = Address()
    email: str | None = None
    gift_message: str | None = None
    line_notes: tuple[tuple[str, str], ...] = ()
    stored: frozenset[HeaderField] = frozenset()


class Held(Value):
    """A sales order as the sink found it in Peoplevox: its number, status, lines (ItemCode, quantity) and
    header; no header in an answer from a version that did not read it back."""

    number: str
    status: str
    lines: tuple[tuple[str, int], ...]
    header: HeldHeader | None = None


class SystemMessage(Detail):
    """One error as a system worded it: Shopify's GraphQL error or ``UserError`` (``message``, ``code``, ``field``),
    NetSuite's error detail (``detail``, ``o:errorCode``)."""

    message: str | None = None
    code: str | None = None
    field: tuple[str, ...] = ()


def _messages(value: Any) -> Any:
    # Before v1.6 errors were written as the systems spelled them: Shopify's messages, NetSuite's error details.
    if not isinstance(value, list | tuple):
        return value
    return tuple({"message": item} if item is None or isinstance(item, str)
                 else {"message": item.get("detail"), "code": item.get("o:errorCode")}
                 if isinstance(item, dict) and "message" not in item else item for item in value)


class ResultDetail(Detail):
    """What a system said beyond the outcome; every field optional, each one set by the sink or connector
    named beside it (``streams.sinks.executors``, ``connectors``)."""

    status: str | None = None  # Peoplevox: the sales order's status after the write, or the one it refused at
    # Peoplevox: what it holds instead of writing (``number`` also on a failure: the sales order it was about)
    number: str | None = None
    lines: tuple[tuple[str, int], ...] | None = None
    header: HeldHeader | None = None
    cancelled: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = ()  # Peoplevox: sales orders cancelled
    not_created: str | None = None  # Peoplevox: a replace's new sales order, cancelled before it was created
    #: A cancel-and-replace cancelled the old sales order and could not create the new one: the warehouse
    #: holds nothing for the order.
    warehouse_holds_nothing: bool = False
    header_only: bool = False  # Peoplevox: a new sales order's lines were refused and its header stays
    header_cancelled: bool = False  # Peoplevox: ... and its header was cancelled, so none is left without lines
    template: str | None = None  # Peoplevox: the import template of a SaveData that saved fewer rows than sent
    sent: int | None = None
    saved: int | None = None
    refused: tuple[str, ...] = ()  # Peoplevox: the rows an import refused, as it said
    operation: str | None = None  # Peoplevox: the integration service's operation that refused
    adjustment_group: str | None = None  # Shopify: the inventory adjustment group written
    erp_id: str | None = None  # the ERP's internal id of the record written
    http_status: int | None = None  # the HTTP status of a refusal that said nothing else
    error: str | None = None  # NetSuite's OAuth 2.0 error code
    errors: Annotated[tuple[SystemMessage, ...], BeforeValidator(_messages)] = ()
    user_errors: tuple[SystemMessage, ...] = ()  # Shopify: a mutation's userErrors
    body: str | None = None  # the start of an answer the system should not have given
    fields: tuple[str, ...] = ()  # Shopify: the fields of a query it would not show
    required_access: str | None = None  # the permission the system refused for (a Shopify access scope)
    #: The system never answered (5xx, throttled, unreachable) through every attempt. Nothing was refused, so
    #: the command may go again by itself once the system answers again.
    gave_up: bool = False
    other: dict[str, Any] = {}  # what a record carried that this release does not know, kept to be shown

    @classmethod
    def from_wire(cls, value: dict[str, Any]) -> ResultDetail:
        if isinstance(value.get("status"), int):  # before v1.6 an HTTP status was "status", as Peoplevox's is
            value = {**{k: v for k, v in value.items() if k != "status"}, "http_status": value["status"]}
        known = {key: item for key, item in value.items() if key in cls.model_fields and key != "other"}
        unknown = {key: item for key, item in value.items() if key not in known}
        return cls.model_validate({**known, "other": unknown} if unknown else known)

    def wire(self) -> dict[str, Any]:
        # What ``other`` keeps goes back out as it came in, so a later release reads its own fields again.
        wired = super().wire()
        return {**wired.pop("other", {}), **wired}

    def held(self, target: Target) -> Held | None:
        """What a Peoplevox sink found held instead of writing, if it says."""
        if target is not Target.PEOPLEVOX or self.number is None or self.lines is None:
            return None
        return Held(number=self.number, status=self.status or "", lines=tuple(sorted(self.lines)),
                    header=self.header)


#: A result detail read from and written as its wire form, wherever a model carries one.
WireResultDetail = Annotated[
    ResultDetail,
    BeforeValidator(lambda value: ResultDetail.from_wire(value) if isinstance(value, dict) else value),
    PlainSerializer(lambda detail: detail.wire()),
]


# --- exception details, one per exception type ----------------------------------------------


class FailureDetail(Detail):
    """A command its system refused or never answered (``*_FAILED``, ``REFUND_NOT_POSTED``,
    ``PVX_NO_LIVE_SALES_ORDER``, and ``SHOPIFY_ACCESS_DENIED`` of a write)."""

    command_id: str
    target: Target
    outcome: Outcome
    reason: str | None = None
    detail: WireResultDetail = ResultDetail()
    auto_retries: int = 0  # how often editsync re-sent it by itself


class ReadDeniedDetail(Detail):
    """``SHOPIFY_ACCESS_DENIED`` of a read: Shopify would not show the order."""

    required_access: str
    reason: str


class WaitingDetail(Detail):
    """``ORDER_STALLED``, ``RECREATE_UNRESOLVED``: what the order waits for (``streams.core.holds.Wait``), since
    when (epoch ms)."""

    waiting_for: str
    since: int


class UnknownSkuDetail(Detail):
    skus: tuple[str, ...]


class RecreateAmbiguousDetail(Detail):
    predecessor: str  # the original order's reference, as the marker names it
    reason: str


class FieldChange(Detail):
    before: Any = None
    after: Any = None


class SalesOrderDiff(Detail):
    """How a sales order would change (ItemCode → quantity; a changed line as [before, after])."""

    lines_added: dict[str, int] = {}
    lines_changed: dict[str, tuple[int, int]] = {}
    lines_removed: dict[str, int] = {}
    cancel: str | None = None  # the sales order a cancel is for
    address: FieldChange | None = None
    email: FieldChange | None = None
    gift_message: FieldChange | None = None
    line_notes: FieldChange | None = None

    @property
    def touches_lines(self) -> bool:
        return bool(self.lines_added or self.lines_changed or self.lines_removed)

    def header_changes(self) -> dict[str, FieldChange]:
        fields = {"address": self.address, "email": self.email, "gift_message": self.gift_message,
                  "line_notes": self.line_notes}
        return {name: change for name, change in fields.items() if change is not None}


class EditAfterPickDetail(Detail):
    status: str | None  # the warehouse's status when the order changed
    change: str  # the change that was not sent: create, update, replace or cancel
    diff: SalesOrderDiff = SalesOrderDiff()


class PriceMismatch(Detail):
    line_id: str
    sku: str | None = None
    variant_id: str | None = None
    charged: str  # decimal, as Shopify spells money
    price_list: str | None = None  # the agreed price; none: the company's catalog does not include the item


class PriceListDetail(Detail):
    lines: tuple[PriceMismatch, ...]


class BalanceDetail(Detail):
    """``PAYMENT_OUTSTANDING``, ``REFUND_OWED``: what Shopify says is still to collect (or to give back, as a
    positive amount), in the order's currency, and since when (epoch ms)."""

    amount: str  # decimal, as Shopify spells money
    currency: str
    since: int


class LocationUnknownDetail(Detail):
    line_ids: tuple[str, ...]


class UnknownDetail(Detail):
    """A detail of a type this release does not know (written by a later one): kept to be shown."""

    model_config = ConfigDict(frozen=True, extra="allow")


ExceptionDetail = (FailureDetail | ReadDeniedDetail | WaitingDetail | UnknownSkuDetail | RecreateAmbiguousDetail
                   | EditAfterPickDetail | PriceListDetail | BalanceDetail | LocationUnknownDetail | UnknownDetail)

#: The detail each rule or hold exception type carries; the failure types carry a ``FailureDetail``.
DETAIL_OF_TYPE: dict[str, type[Detail]] = {
    ExceptionType.UNKNOWN_SKU: UnknownSkuDetail, ExceptionType.RECREATE_AMBIGUOUS: RecreateAmbiguousDetail,
    ExceptionType.EDIT_AFTER_PICK: EditAfterPickDetail, ExceptionType.PRICE_LIST_MISMATCH: PriceListDetail,
    ExceptionType.INVENTORY_LOCATION_UNKNOWN: LocationUnknownDetail, ExceptionType.ORDER_STALLED: WaitingDetail,
    ExceptionType.RECREATE_UNRESOLVED: WaitingDetail, ExceptionType.PAYMENT_OUTSTANDING: BalanceDetail,
    ExceptionType.REFUND_OWED: BalanceDetail}


def exception_detail(exception_type: str, value: Any) -> Any:
    """The detail model of an exception of ``exception_type`` from its wire form (a model passes through)."""
    if not isinstance(value, dict):
        return value
    model: type[Detail] = (FailureDetail if "command_id" in value else ReadDeniedDetail if "required_access" in value
                           else DETAIL_OF_TYPE.get(exception_type, UnknownDetail))
    try:
        return model.model_validate(value)
    except ValidationError:
        return UnknownDetail.model_validate(value)  # written before its type's detail had this shape: shown as it is


class OrderException(Value):
    """Something a person must see (an ``exceptions.v1`` record), owned by one team."""

    exception_id: str
    order_id: str
    order_name: str | None
    type: str
    owner: Owner
    severity: Severity
    summary: str
    detail: ExceptionDetail
    suggested_action: str
    state: ExceptionState = ExceptionState.OPEN  # RESOLVED and IGNORED by the engine or a person
    first_seen: int = 0
    last_seen: int = 0
    actor: str | None = None  # who retried, resolved or ignored it; None when the engine changed it
    note: str | None = None  # what that person wrote

    @model_validator(mode="before")
    @classmethod
    def _typed_detail(cls, value: Any) -> Any:
        if isinstance(value, dict) and "detail" in value:
            return {**value, "detail": exception_detail(str(value.get("type")), value["detail"])}
        return value

    @field_serializer("detail")
    def _wire_detail(self, detail: Detail) -> dict[str, Any]:
        return detail.wire()

    def same_facts(self, other: OrderException) -> bool:
        """The same cause, whatever anyone did about it."""
        fields = ("type", "owner", "severity", "summary", "detail")
        return all(getattr(self, f) == getattr(other, f) for f in fields)

    def same_content(self, other: OrderException) -> bool:
        return self.same_facts(other) and self.state == other.state

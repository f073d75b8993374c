"""What the ERP should record for an order: the sales order, payments, credit memos; B2B prices.

The ERP sales order is upserted by Shopify order id as external id, so a
second "order updated" can never create a second sales order. Payments and
credit memos are keyed by Shopify's own transaction and refund ids.

:func:`plan_commands` is the ERP part of a reconcile; :func:`acknowledge`
records what the ERP confirmed.
"""

from __future__ import annotations

import hashlib
import json

from streams.core.commands import (
    Command,
    CreateCreditMemo,
    CreditMemoLine,
    ErpLine,
    ErpPayload,
    ErpSalesOrder,
    RecordPayment,
    UpsertSalesOrder,
    command,
)
from streams.core.details import BalanceDetail, ExceptionType, PriceListDetail, PriceMismatch, Severity
from streams.core.exceptions import Wanted
from streams.core.model import OrderSnapshot, Owner, Refund, Target, Transaction
from streams.core.reference import PriceLists, Reference
from streams.core.state import OrderState

CAPTURED_KINDS = frozenset({"SALE", "CAPTURE"})


def erp_sales_order(snapshot: OrderSnapshot) -> ErpSalesOrder:
    """The sales order as the ERP should hold it: the live lines, or for a cancelled order every line
    it ever sold (so an order cancelled before the ERP saw it can still be recorded, closed)."""
    lines = [(line, line.units_sold) for line in snapshot.lines if line.units_sold > 0] if snapshot.cancelled \
        else [(line, line.quantity) for line in snapshot.lines if line.quantity > 0]
    return ErpSalesOrder(
        external_id=snapshot.order_id, number=snapshot.name, currency=snapshot.currency, total=snapshot.total,
        tax=snapshot.tax, cancelled=snapshot.cancelled, customer_id=snapshot.customer_id, email=snapshot.email,
        lines=tuple(ErpLine(line_id=line.line_id, sku=line.sku, quantity=quantity, unit_price=line.unit_price)
                    for line, quantity in lines))


def credit_memo_lines(snapshot: OrderSnapshot, refund: Refund) -> tuple[CreditMemoLine, ...]:
    """A refund's lines with what a credit memo needs from the order line: SKU and unit price."""
    sold = {line.line_id: line for line in snapshot.lines}
    return tuple(CreditMemoLine(**line.model_dump(), sku=sold[line.line_id].sku if line.line_id in sold else None,
                                unit_price=sold[line.line_id].unit_price if line.line_id in sold else None)
                 for line in refund.lines)


def fingerprint(record: ErpSalesOrder) -> str:
    """Stable digest of what the ERP holds, to tell whether an upsert is needed (stored per order: keep stable)."""
    return hashlib.sha256(json.dumps(record.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:24]


def captured_payments(snapshot: OrderSnapshot) -> list[Transaction]:
    return [t for t in snapshot.transactions if t.kind in CAPTURED_KINDS and t.status == "SUCCESS"]


def price_list_mismatches(snapshot: OrderSnapshot, price_lists: PriceLists) -> list[PriceMismatch]:
    """B2B lines added after checkout at a price other than the company location's price list, or of an item its
    catalog does not include (Shopify charges such a line the retail price: "incorrect retail pricing to a
    wholesale Sales Order")."""
    mismatches = []
    location = snapshot.company_location_id
    for line in snapshot.lines:
        if line.quantity <= 0 or line.original_quantity != 0:
            continue
        agreed = price_lists.agreed_price(location, line.variant_id)
        if agreed != line.unit_price and (agreed is not None or price_lists.has_catalog(location)):
            mismatches.append(PriceMismatch(line_id=line.line_id, sku=line.sku, variant_id=line.variant_id,
                                            charged=str(line.unit_price),
                                            price_list=None if agreed is None else str(agreed)))
    return mismatches


def changed_after_checkout(snapshot: OrderSnapshot) -> bool:
    """A line added, removed or changed in quantity since checkout: an edit (or a refund) moved the total."""
    return any(line.quantity != line.original_quantity for line in snapshot.lines)


def track_balance(state: OrderState, snapshot: OrderSnapshot, now: int) -> OrderState:
    """Start the grace of a balance Shopify shows on an edited order; end it when nothing is owed either way.

    An unedited order with money outstanding (payment terms, a manual payment method) is its payment's business,
    not an edit's: it is not timed."""
    owed = bool(snapshot.outstanding) and not snapshot.cancelled and changed_after_checkout(snapshot)
    if owed == (state.balance_since is not None):
        return state
    return state.model_copy(update={"balance_since": now if owed else None})


def balance_due(state: OrderState, grace_ms: int) -> int | None:
    """When the balance becomes a person's to settle; None: nothing owed."""
    return None if state.balance_since is None else state.balance_since + grace_ms


def want_balance(state: OrderState, snapshot: OrderSnapshot, grace_ms: int, now: int, want: Wanted) -> None:
    """After the grace payment apps need to charge or refund an edit's difference, what is left is finance's."""
    due = balance_due(state, grace_ms)
    if due is None or now < due or snapshot.outstanding is None:
        return
    amount, currency = abs(snapshot.outstanding), snapshot.currency
    detail = BalanceDetail(amount=str(amount), currency=currency, since=state.balance_since or now)
    if snapshot.outstanding > 0:
        want(ExceptionType.PAYMENT_OUTSTANDING, Owner.FINANCE, Severity.MEDIUM,
             f"{snapshot.display_name}: the customer owes {amount} {currency} since an edit; Shopify has not "
             "collected it.", detail,
             "Send the customer Shopify's invoice for it (the order's Collect payment → Send invoice) or record "
             "the payment in Shopify; this resolves itself once Shopify shows nothing outstanding.")
    else:
        want(ExceptionType.REFUND_OWED, Owner.FINANCE, Severity.MEDIUM,
             f"{snapshot.display_name}: {amount} {currency} is owed back to the customer since an edit.", detail,
             "Refund it in Shopify (the ERP's credit memo follows the refund); this resolves itself once Shopify "
             "shows nothing owed.")


def plan_commands(state: OrderState, snapshot: OrderSnapshot, reference: Reference, want: Wanted) -> list[Command]:
    mismatches = price_list_mismatches(snapshot, reference.price_lists)
    if mismatches:
        want(ExceptionType.PRICE_LIST_MISMATCH, Owner.FINANCE, Severity.MEDIUM,
             f"{snapshot.display_name}: an added line is not at the company's agreed price, or not in its catalog.",
             PriceListDetail(lines=tuple(mismatches)),
             "Correct the price in Shopify (or replace an item the company's catalog does not include), or "
             "approve the difference, then retry.")
    commands = []
    in_flight_kinds = {c.kind for c in state.in_flight.values() if c.target is Target.ERP}
    record = erp_sales_order(snapshot)
    digest = fingerprint(record)
    if state.erp_fingerprint != digest and "upsert_sales_order" not in in_flight_kinds:
        commands.append(command(snapshot, UpsertSalesOrder(sales_order=record, fingerprint=digest)))
    if state.erp_fingerprint is None:
        return commands  # payments and credit memos attach to a sales order the ERP already has
    for payment in captured_payments(snapshot):
        if payment.transaction_id not in state.erp_payments:
            commands.append(command(snapshot, RecordPayment(
                external_id=snapshot.order_id, transaction_id=payment.transaction_id, amount=payment.amount,
                currency=snapshot.currency), payment.transaction_id))
    for refund in snapshot.refunds:
        # A refund with no money (a restock-only cancellation of unpaid units) gives nothing back: no credit memo.
        if refund.amount > 0 and refund.refund_id not in state.erp_credit_memos:
            commands.append(command(snapshot, CreateCreditMemo(
                external_id=snapshot.order_id, refund_id=refund.refund_id, amount=refund.amount,
                currency=snapshot.currency, lines=credit_memo_lines(snapshot, refund)), refund.refund_id))
    return commands


def acknowledge(state: OrderState, payload: ErpPayload) -> OrderState:
    if isinstance(payload, UpsertSalesOrder):
        return state.model_copy(update={"erp_fingerprint": payload.fingerprint})
    if isinstance(payload, RecordPayment):
        return state.model_copy(update={"erp_payments": state.erp_payments | {payload.transaction_id}})
    return state.model_copy(update={"erp_credit_memos": state.erp_credit_memos | {payload.refund_id}})

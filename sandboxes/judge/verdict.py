"""Per order, everything a merchant checks, against the rules; then the totals.

A mismatch is explained only by an open exception of the expected type and
owner on that same order (``rules.EXPLAINED_BY``; for an edit after the
cut-off, ``EDIT_AFTER_PICK`` and only while Peoplevox holds exactly the
pre-edit sales order). A missing exception the rules call for is itself a
mismatch, which nothing explains. An order that should ship and has no live
sales order is lost unless explained; a recreated order that never reached
the warehouse is lost whatever is open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandboxes.judge import rules
from sandboxes.judge.adapters import shop_order
from sandboxes.judge.models import (
    Erp,
    Level,
    MerchantReference,
    Mismatch,
    OpenException,
    OrderVerdict,
    Plan,
    Shop,
    ShopOrder,
    Verdict,
    Warehouse,
    WarehouseSalesOrder,
)


@dataclass
class Findings:
    """One order's mismatches, each with the exceptions that would explain it."""

    items: list[tuple[Mismatch, frozenset[tuple[str, str]]]] = field(default_factory=list)

    def check(self, name: str, expected: Any, actual: Any,
              explained_by: frozenset[tuple[str, str]] | None = None) -> None:
        if expected != actual:
            area = name.split(".", 1)[0]
            self.items.append((Mismatch(field=name, expected=_show(expected), actual=_show(actual)),
                               rules.EXPLAINED_BY[area] if explained_by is None else explained_by))


def judge(plans: Iterable[Plan], shop: Shop, warehouse: Warehouse, erp: Erp, exceptions: Iterable[OpenException],
          reference: MerchantReference, start_stock: dict[Level, int] | None = None,
          cutoff: str = "Picking") -> Verdict:
    plans = list(plans)
    open_by_order: dict[str, set[tuple[str, str]]] = {}
    for exception in exceptions:
        open_by_order.setdefault(exception.order_id, set()).add((exception.type, exception.owner))
    verdicts = [_order(plan, shop, warehouse, erp, open_by_order.get(str(plan.order_id), set()), reference, cutoff)
                for plan in plans]
    stock = _stock_levels(shop, start_stock) if start_stock is not None else []
    counts = Counter(kind for plan in plans for kind, _ in open_by_order.get(str(plan.order_id), set()))
    successors = [v for v, p in zip(verdicts, plans, strict=True) if p.successor_of is not None]
    totals = {
        "orders": len(verdicts),
        "in_sync": sum(v.in_sync for v in verdicts),
        "mismatched_orders": sum(not v.in_sync for v in verdicts),
        "explained": sum(bool(v.mismatches) and not v.unexplained for v in verdicts),
        "unexplained": sum(bool(v.unexplained) for v in verdicts),
        "mismatches_explained": sum(len(v.mismatches) - len(v.unexplained) for v in verdicts),
        "mismatches_unexplained": sum(len(v.unexplained) for v in verdicts),
        "lost_orders": sum(v.lost for v in verdicts),
        "duplicate_sales_orders": sum(max(0, v.live_sales_orders - (0 if p.superseded else 1))
                                      for v, p in zip(verdicts, plans, strict=True)),
        "recreated": len(successors),
        "recreated_released": sum(v.live_sales_orders > 0 for v in successors),
        "stock_levels_wrong": len(stock),
        "exceptions_by_type": dict(sorted(counts.items())),
    }
    return Verdict(orders=tuple(verdicts), stock=tuple(stock), totals=totals)


def _order(plan: Plan, shop: Shop, warehouse: Warehouse, erp: Erp, open_exceptions: set[tuple[str, str]],
           reference: MerchantReference, cutoff: str) -> OrderVerdict:
    order = shop.orders[plan.order_id]
    findings = Findings()
    held = sorted((so for so in warehouse.sales_orders if so.reference == str(order.order_id)),
                  key=lambda so: so.number)
    live = [so for so in held if so.status != rules.CANCELLED]
    expected = rules.sales_order(order, reference, warehouse.item_codes)
    if isinstance(expected, rules.Held):
        findings.check("exceptions.UNKNOWN_SKU", f"open ({rules.OPS})", _owners(open_exceptions, "UNKNOWN_SKU"))
        expected = None
    if plan.superseded:
        expected = None
    _peoplevox(findings, plan, expected, held, warehouse, reference, cutoff)
    returned = rules.returns(order, reference) if expected is not None else {}
    numbers = {so.number for so in held}
    actual_returns: Counter[str] = Counter()
    for row in warehouse.returns:
        if row.sales_order_number in numbers:
            actual_returns[row.item_code] += row.quantity
    findings.check("peoplevox.returns", returned, dict(actual_returns))
    despatched: Counter[str] = Counter()
    for despatch in warehouse.despatches:
        if despatch.sales_order_number in numbers:
            despatched.update(despatch.items)
    fulfilled = rules.fulfilled_codes(order, reference)
    # Units fulfilled by other means (by hand, another connector) are not the warehouse's to explain.
    findings.check("shopify.fulfilled", dict(despatched),
                   {code: min(units, fulfilled.get(code, 0)) for code, units in despatched.items()})
    _erp(findings, order, erp)
    made, due = shop.adjustments.get(order.order_id, {}), rules.editsync_adjustments(order)
    for level in sorted(set(made) | set(due)):
        findings.check(f"stock.{_level_name(shop, level)}", due.get(level, 0), made.get(level, 0))
    owed = rules.balance_owed(order)
    if owed:
        kind = "PAYMENT_OUTSTANDING" if owed > 0 else "REFUND_OWED"
        findings.check(f"exceptions.{kind}", f"open ({rules.FINANCE})", _owners(open_exceptions, kind))
    if rules.price_list_breaches(order, reference):
        findings.check("exceptions.PRICE_LIST_MISMATCH", f"open ({rules.FINANCE})",
                       _owners(open_exceptions, "PRICE_LIST_MISMATCH"))
    mismatches = tuple(m for m, _ in findings.items)
    unexplained = tuple(m for m, accepted in findings.items if not accepted & open_exceptions)
    should_ship = expected is not None
    no_live_unexplained = any(m.field == "peoplevox.live_sales_orders" for m in unexplained)
    return OrderVerdict(
        order_id=order.order_id, name=order.name, did="+".join(plan.kinds), mismatches=mismatches,
        unexplained=unexplained, open_exceptions=tuple(sorted(f"{t}/{o}" for t, o in open_exceptions)),
        lost=should_ship and not live and (plan.successor_of is not None or no_live_unexplained),
        live_sales_orders=len(live))


def _peoplevox(findings: Findings, plan: Plan, expected: rules.ExpectedSalesOrder | None,
               held: list[WarehouseSalesOrder], warehouse: Warehouse, reference: MerchantReference,
               cutoff: str) -> None:
    live = [so for so in held if so.status != rules.CANCELLED]
    want_live = 0 if expected is None else 1
    if want_live and held and not live:
        # It was in the warehouse and was cancelled, nothing replaced it: only "the warehouse holds nothing"
        # tells ops what is at stake (a failed update does not).
        findings.check("peoplevox.live_sales_orders", want_live, 0,
                       rules.HELD | {("PVX_NO_LIVE_SALES_ORDER", rules.OPS)})
        return
    picked = len(live) == 1 and rules.past_cutoff(live[0].status, cutoff)
    if picked and plan.at_cutoff is not None:
        # The warehouse owns the order: handled only if it still holds exactly what was due when picking started.
        before = rules.sales_order(_at_cutoff(plan), reference, warehouse.item_codes)
        before = None if isinstance(before, rules.Held) else before
        if before is not None and _holds(live[0], before) and (expected is None or not _holds(live[0], expected)):
            lines_changed = expected is None or expected.lines != before.lines or expected.notes != before.notes
            owner = rules.OPS if lines_changed else rules.CX
            findings.check("peoplevox.edit_after_cutoff", "the edit", f"pre-edit sales order held ({live[0].status})",
                           frozenset({("EDIT_AFTER_PICK", owner)}))
            return
    findings.check("peoplevox.live_sales_orders", want_live, len(live))
    if expected is None or not live:
        return
    so = live[0]
    findings.check("peoplevox.lines", expected.lines, so.lines)
    findings.check("peoplevox.notes", expected.notes, so.notes)
    for name, value in expected.header:
        findings.check(f"peoplevox.{name}", value, getattr(so.header, name))


def _holds(so: WarehouseSalesOrder, expected: rules.ExpectedSalesOrder) -> bool:
    return so.lines == expected.lines and so.notes == expected.notes and so.header == expected.header


def _at_cutoff(plan: Plan) -> ShopOrder:
    """Shopify's order as it was when picking started (its stock levels do not matter here)."""
    assert plan.at_cutoff is not None
    return shop_order(plan.at_cutoff, lambda variant, location: None)


def _erp(findings: Findings, order: ShopOrder, erp: Erp) -> None:
    key = str(order.order_id)
    so = erp.sales_orders.get(key)
    findings.check("erp.sales_order", "present", "present" if so else "missing")
    if so is not None:
        findings.check("erp.closed", order.cancelled, so.closed)
        if not order.cancelled:
            findings.check("erp.lines", rules.erp_open_lines(order), so.open_lines)
            findings.check("erp.total", order.total, so.total)
    received = [m for m in erp.received if m.order_external_id == key]
    memos = [m for m in erp.credit_memos if m.order_external_id == key]
    findings.check("erp.money_received", rules.money_received(order), sorted(m.amount for m in received))
    findings.check("erp.credit_memos", rules.credit_memos(order), sorted(m.amount for m in memos))
    if so is not None and so.customer is not None:
        # Linked to the sales order means the sales order's customer too, where the ERP records one.
        strangers = sorted(m.external_id for m in (*received, *memos) if m.customer not in (None, so.customer))
        findings.check("erp.customer", [], strangers)


def _stock_levels(shop: Shop, start: dict[Level, int]) -> list[Mismatch]:
    expected = rules.stock_levels(start, shop.orders.values())
    return [Mismatch(field=f"stock.{_level_name(shop, level)}", expected=str(expected.get(level, 0)),
                     actual=str(shop.stock.get(level, 0)))
            for level in sorted(set(expected) | set(shop.stock)) if expected.get(level, 0) != shop.stock.get(level, 0)]


def _owners(open_exceptions: set[tuple[str, str]], kind: str) -> str:
    owners = sorted(owner for t, owner in open_exceptions if t == kind)
    return f"open ({', '.join(owners)})" if owners else "none"


def _level_name(shop: Shop, level: Level) -> str:
    return f"{shop.sku_of_item.get(level.inventory_item_id, level.inventory_item_id)}@{level.location_id}"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in sorted(value.items())) or "none"
    if isinstance(value, (list, tuple, frozenset, set)):
        return "[" + ", ".join(_show(v) for v in sorted(value)) + "]"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "none" if value is None else str(value)

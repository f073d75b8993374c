"""Issue 19's order through the broker: 40 lines (bundles included), 10 edits and 6 refunds across two locations.

The merchant has a second warehouse, 37 parts stocked at both, the parts in
Peoplevox's item types and NetSuite's items, a Shopify bundle (its components
arrive as grouped lines) and two kits that only editsync's reference data
knows (the warehouse stocks their components, never the kit). The order is
placed, edited ten times and refunded three times by hand in the Shopify
sandbox, in three steps with editsync catching up between them. Everything
goes the production way: signed webhooks over HTTP, the order read back page
by page through the Admin API (its cost bucket refilled at a Plus shop's
1,000 points/s), Peoplevox over SOAP, stock through
``inventoryAdjustQuantities``, NetSuite over REST.

What each system must hold is derived from the Shopify store's own records
and the kit definitions below, never from editsync's core:

- Peoplevox, by the demo's judge (``sandboxes/judge``, given the kits in the
  reference file; it judges stock and the ERP too): one live sales order
  whose lines are, per ItemCode, every line's current quantity plus the units refunded as returns (Shopify:
  ``RETURN`` is for "line items that were fulfilled", so those units left
  the warehouse), kits as their components; a return per returned unit.
- Shopify stock, per inventory item AND location: what was there before,
  less what leaves the shelf for the order (at the line's own location),
  plus what came back where the merchant restocked it. Nothing else moves:
  units taken off without restock go back to their line's location, and
  Shopify's own restocks are not doubled.
- NetSuite: one sales order holding exactly the order's current lines and
  total, a customer deposit per captured payment and a credit memo per
  refund, all for the sales order's customer and linked to it.

The judge must also agree on the ERP (its own reading of the same rules).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandboxes.judge.models import Plan
from sandboxes.shopify.server import order_summary
from sandboxes.shopify.store import Line, Order, Variant
from sandboxes.stack import SandboxStack
from sandboxes.testkit.kafka_reader import read_topic
from sandboxes.testkit.pipeline import CODEC, Pipeline, pipeline_on_own_broker
from sandboxes.testkit.shopify_big_order import (
    BigOrder,
    add_second_location,
    checkout,
    is_complete,
    make_edits,
    make_refunds,
    stock_parts,
)
from streams.kafka import topics

#: Kits in editsync's reference data: Shopify sells the kit's SKU, the warehouse ships its components.
#: PART-03 is edited up at the main warehouse; PART-09 is the line returned at the second warehouse, and
#: its components overlap with another kit and with a line of the order, so ItemCodes must add up.
KITS: dict[str, tuple[tuple[str, int], ...]] = {"PART-03": (("KIT-A", 1), ("KIT-B", 2)),
                                                "PART-09": (("KIT-B", 1), ("PART-02", 1))}
STEP_TIMEOUT_S = 45.0
QUIET_S = 3.0  # after the last step: long enough for a late duplicate effect to show


@dataclass
class Merchant:
    """Sets the big order's merchant up in every system before editsync starts (it reads item types then)."""

    parts: list[Variant] = field(default_factory=list)
    main: int = 0
    second: int = 0

    def __call__(self, stack: SandboxStack) -> dict[str, Any]:
        shop = stack.shop
        self.main = next(iter(shop.locations))
        self.second = add_second_location(shop)
        self.parts = stock_parts(shop)
        components = {code for kit in KITS.values() for code, _ in kit}
        with stack.warehouse.lock:
            stack.warehouse.item_types.update({code: code.title() for code in components})
            stack.warehouse.item_types.update({p.sku: p.title for p in self.parts if p.sku not in KITS})
        for part in self.parts:
            stack.erp.add_item(part.sku)
        return {"bundles": {sku: [list(component) for component in kit] for sku, kit in KITS.items()}}


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return Merchant()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, merchant):
    with pipeline_on_own_broker(tmp_path_factory.mktemp("big-order"), merchant=merchant) as running:
        yield running


# --- what each system must hold, from the Shopify store's records ---------------------------------


def stock(pipeline: Pipeline, before: dict[str, int], order: Order, items: set[int]) -> dict[str, int]:
    """Per ``<inventory item>@<location>`` of the order's items: before, less what leaves, plus what came back."""
    shop = pipeline.sandboxes.shop

    def level(line: Line, location_id: int | None) -> str:
        return f"{shop.variants[line.variant_id].inventory_item_id}@{location_id}"

    expected = {key: units for key, units in before.items() if int(key.split("@")[0]) in items}
    for line in order.lines:
        expected[level(line, line.location_id)] -= line.current_quantity
    for refund in order.refunds:
        for refunded in refund.lines:
            if refunded.restock_type == "RETURN":  # shipped from the line's warehouse, back where restocked
                line = order.line(refunded.line_id)
                expected[level(line, line.location_id)] -= refunded.quantity
                expected[level(line, refunded.location_id)] += refunded.quantity
    return expected


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def item_lines(record: dict[str, Any]) -> dict[str, tuple[str, int, Decimal, bool]]:
    """A NetSuite record's item lines by Shopify line id: item, quantity, rate, closed."""
    return {line["custcol_shopify_line_id"]: (line["item"]["refName"], int(line["quantity"]), money(line["rate"]),
                                              bool(line.get("isClosed")))
            for line in record["item"]["items"]}


def differing(got: dict[Any, Any], want: dict[Any, Any]) -> dict[Any, tuple[Any, Any]]:
    return {key: (got.get(key), want.get(key)) for key in got.keys() | want.keys() if got.get(key) != want.get(key)}


# --- judging ----------------------------------------------------------------------------------------


def state(pipeline: Pipeline, system: str) -> dict[str, Any]:
    return httpx.get(f"{pipeline.sandboxes.control_url(system)}/state", timeout=10).json()


def mismatches(pipeline: Pipeline, big: BigOrder, stock_before: dict[str, int]) -> list[str]:
    """Everything that differs from what the Shopify order says each system must hold (empty: exact)."""
    with pipeline.sandboxes.shop.lock:
        order = big.order
        items = {pipeline.sandboxes.shop.variants[line.variant_id].inventory_item_id for line in order.lines}
        want_stock = stock(pipeline, stock_before, order, items)
        want_erp = {str(line.id): (line.sku, line.current_quantity, money(line.price), False)
                    for line in order.lines if line.current_quantity > 0}
        want_total = money(order.total)
        want_deposits = {f"shopify-txn-{t.id}": money(t.amount) for t in order.transactions
                         if t.kind in ("SALE", "CAPTURE") and t.status == "SUCCESS"}
        want_memos = {f"shopify-refund-{r.id}": {str(rl.line_id): (order.line(rl.line_id).sku, rl.quantity,
                                                                  money(order.line(rl.line_id).price), False)
                                                 for rl in r.lines} for r in order.refunds}
        want_memo_totals = {f"shopify-refund-{r.id}": money(r.amount) for r in order.refunds}
    # The demo's judge is a second opinion on every system, stock included (the return below restocks its unit
    # at the second warehouse, as the merchant chose: the judge puts it there too).
    verdict = pipeline.verdict()
    wrong = [f"judge: {m.field}: expected {m.expected}, has {m.actual}"
             for m in (*verdict.order(order.id).mismatches, *verdict.stock)]

    peoplevox = state(pipeline, "peoplevox")
    ours = {number: so for number, so in peoplevox["sales_orders"].items() if so["reference"] == str(order.id)}
    live = [so for so in ours.values() if so["status"] != "Cancelled"]
    if len(live) != 1:
        wrong.append(f"Peoplevox: {len(live)} live sales orders, not one")

    got_stock = {key: level for key, level in state(pipeline, "shopify")["stock"].items() if key in want_stock}
    if got_stock != want_stock:
        wrong.append(f"Shopify stock (got, expected): {differing(got_stock, want_stock)}")

    erp = state(pipeline, "erp")
    so = erp["salesOrder"].get(str(order.id))
    if so is None:
        return [*wrong, "NetSuite: no sales order"]
    if [n for n, record in erp["salesOrder"].items() if record.get("otherRefNum") == order.name] != [str(order.id)]:
        wrong.append("NetSuite: more than one sales order for the order")
    if len(so["item"]["items"]) != len(want_erp) or item_lines(so) != want_erp:
        wrong.append(f"NetSuite lines: {len(so['item']['items'])}, expected {len(want_erp)} (got, expected): "
                     f"{differing(item_lines(so), want_erp)}")
    if money(so["total"]) != want_total:
        wrong.append(f"NetSuite total {so['total']}, expected {want_total}")
    if so["orderStatus"]["id"] != "B":
        wrong.append(f"NetSuite status {so['orderStatus']}, expected pending fulfilment")
    deposits = {eid: d for eid, d in erp["customerDeposit"].items() if d["salesOrder"]["id"] == so["id"]}
    if {eid: money(d["payment"]) for eid, d in deposits.items()} != want_deposits:
        wrong.append(f"NetSuite deposits {sorted(deposits)}, expected {sorted(want_deposits)}")
    if any(d["customer"]["id"] != so["entity"]["id"] for d in deposits.values()):
        wrong.append("NetSuite: a deposit for another customer")
    if want_deposits.keys() & erp["customerPayment"].keys():
        wrong.append("NetSuite: a customer payment (applied to invoices) for an order never billed")
    memos = {eid: m for eid, m in erp["creditMemo"].items() if m.get("custbody_shopify_order_id") == str(order.id)}
    if {eid: item_lines(m) for eid, m in memos.items()} != want_memos:
        wrong.append(f"NetSuite credit memos {sorted(memos)}, expected {sorted(want_memos)} (or their lines differ)")
    if {eid: money(m["total"]) for eid, m in memos.items()} != {eid: want_memo_totals[eid] for eid in memos}:
        wrong.append("NetSuite: a credit memo's total is not its refund's")
    if any(m["entity"]["id"] != so["entity"]["id"] for m in memos.values()):
        wrong.append("NetSuite: a credit memo for another customer")
    return wrong


def exceptions_of(pipeline: Pipeline, order_id: int) -> list[dict[str, Any]]:
    """The order's exceptions on ``exceptions.v1``, each as its latest record (summary included)."""
    latest = {}
    for message in read_topic(pipeline.bootstrap, topics.EXCEPTIONS, idle_s=1.0):
        record = CODEC.decode(topics.EXCEPTIONS, message.value())
        latest[record["exception_id"]] = record
    return [record for record in latest.values() if record["order_id"] == str(order_id)]


def reaches_every_system(pipeline: Pipeline, big: BigOrder, stock_before: dict[str, int], step: str) -> float:
    started = time.monotonic()
    deadline = started + STEP_TIMEOUT_S
    while True:
        wrong = mismatches(pipeline, big, stock_before)
        if not wrong:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise AssertionError(f"after {step}, not exact within {STEP_TIMEOUT_S}s:\n" + "\n".join(wrong) +
                                 f"\n{pipeline.service.log()}")
        time.sleep(0.5)


def test_the_40_line_order_reaches_peoplevox_stock_and_the_erp_exactly(pipeline, merchant):
    shop = pipeline.sandboxes.shop
    with shop.lock:
        stock_before = {f"{item}@{location}": level for (item, location), level in shop.levels.items()}
    big = checkout(shop, merchant.parts, pipeline.variants["GIFT-BOX"], merchant.main, merchant.second)
    with shop.lock:
        pipeline.demo.plans[big.order.id] = Plan.of(order_summary(big.order), ["create"])
    took = {"checkout": reaches_every_system(pipeline, big, stock_before, "checkout")}
    make_edits(shop, big)
    took["edits"] = reaches_every_system(pipeline, big, stock_before, "ten edits")
    make_refunds(shop, big)
    took["refunds"] = reaches_every_system(pipeline, big, stock_before, "three refunds")
    assert is_complete(big), "the order issue 19 names: 40 lines, 10 edits, 6 refunds"
    assert {line.location_id for line in big.order.lines} == {merchant.main, merchant.second}
    time.sleep(QUIET_S)
    assert mismatches(pipeline, big, stock_before) == [], "still exact once everything in flight has landed"

    # The order was exact in each system at each step, through the replacement Peoplevox needs when a line goes.
    sales_orders = [so for so in state(pipeline, "peoplevox")["sales_orders"].values()
                    if so["reference"] == str(big.order.id)]
    assert sorted(so["status"] for so in sales_orders) == ["Cancelled", "New"], sales_orders
    adjustments = [a for a in state(pipeline, "shopify")["adjustments"]
                   if a["reference_document_uri"] == f"gid://shopify/Order/{big.order.id}"]
    locations = {change["location_id"] for a in adjustments for change in a["changes"]}
    assert locations == {merchant.main, merchant.second}, "units went back at both warehouses"
    assert [e for e in exceptions_of(pipeline, big.order.id) if e["state"] == "OPEN"] == []
    print(f"steps exact after {took} s")


def test_a_row_peoplevox_refuses_becomes_an_ops_exception_and_leaves_no_header(pipeline):
    """The warehouse retired an item type after editsync read the list: Peoplevox saves the header, refuses
    the line with ResponseId 0, and only TotalCount says so. That must be an owned exception, not silence."""
    warehouse = pipeline.sandboxes.warehouse
    with warehouse.lock:
        del warehouse.item_types["HOODIE-L"]
    plan = pipeline.create({"HOODIE-L": 1})
    exception = pipeline.wait_for("a PVX_UPDATE_FAILED exception", lambda: next(
        (e for e in exceptions_of(pipeline, plan.order_id) if e["type"] == "PVX_UPDATE_FAILED"), None))
    assert (exception["owner"], exception["state"]) == ("OPS", "OPEN")
    assert "Item code HOODIE-L not found" in exception["summary"], exception["summary"]
    sales_orders = pipeline.sales_orders(plan)
    assert [so["status"] for so in sales_orders.values()] == ["Cancelled"], "no header left without its lines"
    assert all(so["lines"] == {} for so in sales_orders.values())

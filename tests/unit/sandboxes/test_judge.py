"""The demo's judge on typed holdings, no broker: one order whose systems are right, then each thing a
merchant checks broken on its own, and which exceptions explain what.

The right holdings are written out by hand from the order below, not computed by the judge's rules.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandboxes.judge import rules
from sandboxes.judge.models import (
    Address,
    Erp,
    ErpMoney,
    ErpSalesOrder,
    Header,
    Level,
    MerchantReference,
    OpenException,
    Plan,
    Shop,
    ShopLine,
    ShopOrder,
    ShopRefund,
    ShopRefundLine,
    ShopTransaction,
    Warehouse,
    WarehouseDespatch,
    WarehouseReturn,
    WarehouseSalesOrder,
)
from sandboxes.judge.verdict import judge

REFERENCE = MerchantReference(sku_overrides={"BEANIE": "HAT-BEANIE"}, bundles={"TEE-PACK": (("TEE-M", 2), ("SOCK", 1))},
                              b2b_prices={(77, 12): Decimal("18.00")})
CODES = frozenset({"TEE-M", "TEE-L", "SOCK", "MUG", "HAT-BEANIE", "CAP"})
PACK, BEANIE, MUG, TEE = Level(1, 9), Level(2, 9), Level(3, 9), Level(4, 9)
ADDRESS = Address(name="Ann Smith", address1="1 High Street", city="Leeds", zip="LS1 1AA", country_code="GB")

#: A reference-data bundle, an overridden SKU, one beanie taken off unrestocked before shipping, and after
#: despatch one of the two engraved gift mugs sent back.
ORDER = ShopOrder(
    order_id=1001, name="#1001", cancelled=False, email="ann@example.com", total=Decimal("95.00"), address=ADDRESS,
    company_location_id=None,
    lines=(ShopLine(line_id=1, variant_id=11, sku="TEE-PACK", current_quantity=1, sold=1, at_checkout=1,
                    price=Decimal("55.00"), level=PACK),
           ShopLine(line_id=2, variant_id=21, sku="BEANIE", current_quantity=2, sold=3, at_checkout=3,
                    price=Decimal("14.00"), level=BEANIE),
           ShopLine(line_id=3, variant_id=31, sku="MUG", current_quantity=1, sold=2, at_checkout=2,
                    price=Decimal("12.00"), level=MUG,
                    properties=(("Gift message", "Happy birthday"), ("Engraving", "AB"), ("_bundle", "x")))),
    refunds=(ShopRefund(refund_id=501, amount=Decimal("14.00"), lines=(ShopRefundLine(
                line_id=2, quantity=1, restock_type="NO_RESTOCK", restocked=False, level=None),)),
             ShopRefund(refund_id=502, amount=Decimal("12.00"), lines=(ShopRefundLine(
                 line_id=3, quantity=1, restock_type="RETURN", restocked=True, level=MUG),))),
    transactions=(ShopTransaction(transaction_id=601, kind="SALE", status="SUCCESS", amount=Decimal("121.00")),
                  ShopTransaction(transaction_id=602, kind="REFUND", status="SUCCESS", amount=Decimal("26.00"))))
HEADER = Header(name="Ann Smith", address1="1 High Street", city="Leeds", postcode="LS1 1AA", country="GB",
                email="ann@example.com", gift_message="Happy birthday")
SALES_ORDER = WarehouseSalesOrder(number="1001", reference="1001", status="Despatched", header=HEADER,
                                  lines={"TEE-M": 2, "SOCK": 1, "HAT-BEANIE": 2, "MUG": 2},
                                  notes={"MUG": frozenset({"Engraving: AB"})})
WAREHOUSE = Warehouse(sales_orders=(SALES_ORDER,), item_codes=CODES,
                      returns=(WarehouseReturn(sales_order_number="1001", item_code="MUG", quantity=1),))
ERP = Erp(sales_orders={"1001": ErpSalesOrder(external_id="1001", open_lines={"TEE-PACK": 1, "BEANIE": 2, "MUG": 1},
                                              total=Decimal("95"), closed=False, customer="c-1")},
          received=(ErpMoney(external_id="p-601", amount=Decimal("121.00"), order_external_id="1001"),),
          credit_memos=(ErpMoney(external_id="cm-501", amount=Decimal("14.00"), order_external_id="1001"),
                        ErpMoney(external_id="cm-502", amount=Decimal("12.00"), order_external_id="1001")))
START = {PACK: 100, BEANIE: 100, MUG: 100, TEE: 100}
SHOP = Shop(orders={1001: ORDER}, stock={PACK: 99, BEANIE: 98, MUG: 99, TEE: 100},
            adjustments={1001: {BEANIE: 1}}, sku_of_item={1: "TEE-PACK", 2: "BEANIE", 3: "MUG", 4: "TEE-M"})
PLAN = Plan(order_id=1001, name="#1001", first_line_id=1)


def verdict_of(shop=SHOP, warehouse=WAREHOUSE, erp=ERP, exceptions=(), plans=(PLAN,), start=START):
    return judge(plans, shop, warehouse, erp, exceptions, REFERENCE, start)


def fields(verdict, order_id=1001):
    return [m.field for m in verdict.order(order_id).mismatches]


def open_(kind, owner, order_id="1001"):
    return OpenException(order_id=order_id, type=kind, owner=owner)


def with_sales_order(**changes):
    return WAREHOUSE.model_copy(update={"sales_orders": (SALES_ORDER.model_copy(update=changes),)})


def test_systems_holding_what_the_order_calls_for_are_in_sync():
    verdict = verdict_of()
    assert fields(verdict) == [] and verdict.stock == ()
    assert verdict.totals["in_sync"] == 1 and verdict.totals["unexplained"] == 0


@pytest.mark.parametrize("warehouse, field", [
    (with_sales_order(header=HEADER.model_copy(update={"address1": "9 Old Road"})), "peoplevox.address1"),
    (with_sales_order(header=HEADER.model_copy(update={"postcode": None})), "peoplevox.postcode"),
    (with_sales_order(header=HEADER.model_copy(update={"email": None})), "peoplevox.email"),
    (with_sales_order(header=HEADER.model_copy(update={"gift_message": None})), "peoplevox.gift_message"),
    (with_sales_order(lines={"TEE-PACK": 1, "HAT-BEANIE": 2, "MUG": 2}), "peoplevox.lines"),  # bundle not expanded
    (with_sales_order(lines={"TEE-M": 2, "SOCK": 1, "BEANIE": 2, "MUG": 2}), "peoplevox.lines"),  # no override
    (with_sales_order(lines={"TEE-M": 2, "SOCK": 1, "HAT-BEANIE": 2, "MUG": 1}), "peoplevox.lines"),  # return taken off
    (with_sales_order(notes={}), "peoplevox.notes"),
    (WAREHOUSE.model_copy(update={"returns": ()}), "peoplevox.returns"),
    (WAREHOUSE.model_copy(update={"sales_orders": (SALES_ORDER, SALES_ORDER.model_copy(update={"number": "1001-R1"}))}),
     "peoplevox.live_sales_orders"),
    (with_sales_order(status="Cancelled"), "peoplevox.live_sales_orders"),
])
def test_each_peoplevox_difference_is_a_named_mismatch(warehouse, field):
    assert fields(verdict_of(warehouse=warehouse)) == [field]


@pytest.mark.parametrize("changes, field", [
    ({"open_lines": {"TEE-PACK": 1, "BEANIE": 3, "MUG": 1}}, "erp.lines"),
    ({"total": Decimal("109.00")}, "erp.total"),
    ({"closed": True}, "erp.closed"),
])
def test_each_erp_sales_order_difference_is_a_named_mismatch(changes, field):
    so = ERP.sales_orders["1001"].model_copy(update=changes)
    assert field in fields(verdict_of(erp=ERP.model_copy(update={"sales_orders": {"1001": so}})))


def test_money_must_be_linked_to_the_orders_one_sales_order_with_shopifys_amounts():
    elsewhere = ERP.model_copy(update={"received": (ERP.received[0].model_copy(update={"order_external_id": "9"}),)})
    assert fields(verdict_of(erp=elsewhere)) == ["erp.money_received"]
    short = ERP.model_copy(update={"credit_memos": ERP.credit_memos[:1]})
    assert fields(verdict_of(erp=short)) == ["erp.credit_memos"]
    twice = ERP.model_copy(update={"credit_memos": (*ERP.credit_memos, ERP.credit_memos[0])})
    assert fields(verdict_of(erp=twice)) == ["erp.credit_memos"]
    other_customer = ERP.model_copy(update={"credit_memos": (ERP.credit_memos[0].model_copy(update={
        "customer": "c-2"}), ERP.credit_memos[1])})
    assert fields(verdict_of(erp=other_customer)) == ["erp.customer"]


def test_stock_editsync_did_not_put_back_is_wrong_per_order_and_per_level():
    shop = SHOP.model_copy(update={"adjustments": {}, "stock": {**SHOP.stock, BEANIE: 97}})
    verdict = verdict_of(shop=shop)
    assert fields(verdict) == ["stock.BEANIE@9"]
    assert [(m.field, m.expected, m.actual) for m in verdict.stock] == [("stock.BEANIE@9", "98", "97")]


def test_orders_placed_before_the_run_do_not_count_against_its_stock():
    """A second `editsync demo` against the same `editsync run`: the shop it starts from already has an order
    (#1000, two mugs still to ship), whose units are off the shelf before the run begins."""
    earlier = ORDER.model_copy(update={"order_id": 1000, "name": "#1000", "refunds": (), "transactions": (),
                                       "lines": (ORDER.lines[2].model_copy(update={
                                           "line_id": 9, "current_quantity": 2, "sold": 2, "at_checkout": 2}),)})
    at_run_start = {**START, MUG: 98}
    start = rules.stock_before_orders(at_run_start, [earlier])
    assert start == START
    shop = SHOP.model_copy(update={"orders": {1000: earlier, 1001: ORDER}, "stock": {**SHOP.stock, MUG: 97}})
    assert verdict_of(shop=shop, start=start).stock == ()
    assert [m.field for m in verdict_of(shop=shop, start=at_run_start).stock] == ["stock.MUG@9"]


def test_exceptions_are_counted_for_the_judged_orders_only():
    """Another run's orders (the same `editsync run`, an earlier demo) keep their exceptions open on the topic."""
    verdict = verdict_of(exceptions=(open_("EDIT_AFTER_PICK", "OPS"), open_("EDIT_AFTER_PICK", "OPS", "999")))
    assert verdict.totals["exceptions_by_type"] == {"EDIT_AFTER_PICK": 1}


def test_a_unit_returned_at_another_warehouse_is_back_on_that_warehouses_shelf():
    """Shopify restocks a refund line at RefundLineItem.location ("The inventory restock location"): the mug
    shipped from warehouse 9 and came back at warehouse 8, so 9 is one mug short and 8 one mug up."""
    elsewhere = Level(3, 8)
    returned = ORDER.refunds[1].model_copy(update={"lines": (ORDER.refunds[1].lines[0].model_copy(
        update={"level": elsewhere}),)})
    order = ORDER.model_copy(update={"refunds": (ORDER.refunds[0], returned)})
    start = {**START, elsewhere: 100}
    right = SHOP.model_copy(update={"orders": {1001: order}, "stock": {**SHOP.stock, MUG: 98, elsewhere: 101}})
    verdict = verdict_of(shop=right, start=start)
    assert fields(verdict) == [] and verdict.stock == ()
    as_if_back_home = right.model_copy(update={"stock": {**SHOP.stock, MUG: 99, elsewhere: 100}})
    assert sorted(m.field for m in verdict_of(shop=as_if_back_home, start=start).stock) == ["stock.MUG@8",
                                                                                          "stock.MUG@9"]


def test_a_mismatch_is_explained_only_by_the_expected_type_and_owner_on_the_same_order():
    broken = with_sales_order(lines={"TEE-M": 2})
    assert verdict_of(warehouse=broken, exceptions=[open_("PVX_UPDATE_FAILED", "OPS")]).order(1001).unexplained == ()
    for wrong in (open_("PVX_UPDATE_FAILED", "FINANCE"), open_("ERP_SYNC_FAILED", "FINANCE"),
                  open_("EDIT_AFTER_PICK", "OPS"), open_("PVX_UPDATE_FAILED", "OPS", order_id="2002")):
        verdict = verdict_of(warehouse=broken, exceptions=[wrong])
        assert [m.field for m in verdict.order(1001).unexplained] == ["peoplevox.lines"], wrong
        assert verdict.totals["unexplained"] == 1
    erp_broken = ERP.model_copy(update={"received": ()})
    assert verdict_of(erp=erp_broken, exceptions=[open_("ERP_SYNC_FAILED", "FINANCE")]).order(1001).unexplained == ()


def test_a_sales_order_cancelled_and_never_replaced_needs_the_warehouse_holds_nothing_exception():
    cancelled = with_sales_order(status="Cancelled")
    for failed in (open_("PVX_UPDATE_FAILED", "OPS"), open_("EDIT_AFTER_PICK", "OPS")):
        assert [m.field for m in verdict_of(warehouse=cancelled, exceptions=[failed]).order(1001).unexplained] == [
            "peoplevox.live_sales_orders"]
    critical = verdict_of(warehouse=cancelled, exceptions=[open_("PVX_NO_LIVE_SALES_ORDER", "OPS")])
    assert critical.order(1001).unexplained == () and not critical.order(1001).lost
    never_there = WAREHOUSE.model_copy(update={"sales_orders": ()})
    assert verdict_of(warehouse=never_there, exceptions=[open_("PVX_UPDATE_FAILED", "OPS")]).order(1001).unexplained == ()


def paid_up(order: ShopOrder) -> ShopOrder:
    """The order with what its edit added to the total charged, as a customer's editing app charges it."""
    owed = order.total - ORDER.total
    return order if not owed else order.model_copy(update={"transactions": (*order.transactions, ShopTransaction(
        transaction_id=603, kind="SALE", status="SUCCESS", amount=owed))})


def erp_paid(amount: str) -> Erp:
    """The ERP with the edit's charge recorded against the sales order too."""
    return ERP.model_copy(update={"received": (*ERP.received, ErpMoney(
        external_id="p-603", amount=Decimal(amount), order_external_id="1001"))})


def edited_after_picking(**changes):
    """#1001 was picked as it stood; then the customer added a cap."""
    at_cutoff = {"id": 1001, "name": "#1001", "cancelled": False, "email": "ann@example.com", "total": "95.00",
                 "company_location_id": None, "shipping_address": ADDRESS.model_dump(exclude_none=True),
                 "lines": [{"id": line.line_id, "variant_id": line.variant_id, "sku": line.sku,
                            "current_quantity": line.current_quantity, "sold": line.sold,
                            "at_checkout": line.at_checkout, "price": str(line.price), "location_id": 9,
                            "properties": [list(p) for p in line.properties]} for line in ORDER.lines],
                 "refunds": [{"id": 502, "amount": "12.00", "lines": [{"line_id": 3, "quantity": 1,
                              "restock_type": "RETURN", "restocked": True, "location_id": 9}]},
                             {"id": 501, "amount": "14.00", "lines": [{"line_id": 2, "quantity": 1,
                              "restock_type": "NO_RESTOCK", "restocked": False, "location_id": None}]}],
                 "transactions": []}
    plan = PLAN.model_copy(update={"at_cutoff": at_cutoff})
    order = paid_up(ORDER.model_copy(update=changes))
    return plan, SHOP.model_copy(update={"orders": {1001: order}})


def test_an_edit_after_picking_is_handled_only_if_the_pre_edit_sales_order_is_held_and_the_right_team_knows():
    cap = ShopLine(line_id=4, variant_id=41, sku="CAP", current_quantity=1, sold=1, at_checkout=0,
                   price=Decimal("18.00"), level=None)
    plan, shop = edited_after_picking(lines=(*ORDER.lines, cap), total=Decimal("113.00"))
    erp = erp_paid("18.00").model_copy(update={"sales_orders": {"1001": ERP.sales_orders["1001"].model_copy(update={
        "open_lines": {"TEE-PACK": 1, "BEANIE": 2, "MUG": 1, "CAP": 1}, "total": Decimal("113.00")})}})
    picking = with_sales_order(status="Picking")
    explained = judge([plan], shop, picking, erp, [open_("EDIT_AFTER_PICK", "OPS")], REFERENCE)
    assert fields(explained) == ["peoplevox.edit_after_cutoff"] and explained.order(1001).unexplained == ()
    wrong_team = judge([plan], shop, picking, erp, [open_("EDIT_AFTER_PICK", "CX")], REFERENCE)
    assert wrong_team.order(1001).unexplained != ()
    lines_lost = with_sales_order(status="Picking", lines={"TEE-M": 2})
    not_pre_edit = judge([plan], shop, lines_lost, erp, [open_("EDIT_AFTER_PICK", "OPS")], REFERENCE)
    assert "peoplevox.lines" in [m.field for m in not_pre_edit.order(1001).unexplained]


def test_an_address_change_after_picking_is_customer_services():
    plan, shop = edited_after_picking(address=ADDRESS.model_copy(update={"address1": "2 New Road"}))
    picking = with_sales_order(status="Picking")
    assert judge([plan], shop, picking, ERP, [open_("EDIT_AFTER_PICK", "CX")], REFERENCE).order(1001).unexplained == ()
    assert judge([plan], shop, picking, ERP, [open_("EDIT_AFTER_PICK", "OPS")], REFERENCE).order(1001).unexplained


def test_an_unknown_sku_holds_the_order_with_an_ops_exception():
    poster = ShopLine(line_id=5, variant_id=51, sku="POSTER", current_quantity=1, sold=1, at_checkout=1,
                      price=Decimal("15.00"), level=None)
    order = paid_up(ORDER.model_copy(update={"lines": (*ORDER.lines, poster), "total": Decimal("110.00")}))
    shop = SHOP.model_copy(update={"orders": {1001: order}})
    nothing = WAREHOUSE.model_copy(update={"sales_orders": (), "returns": ()})
    erp = erp_paid("15.00").model_copy(update={"sales_orders": {"1001": ERP.sales_orders["1001"].model_copy(update={
        "open_lines": {"TEE-PACK": 1, "BEANIE": 2, "MUG": 1, "POSTER": 1}, "total": Decimal("110.00")})}})
    held = judge([PLAN], shop, nothing, erp, [open_("UNKNOWN_SKU", "OPS")], REFERENCE)
    assert fields(held) == []
    silent = judge([PLAN], shop, nothing, erp, [], REFERENCE)
    assert fields(silent) == ["exceptions.UNKNOWN_SKU"] and silent.order(1001).lost is False


def test_a_recreated_order_that_never_reached_the_warehouse_is_lost_whatever_is_open():
    successor = PLAN.model_copy(update={"successor_of": 999})
    nothing = WAREHOUSE.model_copy(update={"sales_orders": ()})
    verdict = verdict_of(warehouse=nothing, plans=(successor,), exceptions=[open_("RECREATE_UNRESOLVED", "OPS")])
    assert verdict.order(1001).lost and verdict.totals["lost_orders"] == 1
    assert verdict.totals["recreated"] == 1 and verdict.totals["recreated_released"] == 0


def test_a_superseded_original_still_live_is_a_duplicate():
    original = PLAN.model_copy(update={"superseded": True})
    verdict = verdict_of(plans=(original,))
    assert "peoplevox.live_sales_orders" in fields(verdict) and verdict.totals["duplicate_sales_orders"] == 1


def test_a_b2b_line_added_off_the_price_list_needs_a_finance_exception():
    tee = ShopLine(line_id=6, variant_id=12, sku="TEE-M", current_quantity=1, sold=1, at_checkout=0,
                   price=Decimal("25.00"), level=None)
    order = paid_up(ORDER.model_copy(update={"company_location_id": 77, "lines": (*ORDER.lines, tee),
                                             "total": Decimal("120.00")}))
    shop = SHOP.model_copy(update={"orders": {1001: order}})
    warehouse = with_sales_order(lines={"TEE-M": 3, "SOCK": 1, "HAT-BEANIE": 2, "MUG": 2})
    erp = erp_paid("25.00").model_copy(update={"sales_orders": {"1001": ERP.sales_orders["1001"].model_copy(update={
        "open_lines": {"TEE-PACK": 1, "BEANIE": 2, "MUG": 1, "TEE-M": 1}, "total": Decimal("120.00")})}})
    assert fields(judge([PLAN], shop, warehouse, erp, [], REFERENCE)) == ["exceptions.PRICE_LIST_MISMATCH"]
    assert fields(judge([PLAN], shop, warehouse, erp, [open_("PRICE_LIST_MISMATCH", "FINANCE")], REFERENCE)) == []
    at_list = order.model_copy(update={"lines": (*ORDER.lines, tee.model_copy(update={"price": Decimal("18.00")}))})
    assert "exceptions.PRICE_LIST_MISMATCH" not in fields(judge(
        [PLAN], shop.model_copy(update={"orders": {1001: at_list}}), warehouse, erp, [], REFERENCE))


def test_a_b2b_item_added_outside_the_companys_price_list_needs_a_finance_exception_a_retail_company_none():
    mug = ShopLine(line_id=6, variant_id=13, sku="MUG", current_quantity=1, sold=1, at_checkout=0,
                   price=Decimal("12.00"), level=None)
    order = ORDER.model_copy(update={"company_location_id": 77, "lines": (*ORDER.lines, mug)})
    shop = SHOP.model_copy(update={"orders": {1001: order}})
    assert "exceptions.PRICE_LIST_MISMATCH" in fields(judge([PLAN], shop, WAREHOUSE, ERP, [], REFERENCE))
    retail = order.model_copy(update={"company_location_id": 78})  # a company location without a price list
    assert "exceptions.PRICE_LIST_MISMATCH" not in fields(judge(
        [PLAN], shop.model_copy(update={"orders": {1001: retail}}), WAREHOUSE, ERP, [], REFERENCE))

def test_an_edited_order_that_owes_or_is_owed_money_needs_finance_to_know():
    """The judge's own arithmetic: the total against sales and captures less refunds."""
    cap = ShopLine(line_id=4, variant_id=41, sku="CAP", current_quantity=1, sold=1, at_checkout=0,
                   price=Decimal("18.00"), level=None)
    upsold = ORDER.model_copy(update={"lines": (*ORDER.lines, cap), "total": Decimal("113.00")})
    shop = SHOP.model_copy(update={"orders": {1001: upsold}})
    erp = ERP.model_copy(update={"sales_orders": {"1001": ERP.sales_orders["1001"].model_copy(update={
        "open_lines": {"TEE-PACK": 1, "BEANIE": 2, "MUG": 1, "CAP": 1}, "total": Decimal("113.00")})}})
    warehouse = with_sales_order(lines={"TEE-M": 2, "SOCK": 1, "HAT-BEANIE": 2, "MUG": 1, "CAP": 1})
    assert "exceptions.PAYMENT_OUTSTANDING" in fields(judge([PLAN], shop, warehouse, erp, [], REFERENCE))
    assert "exceptions.PAYMENT_OUTSTANDING" not in fields(judge(
        [PLAN], shop, warehouse, erp, [open_("PAYMENT_OUTSTANDING", "FINANCE")], REFERENCE))
    assert "exceptions.PAYMENT_OUTSTANDING" not in fields(judge(
        [PLAN], shop.model_copy(update={"orders": {1001: paid_up(upsold)}}), warehouse, erp, [], REFERENCE))
    overpaid = ORDER.model_copy(update={"transactions": (*ORDER.transactions, ShopTransaction(
        transaction_id=604, kind="SALE", status="SUCCESS", amount=Decimal("5.00")))})
    assert "exceptions.REFUND_OWED" in fields(judge(
        [PLAN], SHOP.model_copy(update={"orders": {1001: overpaid}}), WAREHOUSE, ERP, [], REFERENCE))


def test_what_the_warehouse_despatched_must_show_fulfilled_in_shopify_per_item_code():
    """Despatched: the pack (two tees and a sock) and one mug; Shopify shows the pack fulfilled, the mug not."""
    despatched = WAREHOUSE.model_copy(update={"despatches": (
        WarehouseDespatch(sales_order_number="1001", items={"TEE-M": 2, "SOCK": 1, "MUG": 1}),)})
    pack_only = ORDER.model_copy(update={"lines": (ORDER.lines[0].model_copy(update={"fulfilled": 1}),
                                                   *ORDER.lines[1:])})
    shop = SHOP.model_copy(update={"orders": {1001: pack_only}})
    assert "shopify.fulfilled" in fields(verdict_of(shop=shop, warehouse=despatched))
    failed = verdict_of(shop=shop, warehouse=despatched, exceptions=(open_("FULFILLMENT_FAILED", "OPS"),))
    assert failed.orders[0].mismatches and not failed.orders[0].unexplained
    both = ORDER.model_copy(update={"lines": (ORDER.lines[0].model_copy(update={"fulfilled": 1}), ORDER.lines[1],
                                              ORDER.lines[2].model_copy(update={"fulfilled": 1}))})
    assert "shopify.fulfilled" not in fields(verdict_of(shop=SHOP.model_copy(update={"orders": {1001: both}}),
                                                        warehouse=despatched))

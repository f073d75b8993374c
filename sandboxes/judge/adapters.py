"""One small adapter per system: the sandboxes' inspection JSON (``GET /_sandbox/state``) to typed models.

This is the only place that knows the sandboxes' shapes: the Peoplevox
client's template columns, the ERP's record layout, the Shopify store's
summary. When a sandbox changes shape, only its adapter changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sandboxes.judge.models import (
    Address,
    Erp,
    ErpMoney,
    ErpSalesOrder,
    Header,
    Level,
    MerchantReference,
    OpenException,
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

ORDER_URI = "gid://shopify/Order/"


def shopify(state: dict[str, Any]) -> Shop:
    item_of_variant = {v["id"]: v["inventory_item_id"] for v in state["variants"].values()}
    sku_of_item = {v["inventory_item_id"]: sku for sku, v in state["variants"].items()}

    def level(variant_id: int | None, location_id: int | None) -> Level | None:
        item = item_of_variant.get(variant_id)
        return None if item is None or location_id is None else Level(item, int(location_id))

    orders = {}
    for summary in state["orders"].values():
        order = shop_order(summary, level)
        orders[order.order_id] = order
    adjustments: dict[int, dict[Level, int]] = {}
    for group in state["adjustments"]:
        uri = group.get("reference_document_uri") or ""
        if not uri.startswith(ORDER_URI):
            continue
        moves = adjustments.setdefault(int(uri[len(ORDER_URI):]), {})
        for change in group["changes"]:
            key = Level(int(change["inventory_item_id"]), int(change["location_id"]))
            moves[key] = moves.get(key, 0) + int(change["delta"])
    stock = {Level(*map(int, key.split("@"))): level_ for key, level_ in state["stock"].items()}
    return Shop(orders=orders, stock=stock, adjustments=adjustments, sku_of_item=sku_of_item)


def shop_order(summary: dict[str, Any], level: Callable[[int | None, int | None], Level | None]) -> ShopOrder:
    """One order as the sandbox summarises it; ``level(variant id, location id)`` names a stock level."""
    variant_of_line = {line["id"]: line["variant_id"] for line in summary["lines"]}
    return ShopOrder(
        order_id=summary["id"], name=summary["name"], cancelled=summary["cancelled"], email=summary.get("email"),
        total=Decimal(summary["total"]), company_location_id=summary.get("company_location_id"),
        address=Address(**{k: v for k, v in (summary.get("shipping_address") or {}).items()
                           if k in Address.model_fields}) if summary.get("shipping_address") else None,
        lines=tuple(ShopLine(line_id=line["id"], variant_id=line["variant_id"], sku=line["sku"],
                             current_quantity=line["current_quantity"], sold=line["sold"],
                             at_checkout=line["at_checkout"], price=Decimal(line["price"]),
                             level=level(line["variant_id"], line["location_id"]),
                             properties=tuple(tuple(p) for p in line["properties"]), fulfilled=line.get("fulfilled", 0))
                    for line in summary["lines"]),
        refunds=tuple(ShopRefund(refund_id=refund["id"], amount=Decimal(refund["amount"]), lines=tuple(
            ShopRefundLine(line_id=rl["line_id"], quantity=rl["quantity"], restock_type=rl["restock_type"],
                           restocked=rl["restocked"],
                           level=level(variant_of_line.get(rl["line_id"]), rl["location_id"]))
            for rl in refund["lines"])) for refund in summary["refunds"]),
        transactions=tuple(ShopTransaction(transaction_id=t["id"], kind=t["kind"], status=t["status"],
                                           amount=Decimal(t["amount"])) for t in summary["transactions"]))


#: The sandbox Peoplevox client's "Sales orders" template (Peoplevox's default integration columns and its
#: GiftMessage custom field): header field -> column.
PEOPLEVOX_HEADER = {"name": "ContactName", "address1": "ShippingAddressLine1", "address2": "ShippingAddressLine2",
                    "city": "ShippingAddressCity", "region": "ShippingAddressRegion",
                    "postcode": "ShippingAddressPostcode", "country": "ShippingAddressCountry", "email": "Email",
                    "gift_message": "GiftMessage"}


def peoplevox(state: dict[str, Any]) -> Warehouse:
    sales_orders = tuple(
        WarehouseSalesOrder(number=number, reference=so["reference"], status=so["status"],
                            header=Header(**{name: so["fields"].get(column) or None
                                             for name, column in PEOPLEVOX_HEADER.items()}),
                            lines=dict(so["lines"]),
                            notes={code: frozenset(n for n in notes.split("; ") if n)
                                   for code, notes in so["notes"].items()})
        for number, so in state["sales_orders"].items())
    returns = tuple(WarehouseReturn(sales_order_number=row["SalesOrderNumber"], item_code=row["ItemCode"],
                                    quantity=int(row["Quantity"])) for row in state["returns"].values())
    despatches = tuple(WarehouseDespatch(sales_order_number=d["sales_order_number"], items=d["items"])
                       for d in state.get("despatches", ()))
    return Warehouse(sales_orders=sales_orders, returns=returns, item_codes=frozenset(state["item_types"]),
                     despatches=despatches)


#: NetSuite's sales order status code for Closed (every line closed).
CLOSED = "H"


def erp(state: dict[str, Any]) -> Erp:
    """NetSuite as the ERP sandbox renders its records: sublists expanded, references by internal id."""
    external_of = {record["id"]: external_id for external_id, record in state["salesOrder"].items()}
    order_of_invoice = {internal: (record.get("createdFrom") or {}).get("id")
                        for internal, record in state["invoice"].items()}
    sales_orders = {}
    for external_id, record in state["salesOrder"].items():
        lines: dict[str, int] = {}
        for line in record["item"]["items"]:
            if not line.get("isClosed"):
                sku = line["item"]["refName"]
                lines[sku] = lines.get(sku, 0) + int(line["quantity"])
        sales_orders[external_id] = ErpSalesOrder(
            external_id=external_id, open_lines=lines, total=Decimal(str(record["total"])),
            closed=record["orderStatus"]["id"] == CLOSED, customer=record["entity"]["id"])
    # Money received before billing is a deposit for the sales order; after, a payment applied to its invoices.
    received = [ErpMoney(external_id=external_id, amount=Decimal(str(record["payment"])),
                         order_external_id=external_of.get(record["salesOrder"]["id"]),
                         customer=record["customer"]["id"])
                for external_id, record in state["customerDeposit"].items()]
    for external_id, record in state["customerPayment"].items():
        for applied in record["apply"]["items"]:
            if applied.get("apply"):
                received.append(ErpMoney(
                    external_id=external_id, amount=Decimal(str(applied["amount"])),
                    order_external_id=external_of.get(order_of_invoice.get(applied["doc"]["id"])),
                    customer=record["customer"]["id"]))
    credit_memos = tuple(ErpMoney(external_id=external_id, amount=Decimal(str(record["total"])),
                                  order_external_id=record.get("custbody_shopify_order_id"),
                                  customer=record["entity"]["id"])
                         for external_id, record in state["creditMemo"].items())
    return Erp(sales_orders=sales_orders, received=tuple(received), credit_memos=credit_memos)


def open_exceptions(records: Iterable[dict[str, Any]]) -> tuple[OpenException, ...]:
    """The latest record of each exception on ``exceptions.v1`` (Avro-decoded), those still open."""
    latest = {record["exception_id"]: record for record in records}
    return tuple(OpenException(order_id=r["order_id"], type=r["type"], owner=r["owner"])
                 for r in latest.values() if r["state"] == "OPEN")


def reference(data: dict[str, Any]) -> MerchantReference:
    """editsync's reference file (``EDITSYNC_REFERENCE_FILE``), read as the JSON the merchant wrote."""
    return MerchantReference(
        sku_overrides=dict(data.get("sku_overrides", {})),
        bundles={sku: tuple((component, int(quantity)) for component, quantity in parts)
                 for sku, parts in data.get("bundles", {}).items()},
        b2b_prices={(int(location), int(variant)): Decimal(price)
                    for location, prices in data.get("b2b_prices", {}).items() for variant, price in prices.items()})

"""The Admin GraphQL order query editsync reads, and its mapping into the core's ``OrderSnapshot``.

Pure: a GraphQL ``Order`` node in, an ``OrderSnapshot`` out. Field meanings
are Shopify's (Admin GraphQL 2026-10): ``LineItem.quantity`` is what was
ordered on the line, ``currentQuantity`` what is left after edits and
refunds; ``agreements`` list every sale, with reason ORDER at checkout and
ORDER_EDIT per committed edit, so the positive ``ProductSale.quantity`` of
each line adds up to every unit ever sold on it; a refund line with
``restocked`` true, or a return, is stock Shopify already handled.

``first:`` arguments are kept tight because Shopify charges for them: this
query costs about 400 points of the bucket (measured by tests/unit/test_shopify_order.py).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from streams.core.model import Address, LineItem, OrderSnapshot, Refund, RefundLine, Transaction

ORDER_QUERY = """
query EditsyncOrder($id: ID!) {
  order(id: $id) {
    id name createdAt updatedAt cancelledAt currencyCode email note tags sourceName
    customAttributes { key value }
    customer { id }
    purchasingEntity { ... on PurchasingCompany { company { id } location { id } } }
    shippingAddress { name company address1 address2 city provinceCode zip countryCodeV2 phone }
    currentTotalPriceSet { shopMoney { amount } }
    currentTotalTaxSet { shopMoney { amount } }
    lineItems(first: 25) {
      nodes {
        id sku quantity currentQuantity requiresShipping
        discountedUnitPriceAfterAllDiscountsSet { shopMoney { amount } }
        customAttributes { key value }
        variant { id inventoryItem { id } }
      }
    }
    agreements(first: 8) {
      nodes { reason sales(first: 10) { nodes { quantity ... on ProductSale { lineItem { id } } } } }
    }
    fulfillmentOrders(first: 3) { nodes { status assignedLocation { location { id } } } }
    transactions(first: 10) { id kind status amountSet { shopMoney { amount } } }
    refunds(first: 5) {
      id totalRefundedSet { shopMoney { amount } }
      refundLineItems(first: 10) { nodes { quantity restockType restocked lineItem { id } location { id } } }
    }
  }
}
"""

FIND_BY_NAME_QUERY = """
query EditsyncFindOrder($query: String!) {
  orders(first: 1, query: $query) { nodes { id } }
}
"""

INVENTORY_MUTATION = """
mutation EditsyncAdjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    userErrors { field message code }
    inventoryAdjustmentGroup { id changes { delta quantityAfterChange } }
  }
}
"""


def numeric(gid: str | None) -> str | None:
    return None if gid is None else gid.rsplit("/", 1)[-1]


def _ms(value: str | None) -> int | None:
    return None if value is None else int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _amount(money_bag: dict[str, Any] | None) -> Decimal:
    return Decimal(money_bag["shopMoney"]["amount"]) if money_bag else Decimal(0)


def snapshot_from_graphql(node: dict[str, Any]) -> OrderSnapshot:
    order_id = numeric(node["id"])
    assert order_id is not None
    sold: dict[str, int] = {}
    original: dict[str, int] = {}
    for agreement in node["agreements"]["nodes"]:
        for sale in agreement["sales"]["nodes"]:
            line_id = numeric((sale.get("lineItem") or {}).get("id"))
            if line_id is None or sale["quantity"] <= 0:
                continue
            sold[line_id] = sold.get(line_id, 0) + sale["quantity"]
            if agreement["reason"] == "ORDER":
                original[line_id] = original.get(line_id, 0) + sale["quantity"]
    restocked: dict[str, int] = {}
    refunds = []
    for refund in node["refunds"]:
        lines = []
        for item in refund["refundLineItems"]["nodes"]:
            line_id = numeric(item["lineItem"]["id"])
            assert line_id is not None
            if item["restocked"] or item["restockType"] == "RETURN":
                restocked[line_id] = restocked.get(line_id, 0) + item["quantity"]
            lines.append(RefundLine(line_id=line_id, quantity=item["quantity"], restock_type=item["restockType"],
                                    location_id=numeric((item.get("location") or {}).get("id"))))
        refunds.append(Refund(refund_id=numeric(refund["id"]) or "", amount=_amount(refund["totalRefundedSet"]),
                              lines=tuple(lines)))
    lines = []
    for item in node["lineItems"]["nodes"]:
        line_id = numeric(item["id"])
        assert line_id is not None
        variant = item.get("variant") or {}
        lines.append(LineItem(
            line_id=line_id, sku=item.get("sku"), quantity=item["currentQuantity"],
            unit_price=_amount(item["discountedUnitPriceAfterAllDiscountsSet"]),
            original_quantity=original.get(line_id, 0), sold_quantity=sold.get(line_id, item["quantity"]),
            restocked_quantity=restocked.get(line_id, 0), variant_id=numeric(variant.get("id")),
            inventory_item_id=numeric((variant.get("inventoryItem") or {}).get("id")),
            properties=tuple((a["key"], a["value"] or "") for a in item["customAttributes"]),
            requires_shipping=item["requiresShipping"]))
    purchasing = node.get("purchasingEntity") or {}
    address = node.get("shippingAddress")
    locations = [numeric(f["assignedLocation"]["location"]["id"]) for f in node["fulfillmentOrders"]["nodes"]
                 if (f.get("assignedLocation") or {}).get("location")]
    return OrderSnapshot(
        order_id=order_id, version=_ms(node["updatedAt"]) or 0, name=node["name"], created_at=_ms(node["createdAt"]),
        cancelled_at=_ms(node.get("cancelledAt")), currency=node["currencyCode"],
        total=_amount(node["currentTotalPriceSet"]), tax=_amount(node["currentTotalTaxSet"]), lines=tuple(lines),
        shipping_address=None if address is None else Address(
            name=address.get("name"), company=address.get("company"), address1=address.get("address1"),
            address2=address.get("address2"), city=address.get("city"), province_code=address.get("provinceCode"),
            zip=address.get("zip"), country_code=address.get("countryCodeV2"), phone=address.get("phone")),
        email=node.get("email"), customer_id=numeric((node.get("customer") or {}).get("id")),
        company_location_id=numeric((purchasing.get("location") or {}).get("id")),
        location_id=locations[0] if locations else None, tags=tuple(node.get("tags") or ()), note=node.get("note"),
        note_attributes=tuple((a["key"], a["value"] or "") for a in node.get("customAttributes") or ()),
        source_name=node.get("sourceName"),
        transactions=tuple(Transaction(transaction_id=numeric(t["id"]) or "", kind=t["kind"], status=t["status"],
                                       amount=_amount(t["amountSet"])) for t in node["transactions"]),
        refunds=tuple(refunds))

"""The Admin GraphQL documents editsync reads an order with, and their mapping into the core's ``OrderSnapshot``.

Pure: GraphQL ``Order`` data in, an ``OrderSnapshot`` out; the paging itself
(which follow-up query to send for which cursor) is ``connectors.shopify``'s.
Field meanings are Shopify's (Admin GraphQL 2026-10): ``LineItem.quantity``
is what was ordered on the line, ``currentQuantity`` what is left after
edits and refunds; ``agreements`` list every sale, with reason ORDER at
checkout and ORDER_EDIT per committed edit, so the positive
``ProductSale.quantity`` of each line adds up to every unit ever sold on it;
a refund line with ``restocked`` true, or a return, is stock Shopify already
handled, at ``RefundLineItem.location`` ("The inventory restock location").
Each fulfillment order "represents either an item or a group of items in an
Order that are expected to be fulfilled from the same location"
(shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentOrder): the
location of the fulfillment order holding a line is where that line's stock
was committed, so it is the line's location, not the order's.

Every connection is read completely (shopify.dev/docs/api/usage/pagination-graphql):
the first query asks tight pages (Shopify charges ``first`` × the node's
cost up front, shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits),
and only an order that has more asks for the rest, page by page with
``after: pageInfo.endCursor``, each follow-up sized to stay well under the
1,000-point single-query limit. ``SalesAgreement`` is not a ``Node``, so an
agreement's further sales are reached through the order's agreements
connection at that agreement's edge cursor; refunds and fulfillment orders
are nodes and are paged through ``node(id:)``. ``Order.refunds`` and
``Order.transactions`` are plain lists truncated to ``first``: a list that
comes back full is read again, longer (up to 100 refunds and 250
transactions; an order with more is refused loudly, never cut short). Every
follow-up rooted at the order reads ``updatedAt`` too: an order that changed
between its pages is read again from the start rather than stitched together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from streams.core.model import Address, LineItem, OrderSnapshot, Refund, RefundLine, Transaction
from streams.runtime.clock import epoch_ms

PAGE_INFO = "pageInfo { hasNextPage endCursor }"

FRAGMENTS = {
    "EditsyncLine": """
fragment EditsyncLine on LineItem {
  id sku quantity currentQuantity requiresShipping
  discountedUnitPriceAfterAllDiscountsSet { shopMoney { amount } }
  customAttributes { key value }
  variant { id inventoryItem { id } }
}""",
    "EditsyncSales": f"""
fragment EditsyncSales on SaleConnection {{
  {PAGE_INFO} nodes {{ quantity ... on ProductSale {{ lineItem {{ id }} }} }}
}}""",
    "EditsyncAgreements": f"""
fragment EditsyncAgreements on SalesAgreementConnection {{
  {PAGE_INFO} edges {{ cursor node {{ reason sales(first: $sales) {{ ...EditsyncSales }} }} }}
}}""",
    "EditsyncFulfillmentLines": f"""
fragment EditsyncFulfillmentLines on FulfillmentOrderLineItemConnection {{
  {PAGE_INFO} nodes {{ totalQuantity lineItem {{ id }} }}
}}""",
    "EditsyncFulfillmentOrders": f"""
fragment EditsyncFulfillmentOrders on FulfillmentOrderConnection {{
  {PAGE_INFO}
  nodes {{
    id status assignedLocation {{ location {{ id }} }}
    lineItems(first: $fulfillmentLines) {{ ...EditsyncFulfillmentLines }}
  }}
}}""",
    "EditsyncRefundLines": f"""
fragment EditsyncRefundLines on RefundLineItemConnection {{
  {PAGE_INFO} nodes {{ quantity restockType restocked lineItem {{ id }} location {{ id }} }}
}}""",
    "EditsyncRefund": """
fragment EditsyncRefund on Refund {
  id totalRefundedSet { shopMoney { amount } }
  refundLineItems(first: $refundLines) { ...EditsyncRefundLines }
}""",
    "EditsyncTransaction": """
fragment EditsyncTransaction on OrderTransaction { id kind status amountSet { shopMoney { amount } } }""",
}
_USES = {"EditsyncAgreements": ("EditsyncSales",), "EditsyncFulfillmentOrders": ("EditsyncFulfillmentLines",),
         "EditsyncRefund": ("EditsyncRefundLines",)}


def _document(operation: str, *fragments: str) -> str:
    """An operation with exactly the fragments it spreads (GraphQL refuses unused ones)."""
    wanted: list[str] = []
    for name in fragments:
        for needed in (*_USES.get(name, ()), name):
            if needed not in wanted:
                wanted.append(needed)
    return operation + "".join(FRAGMENTS[name] for name in wanted) + "\n"


@dataclass(frozen=True)
class PageSizes:
    """``first:`` of each connection in the order query: enough for most orders, cheap to ask."""

    lines: int = 20
    agreements: int = 5
    sales: int = 10
    fulfillment_orders: int = 2
    fulfillment_lines: int = 20
    refunds: int = 3
    refund_lines: int = 5
    transactions: int = 10

    def variables(self) -> dict[str, int]:
        return {"lines": self.lines, "agreements": self.agreements, "sales": self.sales,
                "fulfillmentOrders": self.fulfillment_orders, "fulfillmentLines": self.fulfillment_lines,
                "refunds": self.refunds, "refundLines": self.refund_lines, "transactions": self.transactions}


@dataclass(frozen=True)
class FollowUpSizes:
    """Page sizes of the follow-up queries; each keeps its query's requested cost under about 900 points."""

    lines: int = 100  # 7 points a line
    agreements: int = 20  # about 35 points an agreement with 10 sales
    sales: int = 250  # 3 points a sale
    fulfillment_orders: int = 10  # about 65 points an order with 20 lines
    fulfillment_lines: int = 250  # 3 points a line
    refunds: tuple[tuple[int, int], ...] = ((30, 5), (100, 1))  # (refunds, lines each): read again, longer
    refund_lines: int = 200  # 4 points a line
    transactions: int = 250  # 3 points a transaction (a longer list is refused, see above)


ORDER_QUERY = _document("""
query EditsyncOrder($id: ID!, $lines: Int!, $agreements: Int!, $sales: Int!, $fulfillmentOrders: Int!,
                    $fulfillmentLines: Int!, $refunds: Int!, $refundLines: Int!, $transactions: Int!) {
  order(id: $id) {
    id name createdAt updatedAt cancelledAt currencyCode email note tags sourceName
    customAttributes { key value }
    customer { id }
    purchasingEntity { ... on PurchasingCompany { company { id } location { id } } }
    shippingAddress { name company address1 address2 city provinceCode zip countryCodeV2 phone }
    shippingLine { title code }
    currentTotalPriceSet { shopMoney { amount } }
    currentTotalTaxSet { shopMoney { amount } }
    totalOutstandingSet { shopMoney { amount } }
    lineItems(first: $lines) { pageInfo { hasNextPage endCursor } nodes { ...EditsyncLine } }
    agreements(first: $agreements) { ...EditsyncAgreements }
    fulfillmentOrders(first: $fulfillmentOrders) { ...EditsyncFulfillmentOrders }
    transactions(first: $transactions) { ...EditsyncTransaction }
    refunds(first: $refunds) { ...EditsyncRefund }
  }
}""", "EditsyncLine", "EditsyncAgreements", "EditsyncFulfillmentOrders", "EditsyncTransaction", "EditsyncRefund")

LINES_PAGE = _document("""
query EditsyncOrderLines($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    updatedAt lineItems(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { ...EditsyncLine } }
  }
}""", "EditsyncLine")

AGREEMENTS_PAGE = _document("""
query EditsyncOrderAgreements($id: ID!, $first: Int!, $after: String, $sales: Int!) {
  order(id: $id) { updatedAt agreements(first: $first, after: $after) { ...EditsyncAgreements } }
}""", "EditsyncAgreements")

SALES_PAGE = _document("""
query EditsyncAgreementSales($id: ID!, $agreementAfter: String, $first: Int!, $after: String) {
  order(id: $id) {
    updatedAt
    agreements(first: 1, after: $agreementAfter) { nodes { sales(first: $first, after: $after) { ...EditsyncSales } } }
  }
}""", "EditsyncSales")

FULFILLMENT_ORDERS_PAGE = _document("""
query EditsyncOrderFulfillmentOrders($id: ID!, $first: Int!, $after: String, $fulfillmentLines: Int!) {
  order(id: $id) { updatedAt fulfillmentOrders(first: $first, after: $after) { ...EditsyncFulfillmentOrders } }
}""", "EditsyncFulfillmentOrders")

FULFILLMENT_LINES_PAGE = _document("""
query EditsyncFulfillmentOrderLines($id: ID!, $first: Int!, $after: String) {
  node(id: $id) { ... on FulfillmentOrder { lineItems(first: $first, after: $after) { ...EditsyncFulfillmentLines } } }
}""", "EditsyncFulfillmentLines")

REFUNDS_LIST = _document("""
query EditsyncOrderRefunds($id: ID!, $refunds: Int!, $refundLines: Int!) {
  order(id: $id) { updatedAt refunds(first: $refunds) { ...EditsyncRefund } }
}""", "EditsyncRefund")

REFUND_LINES_PAGE = _document("""
query EditsyncRefundLines($id: ID!, $first: Int!, $after: String) {
  node(id: $id) { ... on Refund { refundLineItems(first: $first, after: $after) { ...EditsyncRefundLines } } }
}""", "EditsyncRefundLines")

TRANSACTIONS_LIST = _document("""
query EditsyncOrderTransactions($id: ID!, $transactions: Int!) {
  order(id: $id) { updatedAt transactions(first: $transactions) { ...EditsyncTransaction } }
}""", "EditsyncTransaction")

FIND_BY_NAME_QUERY = """
query EditsyncFindOrder($query: String!) {
  orders(first: 1, query: $query) { nodes { id } }
}
"""

# The cheapest question the orders scope answers (cost 3): does the Admin API answer again?
PING_QUERY = """
query EditsyncPing {
  orders(first: 1) { nodes { id } }
}
"""

UPDATED_SINCE_QUERY = f"""
query EditsyncUpdatedSince($query: String!, $first: Int!, $after: String) {{
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {{ {PAGE_INFO} nodes {{ id updatedAt }} }}
}}
"""

#: shopify.dev/docs/api/admin-graphql/latest/mutations/tagsAdd and .../tagsRemove: ``id`` and ``tags``, answered
#: with the tagged ``node`` and ``userErrors``; on an order they need the ``write_orders`` access scope.
TAGS_ADD_MUTATION = """
mutation EditsyncTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}
"""

TAGS_REMOVE_MUTATION = """
mutation EditsyncTagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } }
}
"""

#: What a fulfillment needs to know first: each fulfillment order's line items, how many of each are still to
#: fulfil, and where they are assigned (fulfillmentCreate takes fulfillment orders of one location at a time:
#: shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentCreate). Three fulfillment orders of fifty
#: lines ask about 470 points (once per despatch); an order with more is left to a person.
FULFILLMENT_ORDER_LINES_QUERY = """
query EditsyncFulfillmentOrderLines($id: ID!, $orders: Int!, $lines: Int!) {
  order(id: $id) {
    fulfillmentOrders(first: $orders) {
      pageInfo { hasNextPage }
      nodes {
        id status assignedLocation { location { id } }
        lineItems(first: $lines) {
          pageInfo { hasNextPage } nodes { id totalQuantity remainingQuantity lineItem { id } }
        }
      }
    }
  }
}
"""
FULFILLMENT_ORDERS_FOR_FULFILLMENT, FULFILLMENT_LINES_FOR_FULFILLMENT = 3, 50

#: Before a progress report, an open or a hold: each fulfillment order's status, holds and what Shopify says may be
#: done with it now (``supportedActions``: REPORT_PROGRESS, MARK_AS_OPEN, HOLD, RELEASE_HOLD, ...), no line items.
FULFILLMENT_ORDER_STATES_QUERY = """
query EditsyncFulfillmentOrderStates($id: ID!, $orders: Int!) {
  order(id: $id) {
    fulfillmentOrders(first: $orders) {
      pageInfo { hasNextPage }
      nodes { id status fulfillmentHolds { id handle } supportedActions { action } }
    }
  }
}
"""
FULFILLMENT_ORDERS_FOR_STATES = 20

#: shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentOrderReportProgress, fulfillmentOrderOpen,
#: fulfillmentOrderHold and fulfillmentOrderReleaseHold, each on one fulfillment order by id: per command kind,
#: the mutation's root field (where its payload is in the answer) and its document.
FULFILLMENT_ORDER_MUTATIONS: dict[str, tuple[str, str]] = {
    "report_progress": ("fulfillmentOrderReportProgress", """
mutation EditsyncReportProgress($id: ID!, $notes: String) {
  fulfillmentOrderReportProgress(id: $id, progressReport: {reasonNotes: $notes}) { userErrors { field message } }
}
"""),
    "open_fulfillment_orders": ("fulfillmentOrderOpen", """
mutation EditsyncFulfillmentOrderOpen($id: ID!) {
  fulfillmentOrderOpen(id: $id) { userErrors { field message } }
}
"""),
    "hold_fulfillment_orders": ("fulfillmentOrderHold", """
mutation EditsyncFulfillmentOrderHold($id: ID!, $handle: String!, $notes: String) {
  fulfillmentOrderHold(id: $id, fulfillmentHold: {reason: OTHER, reasonNotes: $notes, handle: $handle,
                                                  notifyMerchant: false}) { userErrors { field message } }
}
"""),
    "release_fulfillment_holds": ("fulfillmentOrderReleaseHold", """
mutation EditsyncFulfillmentOrderReleaseHold($id: ID!, $holds: [ID!]) {
  fulfillmentOrderReleaseHold(id: $id, holdIds: $holds) { userErrors { field message } }
}
"""),
}

FULFILLMENT_CREATE_MUTATION = """
mutation EditsyncFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id } userErrors { field message } }
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


def version_of(node: dict[str, Any]) -> int:
    """An order's version, as the core compares them: its ``updatedAt`` in epoch ms."""
    return _ms(node["updatedAt"]) or 0


def _ms(value: str | None) -> int | None:
    return None if value is None else epoch_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _amount(money_bag: dict[str, Any] | None) -> Decimal:
    return Decimal(money_bag["shopMoney"]["amount"]) if money_bag else Decimal(0)


def line_locations(fulfillment_orders: list[dict[str, Any]]) -> dict[str, str]:
    """Line id → the location of the fulfillment order holding it (the one holding most units, if split)."""
    held: dict[str, tuple[int, str]] = {}
    for fulfillment_order in fulfillment_orders:
        location = numeric(((fulfillment_order.get("assignedLocation") or {}).get("location") or {}).get("id"))
        if location is None:
            continue
        for item in fulfillment_order["lineItems"]["nodes"]:
            line_id = numeric(item["lineItem"]["id"])
            assert line_id is not None
            if line_id not in held or item["totalQuantity"] > held[line_id][0]:
                held[line_id] = (item["totalQuantity"], location)
    return {line_id: location for line_id, (_, location) in held.items()}


def snapshot_from_graphql(node: dict[str, Any]) -> OrderSnapshot:
    """Map a completely read order: every connection's ``nodes`` (agreements' ``edges``) hold all of it."""
    order_id = numeric(node["id"])
    assert order_id is not None
    sold: dict[str, int] = {}
    original: dict[str, int] = {}
    for edge in node["agreements"]["edges"]:
        agreement = edge["node"]
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
        refund_lines = []
        for item in refund["refundLineItems"]["nodes"]:
            line_id = numeric(item["lineItem"]["id"])
            assert line_id is not None
            if item["restocked"] or item["restockType"] == "RETURN":
                restocked[line_id] = restocked.get(line_id, 0) + item["quantity"]
            refund_lines.append(RefundLine(line_id=line_id, quantity=item["quantity"],
                                           restock_type=item["restockType"],
                                           location_id=numeric((item.get("location") or {}).get("id"))))
        refunds.append(Refund(refund_id=numeric(refund["id"]) or "", amount=_amount(refund["totalRefundedSet"]),
                              lines=tuple(refund_lines)))
    fulfillment_orders = node["fulfillmentOrders"]["nodes"]
    located = line_locations(fulfillment_orders)
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
            requires_shipping=item["requiresShipping"], location_id=located.get(line_id)))
    purchasing = node.get("purchasingEntity") or {}
    address = node.get("shippingAddress")
    locations = [numeric(f["assignedLocation"]["location"]["id"]) for f in fulfillment_orders
                 if (f.get("assignedLocation") or {}).get("location")]
    return OrderSnapshot(
        order_id=order_id, version=version_of(node), name=node["name"], created_at=_ms(node["createdAt"]),
        cancelled_at=_ms(node.get("cancelledAt")), currency=node["currencyCode"],
        total=_amount(node["currentTotalPriceSet"]), tax=_amount(node["currentTotalTaxSet"]), lines=tuple(lines),
        outstanding=_amount(node["totalOutstandingSet"]) if "totalOutstandingSet" in node else None,
        shipping_address=None if address is None else Address(
            name=address.get("name"), company=address.get("company"), address1=address.get("address1"),
            address2=address.get("address2"), city=address.get("city"), province_code=address.get("provinceCode"),
            zip=address.get("zip"), country_code=address.get("countryCodeV2"), phone=address.get("phone")),
        email=node.get("email"), customer_id=numeric((node.get("customer") or {}).get("id")),
        company_location_id=numeric((purchasing.get("location") or {}).get("id")),
        location_id=locations[0] if locations else None, tags=tuple(node.get("tags") or ()), note=node.get("note"),
        note_attributes=tuple((a["key"], a["value"] or "") for a in node.get("customAttributes") or ()),
        source_name=node.get("sourceName"),
        shipping_method=tuple(v for v in ((node.get("shippingLine") or {}).get(k) for k in ("title", "code")) if v),
        transactions=tuple(Transaction(transaction_id=numeric(t["id"]) or "", kind=t["kind"], status=t["status"],
                                       amount=_amount(t["amountSet"])) for t in node["transactions"]),
        refunds=tuple(refunds))

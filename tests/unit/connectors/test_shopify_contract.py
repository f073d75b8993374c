"""Contract tests: Shopify's documented answers replayed against the connector (httpx MockTransport, no sandbox).

Shapes replayed, each from its public source:
- pagination: ``pageInfo { hasNextPage endCursor }`` and the next page asked
  with ``after: <endCursor>`` (shopify.dev/docs/api/usage/pagination-graphql);
  the cursor below is in the base64 JSON form Shopify's cursors take;
- ACCESS_DENIED: "Access denied for <field-name>. Required access: <access
  scope required> access scope" with ``extensions`` carrying the code, a
  documentation link and the required access (shopify.dev/changelog/new-error-
  messages-for-graphql-operations-without-necessary-access-scopes); and the
  older shape without the required access, as shown on
  community.shopify.com/t/pricerules-graphql-getting-access-denied/118350
  (``"message": "Access denied for priceRules field."``, ``extensions.code``
  ``ACCESS_DENIED``, ``documentation``);
- THROTTLED with ``extensions.cost.throttleStatus``
  (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from connectors.errors import AccessDenied
from connectors.shopify import ShopifyAdmin

CURSOR = "eyJsYXN0X2lkIjoxMzY2MzMyNjQ3MDYsImxhc3RfdmFsdWUiOjEzNjYzMzI2NDcwNn0="  # {"last_id":…,"last_value":…}
COST = {"requestedQueryCost": 120, "actualQueryCost": 20,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1980.0, "restoreRate": 100.0}}
MONEY = {"shopMoney": {"amount": "10.00"}}


def page(nodes: list[dict[str, Any]], more: bool = False, key: str = "nodes") -> dict[str, Any]:
    return {"pageInfo": {"hasNextPage": more, "endCursor": CURSOR if more else None}, key: nodes}


def line(n: int) -> dict[str, Any]:
    return {"id": f"gid://shopify/LineItem/{n}", "sku": f"SKU-{n}", "quantity": 1, "currentQuantity": 1,
            "requiresShipping": True, "discountedUnitPriceAfterAllDiscountsSet": MONEY, "customAttributes": [],
            "variant": {"id": f"gid://shopify/ProductVariant/{n}", "inventoryItem": {"id": f"gid://shopify/InventoryItem/{n}"}}}


def order(lines: dict[str, Any]) -> dict[str, Any]:
    return {"id": "gid://shopify/Order/450789469", "name": "#1001", "createdAt": "2026-11-20T16:15:47Z",
            "updatedAt": "2026-11-21T09:00:00Z", "cancelledAt": None, "currencyCode": "USD", "email": "bob@example.com",
            "note": None, "tags": [], "sourceName": "web", "customAttributes": [], "customer": None,
            "purchasingEntity": None, "shippingAddress": None, "currentTotalPriceSet": MONEY,
            "currentTotalTaxSet": {"shopMoney": {"amount": "0.00"}}, "lineItems": lines,
            "agreements": page([], key="edges"), "transactions": [], "refunds": [],
            "fulfillmentOrders": page([{"id": "gid://shopify/FulfillmentOrder/1", "status": "OPEN",
                                        "assignedLocation": {"location": {"id": "gid://shopify/Location/7"}},
                                        "lineItems": page([{"totalQuantity": 1, "lineItem": {"id": line(1)["id"]}},
                                                           {"totalQuantity": 1, "lineItem": {"id": line(2)["id"]}}])}])}


def replay(*answers: dict[str, Any]) -> tuple[ShopifyAdmin, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=queue.pop(0))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ShopifyAdmin("https://shop.myshopify.com", "shpat_x", client=client), sent


def test_a_next_page_is_asked_with_the_end_cursor_and_appended():
    admin, sent = replay(
        {"data": {"order": order(page([line(1)], more=True))}, "extensions": {"cost": COST}},
        {"data": {"order": {"updatedAt": "2026-11-21T09:00:00Z", "lineItems": page([line(2)])}},
         "extensions": {"cost": COST}})
    snapshot = asyncio.run(admin.fetch_order("450789469"))
    assert [li.sku for li in snapshot.lines] == ["SKU-1", "SKU-2"]
    assert {li.location_id for li in snapshot.lines} == {"7"}
    assert sent[1]["variables"]["after"] == CURSOR and "EditsyncOrderLines" in sent[1]["query"]


def test_an_order_that_changed_between_pages_is_read_again_from_the_start():
    first = {"data": {"order": order(page([line(1)], more=True))}, "extensions": {"cost": COST}}
    moved = {"data": {"order": {"updatedAt": "2026-11-21T09:05:00Z", "lineItems": page([line(2)])}},
             "extensions": {"cost": COST}}
    whole = {"data": {"order": order(page([line(1), line(2)]))}, "extensions": {"cost": COST}}
    admin, sent = replay(first, moved, whole)
    assert len(asyncio.run(admin.fetch_order("450789469")).lines) == 2 and len(sent) == 3


@pytest.mark.parametrize(("error", "named"), [
    ({"message": "Access denied for order field. Required access: `read_orders` access scope.",
      "locations": [{"line": 2, "column": 3}], "path": ["order"],
      "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes",
                     "requiredAccess": "`read_orders` access scope."}}, "`read_orders` access scope"),
    ({"message": "Access denied for order field. Required access: `read_orders` access scope.",
      "locations": [{"line": 2, "column": 3}], "path": ["order"],
      "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes"}},
     "`read_orders` access scope"),
    ({"message": "Access denied for priceRules field.", "locations": [{"line": 5, "column": 3}],
      "path": ["priceRules"],
      "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes"}},
     "an access scope Shopify did not name"),
])
def test_access_denied_is_its_own_error_naming_what_to_grant(error, named):
    admin, sent = replay({"data": {"order": None}, "errors": [error], "extensions": {"cost": COST}})
    with pytest.raises(AccessDenied) as denied:
        asyncio.run(admin.fetch_order("450789469"))
    assert denied.value.required_access == named and named in denied.value.reason
    assert len(sent) == 1, "never retried: only a person can grant access"


def test_throttled_waits_for_the_refill_then_reads():
    throttled = {"errors": [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": 120, "actualQueryCost": None, "throttleStatus": {
            "maximumAvailable": 2000.0, "currentlyAvailable": 119.0, "restoreRate": 1000.0}}}}
    admin, sent = replay(throttled, {"data": {"order": order(page([line(1), line(2)]))}, "extensions": {"cost": COST}})
    assert len(asyncio.run(admin.fetch_order("450789469")).lines) == 2 and len(sent) == 2

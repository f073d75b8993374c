"""editsync's Shopify connector against the Shopify sandbox over real HTTP: complete reads, locations, access.

The order of issue 19 (40 lines with bundles, 10 edits, 6 refunds, two
locations) is larger than every first page the connector asks for; it must
come back complete and exactly as the store holds it, page by page, each
page paid for. Tokens without a scope get Shopify's ACCESS_DENIED answers. The sweep's list of
recently updated orders is filtered, sorted and paged as Shopify's search and cursors do.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from connectors import shopify
from connectors.errors import AccessDenied
from connectors.shopify import ShopifyAdmin, StockChange
from connectors.shopify_order import FollowUpSizes, PageSizes
from sandboxes.shopify.cost import MAX_QUERY_COST, Bucket
from sandboxes.shopify.graphql_api import ALL_SCOPES, FULFILLMENT_ORDER_SCOPE, PROTECTED_CUSTOMER_DATA
from sandboxes.stack import SandboxStack
from sandboxes.testkit.shopify_big_order import (
    BigOrder,
    add_second_location,
    build,
    expected_lines,
    expected_refunds,
    stock_parts,
)


@pytest.fixture(scope="module")
def stack():
    with SandboxStack("http://127.0.0.1:9/unused", b"secret", pick_delay_s=(3600, 3600),
                      bucket=Bucket(maximum=2000, restore_rate=1000), seed=3) as sandboxes:
        sandboxes.shop.listeners.clear()  # nobody listens for webhooks here
        yield sandboxes


@pytest.fixture(scope="module")
def big(stack) -> BigOrder:
    shop = stack.shop
    main = next(iter(shop.locations))
    second = add_second_location(shop)
    return build(shop, stock_parts(shop), stack.merchant["variants"]["GIFT-BOX"], main, second)


def graphql_url(stack: SandboxStack) -> str:
    return f"{stack.shopify_url}/admin/api/2026-10/graphql.json"


def read(stack: SandboxStack, order_id: int, token: str | None = None, **sizes):
    """Read an order with the connector, recording every answer's cost."""
    costs: list[dict] = []

    async def record(response: httpx.Response) -> None:
        await response.aread()
        costs.append(json.loads(response.content).get("extensions", {}).get("cost", {}))

    async def go():
        client = httpx.AsyncClient(timeout=10, event_hooks={"response": [record]})
        admin = ShopifyAdmin(stack.shopify_url, token or stack.credentials.shopify_token, client=client, **sizes)
        try:
            return await admin.fetch_order(str(order_id)), admin.queries_sent
        finally:
            await admin.aclose()

    snapshot, sent = asyncio.run(go())
    return snapshot, sent, costs


def test_the_40_line_order_is_read_completely_and_exactly(stack, big):
    snapshot, sent, costs = read(stack, big.order.id)
    expected = expected_lines(stack.shop, big.order)
    got = {line.line_id: {"sku": line.sku, "quantity": line.quantity, "sold": line.sold_quantity,
                          "original": line.original_quantity, "restocked": line.restocked_quantity,
                          "location": line.location_id, "inventory_item": line.inventory_item_id}
           for line in snapshot.lines}
    assert got == expected
    assert {line["location"] for line in got.values()} == {str(big.main), str(big.second)}
    refunds = {r.refund_id: [(rl.line_id, rl.quantity, rl.restock_type, rl.location_id) for rl in r.lines]
               for r in snapshot.refunds}
    assert refunds == expected_refunds(big.order)
    assert [t.transaction_id for t in snapshot.transactions] == [str(t.id) for t in big.order.transactions]
    assert snapshot.total == big.order.total and snapshot.version == big.order.updated_at
    # More than the first query: lines, agreements, the checkout's sales, fulfillment order lines,
    # refunds, a 12-line refund and transactions each needed more; every page was charged on its own.
    assert sent == len(costs) >= 7
    assert all(0 < c["actualQueryCost"] <= c["requestedQueryCost"] < MAX_QUERY_COST for c in costs), costs


def test_tiny_pages_read_the_same_order(stack, big):
    """Every follow-up path, fulfillment orders included, gives the same snapshot as the default pages."""
    tiny = PageSizes(lines=1, agreements=1, sales=1, fulfillment_orders=1, fulfillment_lines=1, refunds=1,
                     refund_lines=1, transactions=1)
    follow = FollowUpSizes(lines=3, agreements=2, sales=4, fulfillment_orders=1, fulfillment_lines=4,
                           refunds=((2, 1), (100, 1)), refund_lines=5, transactions=250)
    default, default_sent, _ = read(stack, big.order.id)
    paged, sent, _ = read(stack, big.order.id, pages=tiny, follow_ups=follow)
    assert paged == default
    assert sent > 40 > default_sent


def test_cursors_are_opaque_and_pages_honour_first_and_after(stack, big):
    token = {"X-Shopify-Access-Token": stack.credentials.shopify_token}
    query = """query Page($id: ID!, $after: String) { order(id: $id) {
      lineItems(first: 15, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } } }"""
    seen, after, costs = [], None, []
    while True:
        answer = httpx.post(graphql_url(stack), headers=token, json={"query": query, "variables": {
            "id": f"gid://shopify/Order/{big.order.id}", "after": after}}).json()
        page = answer["data"]["order"]["lineItems"]
        seen += [node["id"] for node in page["nodes"]]
        costs.append(answer["extensions"]["cost"]["requestedQueryCost"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert not after.isdigit() and str(big.order.lines[len(seen) - 1].id) not in after, "opaque"
    assert len(costs) == 3 and len(set(costs)) == 1 and costs[0] > 15, "each page charged its own full cost"
    assert seen == [f"gid://shopify/LineItem/{line.id}" for line in big.order.lines]
    bad = httpx.post(graphql_url(stack), headers=token, json={"query": query, "variables": {
        "id": f"gid://shopify/Order/{big.order.id}", "after": "bm90LWEtY3Vyc29y"}}).json()
    assert bad["data"]["order"] is None and "cursor" in bad["errors"][0]["message"]
    too_big = httpx.post(graphql_url(stack), headers=token, json={"query": query.replace("15", "251"),
                         "variables": {"id": f"gid://shopify/Order/{big.order.id}"}}).json()
    assert too_big["data"]["order"] is None and too_big["errors"]


def test_a_refund_restocked_elsewhere_keeps_its_own_location(stack, big):
    snapshot, _, _ = read(stack, big.order.id)
    returned = next(r for r in snapshot.refunds if r.lines[0].restock_type == "RETURN")
    line = next(line for line in snapshot.lines if line.line_id == returned.lines[0].line_id)
    assert (line.location_id, returned.lines[0].location_id) == (str(big.main), str(big.second))


@pytest.mark.parametrize(("missing", "named"), [
    ("read_orders", "`read_orders` access scope"),
    (PROTECTED_CUSTOMER_DATA, "Level 2 access to Customer data including name, address, phone, and email fields"),
    ("read_products", "`read_products` access scope"),
])
def test_a_read_without_a_scope_is_access_denied_naming_it(stack, big, missing, named):
    token = f"shpat_without_{missing}"
    stack.shopify.grant(token, ALL_SCOPES - {missing})
    with pytest.raises(AccessDenied) as denied:
        read(stack, big.order.id, token=token)
    assert denied.value.required_access == named
    assert named in denied.value.reason and denied.value.detail.fields


def test_the_raw_answer_is_shopifys_access_denied_shape(stack, big):
    stack.shopify.grant("shpat_nothing", set())
    answer = httpx.post(graphql_url(stack), headers={"X-Shopify-Access-Token": "shpat_nothing"}, json={
        "query": "query($id: ID!) { order(id: $id) { id } }",
        "variables": {"id": f"gid://shopify/Order/{big.order.id}"}}).json()
    (error,) = answer["errors"]
    assert answer["data"] == {"order": None} and error["path"] == ["order"]
    assert error["message"] == "Access denied for order field. Required access: `read_orders` access scope."
    assert error["extensions"]["code"] == "ACCESS_DENIED" and error["extensions"]["documentation"]


def test_an_adjustment_without_write_inventory_is_access_denied(stack, big):
    stack.shopify.grant("shpat_read_only", ALL_SCOPES - {"write_inventory"})
    variant = stack.shop.variants[stack.merchant["variants"]["SOCK"]]
    before = dict(stack.shop.levels)
    admin = ShopifyAdmin(stack.shopify_url, "shpat_read_only")
    with pytest.raises(AccessDenied) as denied:
        asyncio.run(admin.adjust_inventory("inventory:k:1", [StockChange(str(variant.inventory_item_id),
                                                                            str(big.main), 1)], "correction", None))
    assert denied.value.required_access == "`write_inventory` access scope"
    assert stack.shop.levels == before


def test_without_fulfillment_order_access_lines_have_no_location(stack, big):
    """Shopify leaves fulfillment orders out silently; the connector must not guess a location."""
    stack.shopify.grant("shpat_no_fo", ALL_SCOPES - {FULFILLMENT_ORDER_SCOPE})
    snapshot, _, _ = read(stack, big.order.id, token="shpat_no_fo")
    assert snapshot.location_id is None and {line.location_id for line in snapshot.lines} == {None}


REFUND = """
mutation Refund($input: RefundInput!) {
  refundCreate(input: $input) @idempotent(key: "%s") {
    refund { id totalRefundedSet { shopMoney { amount } } refundLineItems(first: 5) { nodes { restockType } } }
    userErrors { field message }
  }
}"""


def refund_create(stack: SandboxStack, key: str, order_id: int, line_id: int, restock_type: str,
                  quantity: int = 1, amount: str = "12.00") -> dict:
    order_gid = f"gid://shopify/Order/{order_id}"
    variables = {"input": {"orderId": order_gid, "refundLineItems": [
        {"lineItemId": f"gid://shopify/LineItem/{line_id}", "quantity": quantity, "restockType": restock_type}],
        "transactions": [{"orderId": order_gid, "amount": amount, "kind": "REFUND", "gateway": "bogus"}]}}
    answer = httpx.post(graphql_url(stack), headers={"X-Shopify-Access-Token": stack.credentials.shopify_token},
                        json={"query": REFUND % key, "variables": variables}).json()
    assert "errors" not in answer, answer
    return answer["data"]["refundCreate"]


def test_a_return_is_only_for_fulfilled_units_as_shopifys_restock_types_say(stack):
    """RETURN is "for line items that were fulfilled", CANCEL "for unfulfilled line items": a refund that mixes
    them up is refused with userErrors naming the field, and changes nothing."""
    shop = stack.shop
    mug = stack.merchant["variants"]["MUG"]
    order = shop.create_order([(mug, 2)])
    line = order.lines[0]
    level = (shop.variants[mug].inventory_item_id, line.location_id)
    stock = shop.levels[level]

    refused = refund_create(stack, "refund:never-shipped", order.id, line.id, "RETURN")
    assert refused["refund"] is None
    assert refused["userErrors"][0]["field"] == ["input", "refundLineItems", "0", "restockType"]
    assert "RETURN is for fulfilled units" in refused["userErrors"][0]["message"]
    assert (order.refunds, shop.levels[level], line.current_quantity) == ([], stock, 2)
    scenario = httpx.post(f"{stack.control_url('shopify')}/scenario/refund", json={
        "order_id": order.id, "lines": {str(line.id): 1}, "restock_type": "RETURN"})
    assert scenario.status_code == 422 and scenario.json()["userErrors"][0]["field"][-1] == "restockType"

    httpx.post(f"{stack.control_url('shopify')}/scenario/fulfill", json={
        "order_id": order.id, "lines": {str(line.id): 1}}).raise_for_status()
    returned = refund_create(stack, "refund:shipped", order.id, line.id, "RETURN")
    assert returned["userErrors"] == [] and returned["refund"]["refundLineItems"]["nodes"] == [{"restockType": "RETURN"}]
    assert refund_create(stack, "refund:shipped", order.id, line.id, "RETURN") == returned, "same key, same refund"
    again = refund_create(stack, "refund:shipped-twice", order.id, line.id, "RETURN")
    assert again["refund"] is None and "0 fulfilled unit(s)" in again["userErrors"][0]["message"]
    assert refund_create(stack, "refund:cancel-shipped", order.id, line.id, "CANCEL", quantity=2)["refund"] is None
    assert refund_create(stack, "refund:cancel-unshipped", order.id, line.id, "CANCEL")["userErrors"] == []
    assert (len(order.refunds), line.current_quantity, shop.levels[level]) == (2, 0, stock + 2)


def sweep(stack: SandboxStack, since_ms: int, between_pages=None):
    """The connector's list of orders updated after ``since_ms``, and each page's requested cost."""
    costs: list[int] = []

    async def record(response: httpx.Response) -> None:
        await response.aread()
        costs.append(json.loads(response.content)["extensions"]["cost"]["requestedQueryCost"])

    async def go():
        admin = ShopifyAdmin(stack.shopify_url, stack.credentials.shopify_token,
                             client=httpx.AsyncClient(timeout=10, event_hooks={"response": [record]}))
        try:
            listed = []
            async for update in admin.updated_since(since_ms):
                listed.append(update)
                if between_pages is not None and len(listed) % shopify.SWEEP_PAGE == 0:
                    between_pages(listed)
            return listed
        finally:
            await admin.aclose()

    return asyncio.run(go()), costs


def test_the_sweep_lists_only_orders_updated_after_the_time_oldest_first_page_by_page(stack, monkeypatch):
    monkeypatch.setattr(shopify, "SWEEP_PAGE", 2)
    shop, tee = stack.shop, stack.merchant["variants"]["TEE-M"]
    before = shop.create_order([(tee, 1)])
    since = shop.now()
    placed = [shop.create_order([(tee, 1)]) for _ in range(4)]
    shop.edit_order(before.id, add=[(tee, 1)])  # an older order edited since: listed, last
    listed, costs = sweep(stack, since)
    assert [(int(u.order_id), u.updated_at) for u in listed] == \
        [(o.id, o.updated_at) for o in (*placed, before)], "updated after the time, by updatedAt, no other"
    # Three pages of two, each requested at 2 + 2 x 2 (an Order and pageInfo, objects; id and updatedAt are free).
    assert costs == [6, 6, 6]
    assert sweep(stack, shop.orders[before.id].updated_at)[0] == [], "strictly after: updated_at:>"


def test_an_order_updated_while_the_sweep_pages_moves_to_a_later_page_and_is_not_skipped(stack, monkeypatch):
    monkeypatch.setattr(shopify, "SWEEP_PAGE", 2)
    shop, mug = stack.shop, stack.merchant["variants"]["MUG"]
    since = shop.now()
    placed = [shop.create_order([(mug, 1)]) for _ in range(5)]

    def edit_the_last_listed(listed) -> None:
        if len(listed) == 2:  # the order the next page's cursor names changes before that page is asked
            shop.edit_order(int(listed[-1].order_id), add=[(mug, 1)])

    listed, _ = sweep(stack, since, between_pages=edit_the_last_listed)
    ids = [int(u.order_id) for u in listed]
    assert ids == [placed[0].id, placed[1].id, placed[2].id, placed[3].id, placed[4].id, placed[1].id]
    assert listed[-1].updated_at == shop.orders[placed[1].id].updated_at > listed[1].updated_at


@pytest.mark.parametrize("search", ["updated_at:>2026-01-01T00:00:00Z", "updated_at:>'yesterday'",
                                    "updated_at:>'2026-01-01T00:00:00'", "status:open",
                                    "updated_at:>'2026-01-01T00:00:00Z' OR name:#1001"])
def test_a_search_the_sandbox_cannot_read_exactly_is_refused_not_widened(stack, search):
    """Shopify answers such searches with warnings and whatever matched (an unquoted date matched the whole day):
    the sandbox refuses them, so a malformed sweep fails in the tests instead of listing the wrong orders."""
    answer = httpx.post(graphql_url(stack), headers={"X-Shopify-Access-Token": stack.credentials.shopify_token},
                        json={"query": "query($q: String) { orders(first: 5, sortKey: UPDATED_AT, query: $q) "
                                       "{ nodes { id } } }", "variables": {"q": search}}).json()
    assert answer["data"] is None and "Invalid search query" in answer["errors"][0]["message"], answer

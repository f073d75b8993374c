"""Admin GraphQL over the sandbox store: Shopify's schema, the sandbox's data.

Every document is parsed and validated against Shopify's real 2026-10 schema
(``schema.py``) before it runs, then executed by graphql-core with resolvers
that read the store. Answers follow shopify.dev/docs/api/admin-graphql:
global ids (``gid://shopify/Order/1``), ``MoneyBag`` amounts as decimal
strings, connections with ``nodes``/``edges``/``pageInfo``, ``userErrors`` on
mutation payloads, errors with ``extensions.code``; and the rules the schema's
own descriptions state: ``inventoryAdjustQuantities`` requires an
``@idempotent(key:)`` directive from 2026-04 (a repeated key returns the first
result and changes nothing). Only the fields editsync reads resolve to data;
others resolve to null, which Shopify's schema allows for most of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    execute,
    get_directive_values,
)

from sandboxes.shopify.schema import admin_schema
from sandboxes.shopify.store import Order, Shop, StoreError


def gid(kind: str, number: int | None) -> str | None:
    return None if number is None else f"gid://shopify/{kind}/{number}"


def parse_gid(value: str, kind: str) -> int:
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix) or not value[len(prefix):].isdigit():
        raise GraphQLError(f"Invalid id: {value}", extensions={"code": "INVALID_ID"})
    return int(value[len(prefix):])


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def connection(items: list[Any]) -> Callable[..., dict[str, Any]]:
    """A connection field: resolved with its arguments, one page of ``first`` items."""

    def page(first: int | None = None, last: int | None = None, **_: Any) -> dict[str, Any]:
        size = first if first is not None else last
        if size is None:
            raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
        chosen = items[:size] if first is not None else items[-size:]
        return {"nodes": chosen, "edges": [{"node": n, "cursor": str(i)} for i, n in enumerate(chosen)],
                "pageInfo": {"hasNextPage": len(items) > len(chosen) and first is not None,
                             "hasPreviousPage": len(items) > len(chosen) and last is not None,
                             "startCursor": "0" if chosen else None,
                             "endCursor": str(len(chosen) - 1) if chosen else None}}

    return page


def order_view(shop: Shop, order: Order) -> dict[str, Any]:
    currency = order.currency
    lines = {line.id: line for line in order.lines}

    def line_view(line_id: int) -> dict[str, Any]:
        line = lines[line_id]
        variant = shop.variants.get(line.variant_id) if line.variant_id else None
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", line.id), "sku": line.sku, "title": line.title, "name": line.title,
            "quantity": line.quantity, "currentQuantity": line.current_quantity,
            "requiresShipping": line.requires_shipping,
            "originalUnitPriceSet": money(line.price, currency),
            "discountedUnitPriceAfterAllDiscountsSet": money(line.price, currency),
            "customAttributes": [{"key": k, "value": v} for k, v in line.properties],
            "variant": None if variant is None else {
                "id": gid("ProductVariant", variant.id), "sku": variant.sku,
                "inventoryItem": {"id": gid("InventoryItem", variant.inventory_item_id)}},
            "lineItemGroup": None if line.group is None else {
                "id": gid("LineItemGroup", line.group["id"]), "title": line.group["title"],
                "quantity": line.group["quantity"], "variantId": gid("ProductVariant", line.group["variant_id"]),
                "variantSku": line.group["variant_sku"]},
        }

    location = {"id": gid("Location", order.location_id), "name": shop.locations[order.location_id]}
    purchasing = None
    if order.company_location_id:
        purchasing = {"__typename": "PurchasingCompany", "company": {"id": gid("Company", order.company_id)},
                      "location": {"id": gid("CompanyLocation", order.company_location_id)}}
    elif order.customer_id:
        purchasing = {"__typename": "Customer", "id": gid("Customer", order.customer_id)}
    fulfillment_status = "CLOSED" if order.cancelled_at else "OPEN"
    return {
        "__typename": "Order",
        "id": gid("Order", order.id), "legacyResourceId": str(order.id), "name": order.name,
        "createdAt": iso(order.created_at), "updatedAt": iso(order.updated_at),
        "cancelledAt": iso(order.cancelled_at), "cancelReason": order.cancel_reason,
        "currencyCode": currency, "email": order.email, "note": order.note, "tags": sorted(order.tags),
        "sourceName": order.source_name, "edited": any(a.reason == "ORDER_EDIT" for a in order.agreements),
        "customAttributes": [{"key": k, "value": v} for k, v in order.attributes],
        "customer": {"id": gid("Customer", order.customer_id)} if order.customer_id else None,
        "purchasingEntity": purchasing,
        "shippingAddress": None if order.shipping_address is None else {
            "name": order.shipping_address.get("name"), "company": order.shipping_address.get("company"),
            "address1": order.shipping_address.get("address1"), "address2": order.shipping_address.get("address2"),
            "city": order.shipping_address.get("city"), "provinceCode": order.shipping_address.get("province_code"),
            "zip": order.shipping_address.get("zip"), "countryCodeV2": order.shipping_address.get("country_code"),
            "phone": order.shipping_address.get("phone")},
        "currentTotalPriceSet": money(order.total, currency),
        "currentTotalTaxSet": money(Decimal(0), currency),
        "totalPriceSet": money(sum((line.price * line.quantity for line in order.lines), Decimal(0)), currency),
        "lineItems": connection([line_view(line.id) for line in order.lines]),
        "fulfillmentOrders": connection([{"id": gid("FulfillmentOrder", order.id), "status": fulfillment_status,
                                          "assignedLocation": {"location": location, "name": location["name"]}}]),
        "transactions": lambda first=None, **_: [
            {"id": gid("OrderTransaction", t.id), "kind": t.kind, "status": t.status,
             "amountSet": money(t.amount, currency), "createdAt": iso(t.created_at)}
            for t in order.transactions][:first],
        "refunds": lambda first=None, **_: [
            {"id": gid("Refund", r.id), "createdAt": iso(r.created_at), "note": r.note,
             "totalRefundedSet": money(r.amount, currency),
             "refundLineItems": connection([
                 {"lineItem": line_view(rl.line_id), "quantity": rl.quantity, "restockType": rl.restock_type,
                  "restocked": rl.restocked, "location": {"id": gid("Location", rl.location_id)},
                  "subtotalSet": money(rl.subtotal, currency)} for rl in r.lines])}
            for r in order.refunds][:first],
        "agreements": connection([
            {"__typename": "OrderAgreement" if a.reason == "ORDER" else
             "OrderEditAgreement" if a.reason == "ORDER_EDIT" else "RefundAgreement",
             "id": gid("SalesAgreement", a.id), "reason": a.reason, "happenedAt": iso(a.happened_at),
             "sales": connection([
                 {"__typename": "ProductSale", "id": gid("Sale", a.id * 1000 + i), "actionType": s.action,
                  "lineType": "PRODUCT", "quantity": s.quantity, "lineItem": line_view(s.line_id),
                  "totalAmount": money(s.amount, currency)} for i, s in enumerate(a.sales)])}
            for a in order.agreements]),
    }


class AdminGraphQL:
    """Runs Admin API documents against one sandbox shop."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def execute(self, document: DocumentNode, variables: dict[str, Any] | None,
                operation_name: str | None = None) -> ExecutionResult:
        """Run a document already validated by ``schema.check_document``."""
        return execute(admin_schema(), document, root_value=self, variable_values=variables,
                       operation_name=operation_name, field_resolver=self._resolve, type_resolver=_type_of)

    # --- root fields ----------------------------------------------------------------------

    def order(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002 - Shopify's name
        found = self.shop.orders.get(parse_gid(id, "Order"))
        return None if found is None else order_view(self.shop, found)

    def orders(self, info: GraphQLResolveInfo, query: str | None = None, **arguments: Any) -> dict[str, Any]:
        chosen = list(self.shop.orders.values())
        if query:
            # The subset of Shopify's search syntax editsync uses: name:#1001 and id:123.
            for term in query.split():
                field_name, _, value = term.partition(":")
                if field_name == "name":
                    chosen = [o for o in chosen if o.name == (value if value.startswith("#") else f"#{value}")]
                elif field_name == "id":
                    chosen = [o for o in chosen if str(o.id) == value]
        return connection([order_view(self.shop, o) for o in chosen])(**arguments)

    def inventoryAdjustQuantities(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802,A002
        key = _idempotency_key(info)
        try:
            changes = [{"inventory_item_id": parse_gid(c["inventoryItemId"], "InventoryItem"),
                        "location_id": parse_gid(c["locationId"], "Location"), "delta": c["delta"],
                        "change_from": c.get("changeFromQuantity")} for c in input["changes"]]
        except GraphQLError as error:
            return {"inventoryAdjustmentGroup": None,
                    "userErrors": [{"field": ["input", "changes"], "message": error.message, "code": "INVALID"}]}
        if input["name"] != "available":
            return {"inventoryAdjustmentGroup": None, "userErrors": [
                {"field": ["input", "name"], "message": "The quantity name must be 'available'.",
                 "code": "INVALID_QUANTITY_NAME"}]}
        group, errors = self.shop.adjust_quantities(key, input["reason"], input.get("referenceDocumentUri"), changes)
        if group is None:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        return {"userErrors": [], "inventoryAdjustmentGroup": {
            "id": gid("InventoryAdjustmentGroup", group["id"]), "createdAt": iso(group["created_at"]),
            "reason": group["reason"], "referenceDocumentUri": group["reference_document_uri"],
            "changes": [{"name": "available", "delta": c["delta"], "quantityAfterChange": c["quantity_after"],
                         "item": {"id": gid("InventoryItem", c["inventory_item_id"])},
                         "location": {"id": gid("Location", c["location_id"])}} for c in group["changes"]]}}

    # --- resolution -----------------------------------------------------------------------

    def _resolve(self, source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        name = info.field_name
        if source is self:
            handler = getattr(self, name, None)
            if handler is None:
                raise GraphQLError(f"The sandbox does not implement {name}.", extensions={"code": "NOT_IMPLEMENTED"})
            try:
                with self.shop.lock:
                    return handler(info, **arguments)
            except StoreError as error:
                raise GraphQLError(str(error)) from error
        value = source.get(name) if isinstance(source, dict) else None
        return value(**arguments) if callable(value) else value


def _type_of(value: Any, info: GraphQLResolveInfo, abstract: Any) -> str | None:
    return value.get("__typename") if isinstance(value, dict) else None


def _idempotency_key(info: GraphQLResolveInfo) -> str:
    node: FieldNode = info.field_nodes[0]
    values = get_directive_values(admin_schema().get_directive("idempotent"), node, info.variable_values)
    key = (values or {}).get("key", "")
    if not key.strip():
        raise GraphQLError("The @idempotent directive is required for this mutation.",
                           extensions={"code": "BAD_REQUEST"})
    return key

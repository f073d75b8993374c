"""Small builders for order snapshots in core tests."""

from __future__ import annotations

from decimal import Decimal

from streams.core.model import Address, LineItem, OrderSnapshot, Refund, RefundLine, Transaction
from streams.core.reference import Catalogue, PriceLists, Reference

ITEMS = frozenset({"TEE-S", "TEE-M", "TEE-L", "MUG", "SOCK", "CAP"})
REFERENCE = Reference(Catalogue(item_codes=ITEMS, overrides={"SHOPIFY-CAP": "CAP"},
                                bundles={"GIFT-BOX": (("MUG", 1), ("SOCK", 2))}))
HOME = Address(name="Jon Snow", address1="1 Wall St", city="Winterfell", zip="W1", country_code="GB")


def line(line_id: str, sku: str | None, quantity: int = 1, price: str = "10.00", original: int | None = None,
         restocked: int = 0, properties: tuple = (), variant: str | None = None) -> LineItem:
    return LineItem(line_id=line_id, sku=sku, quantity=quantity, unit_price=Decimal(price),
                    original_quantity=quantity if original is None else original, restocked_quantity=restocked,
                    variant_id=variant or f"v-{sku}", inventory_item_id=f"inv-{sku}", properties=properties)


def order(order_id: str = "1001", version: int = 1, lines: tuple = (), **fields) -> OrderSnapshot:
    defaults = dict(name=f"#{order_id}", currency="EUR", shipping_address=HOME, location_id="loc-1",
                    created_at=0, customer_id="c-1",
                    total=sum((li.unit_price * li.quantity for li in lines), Decimal(0)),
                    transactions=(Transaction(transaction_id=f"t-{order_id}", kind="SALE", status="SUCCESS",
                                              amount=sum((li.unit_price * li.quantity for li in lines), Decimal(0))),))
    defaults.update(fields)
    return OrderSnapshot(order_id=order_id, version=version, lines=lines or (line("1", "TEE-M"),), **defaults)


def refund(refund_id: str, amount: str, *lines: tuple[str, int, str]) -> Refund:
    return Refund(refund_id=refund_id, amount=Decimal(amount),
                  lines=tuple(RefundLine(line_id=lid, quantity=q, restock_type=rt, location_id="loc-1")
                              for lid, q, rt in lines))


def with_price_list(prices: dict) -> Reference:
    return Reference(REFERENCE.catalogue, PriceLists(prices))

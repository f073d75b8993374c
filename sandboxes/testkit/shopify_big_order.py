"""The order issue 19 names: 40 lines (bundles included), 10 edits and 6 refunds across two locations.

Built in a sandbox ``Shop`` by merchant operations, in three steps (checkout,
the ten edits, the three refunds a merchant makes by hand) so that a test
through the broker can let editsync catch up between them; and judged by an
oracle that reads the store's own records (never the connector's mapping),
so a test can say what a complete and exact read of it must be.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.shopify.store import Line, Order, Shop, Variant

PARTS = 34  # simple variants; with a 2-component bundle at checkout: 36 lines, edits bring it to 40


@dataclass
class BigOrder:
    order: Order
    main: int  # location ids
    second: int
    parts: list[Variant]
    bundle_id: int
    checkout_lines: list[Line]  # as placed: edits append lines, the steps address the checkout's

    @property
    def at_second(self) -> list[Line]:
        return [line for line in self.checkout_lines if line.location_id == self.second]

    @property
    def at_main(self) -> list[Line]:
        return [line for line in self.checkout_lines if line.location_id == self.main and line.group is None]


def add_second_location(shop: Shop, stock: int = 200) -> int:
    """A second warehouse that stocks every variant the shop already sells (as activating inventory there does)."""
    with shop.lock:
        second = shop.add_location("Second warehouse")
        for variant in shop.variants.values():
            shop.levels[(variant.inventory_item_id, second)] = stock
    return second


def stock_parts(shop: Shop, stock: int = 200) -> list[Variant]:
    """Variants enough for 40 lines: ``PART-01`` … (every location stocks them)."""
    return [shop.add_variant(f"PART-{n:02d}", f"{5 + n}.00", stock=stock) for n in range(1, PARTS + 4)]


def checkout(shop: Shop, parts: list[Variant], bundle_id: int, main: int, second: int) -> BigOrder:
    """34 parts × 2 and a bundle; every third part ships from the second location."""
    items = [(variant.id, 2) for variant in parts[:PARTS]] + [(bundle_id, 1)]
    routed = {variant.id: second for variant in parts[:PARTS:3]}
    order = shop.create_order(items, customer_id=None, address={"name": "Bea Big", "city": "York"},
                              location_id=main, line_locations=routed)
    return BigOrder(order, main, second, parts, bundle_id, list(order.lines))


def make_edits(shop: Shop, big: BigOrder) -> None:
    """Ten native edits in Shopify's admin; the customer pays the invoice for the seven that raise the total, and
    the three that lower it are settled with a refund each."""
    order_id, at_main, at_second, extra = big.order.id, big.at_main, big.at_second, big.parts[PARTS:]
    shop.edit_order(order_id, add=[(extra[0].id, 1)], location_id=big.second)               # 1: +1 line, second
    shop.edit_order(order_id, add=[(big.bundle_id, 1)], location_id=big.second)             # 2: +2 lines (bundle)
    shop.edit_order(order_id, add=[(extra[1].id, 2)])                                       # 3: +1 line, main
    for line in at_main[:4]:                                                                # 4-7: one more each
        shop.edit_order(order_id, set_quantity={line.id: 3})
    shop.pay_outstanding(order_id)
    shop.edit_order(order_id, set_quantity={at_main[4].id: 1})                               # 8: -1, not restocked
    shop.edit_order(order_id, set_quantity={at_second[0].id: 0})                             # 9: line removed
    shop.edit_order(order_id, set_quantity={at_second[1].id: 1}, restock=True)               # 10: -1, restocked


def make_refunds(shop: Shop, big: BigOrder) -> None:
    order_id, at_main = big.order.id, big.at_main
    component = next(line for line in big.checkout_lines if line.group is not None)
    shop.fulfill(order_id, {at_main[5].id: 1, component.id: 1})                             # shipped: returnable
    shop.refund(order_id, {at_main[5].id: 1}, "RETURN", location_id=big.second)            # returned elsewhere
    shop.refund(order_id, {line.id: 1 for line in at_main[6:18]})                            # 12 lines, no restock
    shop.refund(order_id, {component.id: 1}, "RETURN")                                      # a bundle component


def build(shop: Shop, parts: list[Variant], bundle_id: int, main: int, second: int) -> BigOrder:
    """Checkout, 10 edits and 3 refunds on top of the 3 refunds the edits that lower the total settle with."""
    big = checkout(shop, parts, bundle_id, main, second)
    make_edits(shop, big)
    make_refunds(shop, big)
    assert is_complete(big)
    return big


def is_complete(big: BigOrder) -> bool:
    order = big.order
    return len(order.lines) == 40 and len(order.refunds) == 6 and \
        sum(a.reason == "ORDER_EDIT" for a in order.agreements) == 10


def expected_lines(shop: Shop, order: Order) -> dict[str, dict]:
    """Per line, what a complete read must say, from the store's records."""
    expected = {}
    for line in order.lines:
        sales = [s for a in order.agreements for s in a.sales if s.line_id == line.id]
        restocked = sum(rl.quantity for r in order.refunds for rl in r.lines
                        if rl.line_id == line.id and (rl.restocked or rl.restock_type == "RETURN"))
        expected[str(line.id)] = {
            "sku": line.sku, "quantity": line.current_quantity,
            "sold": sum(s.quantity for s in sales if s.quantity > 0),
            "original": sum(s.quantity for a in order.agreements if a.reason == "ORDER"
                            for s in a.sales if s.line_id == line.id and s.quantity > 0),
            "restocked": restocked, "location": str(line.location_id),
            "inventory_item": str(shop.variants[line.variant_id].inventory_item_id)}
    return expected


def expected_refunds(order: Order) -> dict[str, list[tuple[str, int, str, str | None]]]:
    return {str(r.id): [(str(rl.line_id), rl.quantity, rl.restock_type,
                         None if rl.location_id is None else str(rl.location_id)) for rl in r.lines]
            for r in order.refunds}

"""``editsync demo``: a realistic mixed day through the running stack, then the judge's verdict.

Drives the sandboxes a running ``editsync run`` started (their URLs are in
the data dir) only through their HTTP control surfaces, exactly as a merchant
and a warehouse would act: orders, native edits, address and gift-message
changes, recreates (the editing app cancelling the original, or leaving it
open and tagged), refunds before shipping, refunds with a return after
despatch, cancellations, Shopify bundles and a bundle only editsync's
reference file knows, a SKU the warehouse codes differently, B2B orders and
B2B edits adding an item off the company's price list, an unknown SKU, and
edits after the warehouse started picking; webhooks duplicated, delayed and
reordered. Customers edit through their order-editing app (the sandbox's
``customer_edit_order``, refused on an order editsync closed for edits),
merchants now and then in the admin (``edit_order``, never refused). Then it
waits for editsync to settle and judges every order (``sandboxes/judge``) from
Shopify's final order and the business rules.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from sandboxes.judge import adapters, rules
from sandboxes.judge.models import MerchantReference, OpenException, Plan, Verdict
from sandboxes.judge.verdict import judge
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.tail import read_records
from streams.runtime.settings import ConfigError, Settings

ADDRESS = {"name": "Ann Smith", "address1": "1 High Street", "city": "Leeds", "zip": "LS1 1AA", "country_code": "GB"}
PLAIN = ["TEE-S", "TEE-M", "TEE-L", "HOODIE-M", "HOODIE-L", "MUG", "SOCK", "CAP", "BEANIE"]


class Demo:
    def __init__(self, urls: dict[str, str], seed: int, reference: MerchantReference) -> None:
        self.shopify = urls["shopify"] + "/_sandbox"
        self.peoplevox = urls["peoplevox"].split("/resources/")[0].rsplit("/", 1)[0] + "/_sandbox"
        self.erp = urls["erp"].rsplit("/services/", 1)[0] + "/_sandbox"
        self.http = httpx.Client(timeout=30.0)
        self.random = random.Random(seed)
        self.reference = reference
        self.plans: dict[int, Plan] = {}
        shop = adapters.shopify(self.state(self.shopify))
        self.start_stock = rules.stock_before_orders(shop.stock, shop.orders.values())

    def op(self, name: str, **arguments: Any) -> dict[str, Any]:
        response = self.http.post(f"{self.shopify}/scenario/{name}", json=arguments)
        response.raise_for_status()
        return response.json()

    def state(self, base: str) -> dict[str, Any]:
        return self.http.get(f"{base}/state").json()

    def set_status(self, plan: Plan, status: str) -> None:
        """The warehouse moves the order on; from the cut-off on, it holds what Shopify's order was then."""
        plan.at_cutoff = plan.at_cutoff or self.state(self.shopify)["orders"][str(plan.order_id)]
        # The live sales order: after a cancel-and-replace that is the replacement, not the order's own number.
        live = [number for number, so in self.state(self.peoplevox)["sales_orders"].items()
                if so["reference"] == str(plan.order_id) and so["status"] != "Cancelled"]
        number = live[-1] if live else plan.name.lstrip("#")
        self.http.post(f"{self.peoplevox}/status/{number}", json={"status": status}).raise_for_status()

    def ship(self, plan: Plan, timeout_s: float = 30.0) -> bool:
        """The warehouse despatches the order and editsync fulfils it in Shopify (fulfillmentCreate): only then
        may a refund return units (Shopify's RETURN is for "line items that were fulfilled"). False: Shopify
        did not show it fulfilled in time."""
        self.set_status(plan, "Despatched")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.state(self.shopify)["orders"][str(plan.order_id)]["fulfillments"]:
                return True
            time.sleep(0.5)
        return False

    def recreate(self, plan: Plan, items: list[list[int]], marker: str, cancel_original: bool) -> Plan:
        new = self.op("recreate_order", order_id=plan.order_id, items=items, marker=marker,
                      cancel_original=cancel_original)
        plan.kinds.append("recreate" if cancel_original else "recreate_open")
        plan.superseded = True
        plan.edits += 1
        successor = Plan.of(new, ["recreated"])
        successor.successor_of = plan.order_id
        self.plans[new["id"]] = successor
        return successor

    def verdict(self, exceptions: Iterable[OpenException]) -> Verdict:
        return judge(self.plans.values(), adapters.shopify(self.state(self.shopify)),
                     adapters.peoplevox(self.state(self.peoplevox)), adapters.erp(self.state(self.erp)),
                     exceptions, self.reference, self.start_stock)

    def run(self, orders: int) -> None:
        # The warehouse picks only what the demo tells it to, so "after picking" is known exactly.
        self.http.put(f"{self.peoplevox}/pick-cycle", json={"pick_delay_s": [3600, 3600]}).raise_for_status()
        self.http.put(f"{self.shopify}/webhooks", json={"duplicate_rate": 0.15, "delay_ms": [0, 400],
                                                         "reorder_window": 3}).raise_for_status()
        shop = self.state(self.shopify)
        variants = {sku: v["id"] for sku, v in shop["variants"].items()}
        company_location = int(next(iter(shop["company_locations"])))
        for _ in range(orders):
            roll = self.random.random()
            items = [[variants[sku], self.random.randint(1, 3)] for sku in self.random.sample(PLAIN, 2)]
            arguments: dict[str, Any] = {"items": items, "address": ADDRESS}
            kinds = ["create"]
            if roll < 0.06:
                arguments["items"].append([variants["GIFT-BOX"], 1])
                kinds.append("bundle")
            elif roll < 0.10:
                arguments["items"].append([variants["TEE-PACK"], 1])  # components only in editsync's reference
                kinds.append("kit")
            elif roll < 0.16:
                arguments["company_location_id"] = company_location
                kinds.append("b2b")
            elif roll < 0.19:
                arguments["items"].append([variants["POSTER"], 1])
                kinds.append("unknown_sku")
            order = self.op("create_order", **arguments)
            self.plans[order["id"]] = Plan.of(order, kinds)
        time.sleep(4)  # let the creates reach the warehouse before editing
        for plan in list(self.plans.values()):
            self.act(plan, variants)

    def act(self, plan: Plan, variants: dict[str, int]) -> None:
        roll = self.random.random()
        first_line = plan.first_line_id
        shippable = "unknown_sku" not in plan.kinds
        if "b2b" in plan.kinds and roll < 0.5:
            # The editor adds a listed item at its own price instead of the company's agreed one.
            self.pay_later(plan, self.edit(plan, "b2b_off_price_list", "edit_order", add=[[variants["TEE-M"], 1]],
                                           at_list_price=False))
        elif roll < 0.28:
            # Customers swap a size through their order-editing app; now and then the merchant does it in the admin.
            operation = "edit_order" if self.random.random() < 0.2 else "customer_edit_order"
            edited = self.edit(plan, "edit", operation, set_quantity={str(first_line): 0},
                               add=[[variants["TEE-L"], 1]], restock=self.random.random() < 0.5)
            if operation == "edit_order":
                self.pay_later(plan, edited)
        elif roll < 0.38:
            self.edit(plan, "address", "change_address", address1="2 New Road", zip="LS2 2BB")
        elif roll < 0.43:
            self.edit(plan, "gift_message", "set_line_properties", line_id=first_line,
                      properties={"Gift message": "Happy birthday!"})
        elif roll < 0.51 and shippable:
            # Edit racing the pick cycle: the warehouse starts picking, then the customer swaps a size.
            if self.wait_for_sales_order(plan):
                self.set_status(plan, "Picking")
                time.sleep(1.5)  # the status callback reaches editsync, as it would in production
                self.edit(plan, "edit_after_pick", "customer_edit_order", add=[[variants["CAP"], 1]])
        elif roll < 0.57:
            self.op("cancel_order", order_id=plan.order_id)
            plan.kinds.append("cancel")
        elif roll < 0.63:
            self.edit(plan, "refund", "refund", lines={str(first_line): 1}, restock_type="CANCEL")
        elif roll < 0.69 and shippable:
            # Shipped, then the customer sends one unit back: a refund with a return.
            if self.wait_for_sales_order(plan) and self.ship(plan):
                self.edit(plan, "return", "refund", lines={str(first_line): 1}, restock_type="RETURN")
        elif roll < 0.75 and shippable:
            self.recreate(plan, [[variants["TEE-S"], 1], [variants["MUG"], 2]],
                          self.random.choice(["note_attribute", "tag", "note"]), self.random.random() < 0.5)

    def edit(self, plan: Plan, kind: str, operation: str, **arguments: Any) -> dict[str, Any] | None:
        """None: the customer's editing app refused the edit (the order is locked) and nothing changed."""
        try:
            done = self.op(operation, order_id=plan.order_id, **arguments)
        except httpx.HTTPStatusError as error:
            if operation != "customer_edit_order" or error.response.status_code != 409:
                raise
            plan.kinds.append(f"{kind}_refused")
            return None
        plan.kinds.append(kind)
        plan.edits += 1
        return done

    def pay_later(self, plan: Plan, edited: dict[str, Any] | None) -> None:
        """An admin edit leaves an upsell to collect; half the customers pay the invoice the merchant sent."""
        if edited is not None and Decimal(edited["outstanding"]) > 0 and self.random.random() < 0.5:
            self.op("pay_outstanding", order_id=plan.order_id)
            plan.kinds.append("paid_invoice")

    def wait_for_sales_order(self, plan: Plan, timeout_s: float = 30.0) -> bool:
        number = plan.name.lstrip("#")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            # A warehouse picks what a sales order's lines say: a header whose lines are still to come is not
            # started (editsync imports the header and then its lines, and either may be retried).
            if self.state(self.peoplevox)["sales_orders"].get(number, {}).get("lines"):
                return True
            time.sleep(0.5)
        return False


def results(demo: Demo, verdict: Verdict) -> dict[str, Any]:
    plans = demo.plans.values()
    return {
        **verdict.totals,
        "edits": sum(p.edits for p in plans),
        "edits_after_pick": sum("edit_after_pick" in p.kinds for p in plans),
        "edits_refused": sum(kind.endswith("_refused") for p in plans for kind in p.kinds),
        "stock_levels": [f"{m.field}: expected {m.expected}, has {m.actual}" for m in verdict.stock],
        "orders_detail": [{"order": v.name, "did": v.did, "in_sync": v.in_sync, "lost": v.lost,
                           "mismatches": [f"{m.field}: expected {m.expected}, has {m.actual}" for m in v.mismatches],
                           "unexplained": [m.field for m in v.unexplained], "exceptions": list(v.open_exceptions)}
                          for v in verdict.orders],
    }


def read_exceptions(bootstrap: str) -> tuple[OpenException, ...]:
    codec = AvroCodec()
    records = (codec.decode(topics.EXCEPTIONS, message.value())
               for message in read_records(bootstrap, topics.EXCEPTIONS, from_beginning=True, idle_timeout_s=3.0))
    return adapters.open_exceptions(records)


def run_demo(settings: Settings, bootstrap: str, orders: int, seed: int, settle_s: float, out: Path) -> dict[str, Any]:
    urls_file = settings.data_dir / "sandboxes.json"
    if not urls_file.exists():
        raise ConfigError(f"no sandboxes to drive: start `editsync run` without downstream URLs first ({urls_file})")
    reference_file = settings.reference_file or settings.data_dir / "sandbox-reference.json"
    demo = Demo(json.loads(urls_file.read_text()), seed, adapters.reference(json.loads(reference_file.read_text())))
    started = time.monotonic()
    demo.run(orders)
    # An upsell left to collect is finance's only after the payment grace: the judge must be able to see it.
    settle_s = max(settle_s, settings.payment_grace_s + 60)
    print(f"editsync demo: {len(demo.plans)} orders driven in {time.monotonic() - started:.1f} s; "
          f"waiting up to {settle_s:.0f} s for editsync to settle", flush=True)
    deadline, found = time.monotonic() + settle_s, {}
    while time.monotonic() < deadline:
        time.sleep(5)
        found = results(demo, demo.verdict(read_exceptions(bootstrap)))
        if found["unexplained"] == 0 and found["stock_levels_wrong"] == 0:
            break
    found["seconds"] = round(time.monotonic() - started, 1)
    out.write_text(json.dumps(found, indent=2))
    print_table(found)
    print(f"editsync demo: results written to {out}")
    return found


def print_table(found: dict[str, Any]) -> None:
    """Every order not in sync, with what differs and what is open on it; then the totals."""
    print(f"{'order':8} {'what happened':34} {'open exceptions':34} mismatches (* = unexplained)")
    for row in found["orders_detail"]:
        if row["in_sync"]:
            continue
        mismatches = "; ".join(("*" if m.split(":", 1)[0] in row["unexplained"] else "") + m
                               for m in row["mismatches"])
        print(f"{row['order']:8} {row['did'][:34]:34} {','.join(row['exceptions'])[:34]:34} {mismatches}")
    for line in found["stock_levels"]:
        print(f"stock level wrong: {line}")
    for key in ("orders", "edits", "edits_after_pick", "edits_refused", "in_sync", "mismatched_orders", "explained",
                "unexplained", "lost_orders", "duplicate_sales_orders", "recreated", "recreated_released",
                "stock_levels_wrong", "exceptions_by_type", "seconds"):
        print(f"{key}: {found[key]}")

"""``editsync demo``: a realistic mixed day through the running stack, then expected vs actual.

Drives the sandboxes a running ``editsync run`` started (their URLs are in
the data dir) only through their HTTP control surfaces, exactly as a merchant
and a warehouse would act: orders, native edits, address and gift-message
changes, recreates, refunds, cancellations, bundles, B2B, an unknown SKU, and
edits after the warehouse started picking; webhooks duplicated, delayed and
reordered. Then it waits for editsync to settle and compares every system
with what Shopify says each order is.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.tail import read_records
from streams.service.config import ConfigError, Settings

ADDRESS = {"name": "Ann Smith", "address1": "1 High Street", "city": "Leeds", "zip": "LS1 1AA", "country_code": "GB"}


@dataclass
class Plan:
    """What the demo did to one order, and so what editsync must end up with."""

    order_id: int
    name: str
    first_line_id: int
    kinds: list[str] = field(default_factory=list)
    edits: int = 0
    after_pick: bool = False
    superseded: bool = False  # recreated as another order: its sales order must go
    unknown_sku: bool = False

    @classmethod
    def of(cls, order: dict[str, Any], kinds: list[str]) -> "Plan":
        """The plan for an order as the sandbox's scenario answer summarises it."""
        return cls(order["id"], order["name"], order["lines"][0]["id"], kinds, unknown_sku="unknown_sku" in kinds)


class Demo:
    def __init__(self, urls: dict[str, str], seed: int) -> None:
        self.shopify = urls["shopify"] + "/_sandbox"
        self.peoplevox = urls["peoplevox"].split("/resources/")[0].rsplit("/", 1)[0] + "/_sandbox"
        self.erp = urls["erp"].rsplit("/services/", 1)[0] + "/_sandbox"
        self.http = httpx.Client(timeout=30.0)
        self.random = random.Random(seed)
        self.plans: dict[int, Plan] = {}

    def op(self, name: str, **arguments: Any) -> dict[str, Any]:
        response = self.http.post(f"{self.shopify}/scenario/{name}", json=arguments)
        response.raise_for_status()
        return response.json()

    def state(self, base: str) -> dict[str, Any]:
        return self.http.get(f"{base}/state").json()

    def run(self, orders: int) -> None:
        # The warehouse picks only what the demo tells it to, so "after picking" is known exactly.
        self.http.put(f"{self.peoplevox}/pick-cycle", json={"pick_delay_s": [3600, 3600]}).raise_for_status()
        self.http.put(f"{self.shopify}/webhooks", json={"duplicate_rate": 0.15, "delay_ms": [0, 400],
                                                         "reorder_window": 3}).raise_for_status()
        shop = self.state(self.shopify)
        variants = {sku: v["id"] for sku, v in shop["variants"].items()}
        company_location = int(next(iter(shop["company_locations"])))
        plain = ["TEE-S", "TEE-M", "TEE-L", "HOODIE-M", "HOODIE-L", "MUG", "SOCK", "CAP"]
        for _ in range(orders):
            roll = self.random.random()
            items = [[variants[sku], self.random.randint(1, 3)] for sku in self.random.sample(plain, 2)]
            arguments: dict[str, Any] = {"items": items, "address": ADDRESS}
            kinds = ["create"]
            if roll < 0.08:
                arguments["items"].append([variants["GIFT-BOX"], 1])
                kinds.append("bundle")
            elif roll < 0.14:
                arguments["company_location_id"] = company_location
                kinds.append("b2b")
            elif roll < 0.17:
                arguments["items"].append([variants["POSTER"], 1])
                kinds.append("unknown_sku")
            order = self.op("create_order", **arguments)
            plan = Plan.of(order, kinds)
            self.plans[order["id"]] = plan
        time.sleep(4)  # let the creates reach the warehouse before editing
        for plan in list(self.plans.values()):
            self.act(plan, variants)

    def act(self, plan: Plan, variants: dict[str, int]) -> None:
        roll = self.random.random()
        first_line = plan.first_line_id
        if roll < 0.30:
            self.op("edit_order", order_id=plan.order_id, set_quantity={str(first_line): 0},
                    add=[[variants["TEE-L"], 1]], restock=self.random.random() < 0.5)
            plan.kinds.append("edit")
            plan.edits += 1
        elif roll < 0.40:
            self.op("change_address", order_id=plan.order_id, address1="2 New Road", zip="LS2 2BB")
            plan.kinds.append("address")
            plan.edits += 1
        elif roll < 0.45:
            self.op("set_line_properties", order_id=plan.order_id, line_id=first_line,
                    properties={"Gift message": "Happy birthday!"})
            plan.kinds.append("gift_message")
            plan.edits += 1
        elif roll < 0.53 and not plan.unknown_sku:
            # Edit racing the pick cycle: the warehouse starts picking, then the customer swaps a size.
            number = plan.name.lstrip("#")
            if self.wait_for_sales_order(number):
                self.http.post(f"{self.peoplevox}/status/{number}", json={"status": "Picking"})
                time.sleep(1.5)  # the status callback reaches editsync, as it would in production
                self.op("edit_order", order_id=plan.order_id, add=[[variants["CAP"], 1]])
                plan.kinds.append("edit_after_pick")
                plan.edits += 1
                plan.after_pick = True
        elif roll < 0.60:
            self.op("cancel_order", order_id=plan.order_id)
            plan.kinds.append("cancel")
        elif roll < 0.67:
            self.op("refund", order_id=plan.order_id, lines={str(first_line): 1}, restock_type="CANCEL")
            plan.kinds.append("refund")
            plan.edits += 1
        elif roll < 0.72 and not plan.unknown_sku:
            new = self.op("recreate_order", order_id=plan.order_id,
                          items=[[variants["TEE-S"], 1], [variants["MUG"], 2]],
                          marker=self.random.choice(["note_attribute", "tag", "note"]))
            plan.kinds.append("recreate")
            plan.superseded = True
            plan.edits += 1
            self.plans[new["id"]] = Plan.of(new, ["recreated"])

    def wait_for_sales_order(self, number: str, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if number in self.state(self.peoplevox)["sales_orders"]:
                return True
            time.sleep(0.5)
        return False


def expected_lines(order: dict[str, Any], item_codes: set[str]) -> dict[str, int]:
    lines: dict[str, int] = {}
    for line in order["lines"]:
        if line["current_quantity"] > 0 and line["sku"] in item_codes:
            lines[line["sku"]] = lines.get(line["sku"], 0) + line["current_quantity"]
    return lines


def erp_matches(sales_order: dict[str, Any] | None, order: dict[str, Any]) -> bool:
    """NetSuite holds the order's current lines open at Shopify's prices, or every line closed once cancelled."""
    if sales_order is None:
        return False
    lines = sales_order["item"]["items"]
    if order["cancelled"]:
        return all(line["isClosed"] for line in lines)
    held: dict[str, int] = {}
    for line in lines:
        if not line.get("isClosed"):
            held[line["item"]["refName"]] = held.get(line["item"]["refName"], 0) + int(line["quantity"])
    want: dict[str, int] = {}
    for line in order["lines"]:
        if line["current_quantity"] > 0:
            want[line["sku"]] = want.get(line["sku"], 0) + line["current_quantity"]
    return held == want and Decimal(str(sales_order["total"])) == Decimal(order["total"])


def compare(demo: Demo, exceptions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    shop, warehouse, erp = demo.state(demo.shopify), demo.state(demo.peoplevox), demo.state(demo.erp)
    item_codes = set(warehouse["item_types"])
    live: dict[str, list[dict[str, Any]]] = {}
    for number, sales_order in warehouse["sales_orders"].items():
        if sales_order["status"] != "Cancelled":
            live.setdefault(sales_order["reference"], []).append({"number": number, **sales_order})
    open_by_order: dict[str, set[str]] = {}
    for record in exceptions.values():
        if record["state"] == "OPEN":
            open_by_order.setdefault(record["order_id"], set()).add(record["type"])
    rows, mismatches, lost, duplicates = [], 0, 0, 0
    for plan in demo.plans.values():
        order = shop["orders"][str(plan.order_id)]
        key = str(plan.order_id)
        held = live.get(key, [])
        duplicates += max(0, len(held) - 1)
        should_ship = not order["cancelled"] and not plan.superseded and not plan.unknown_sku
        want = expected_lines(order, item_codes) if should_ship else {}
        have = held[0]["lines"] if held else {}
        peoplevox_ok = (want == have) if should_ship else not held
        erp_ok = erp_matches(erp["salesOrder"].get(key), order)
        explained = open_by_order.get(key, set())
        if not (peoplevox_ok and erp_ok):
            mismatches += 1
            if not explained:
                lost += plan.edits > 0
        rows.append({"order": plan.name, "did": "+".join(plan.kinds), "peoplevox": "ok" if peoplevox_ok else
                     f"expected {want or 'none'}, has {have or 'none'}", "erp": "ok" if erp_ok else "differs",
                     "exceptions": sorted(explained)})
    superseded_live = sum(1 for p in demo.plans.values() if p.superseded and live.get(str(p.order_id)))
    counts = Counter(r["type"] for r in exceptions.values() if r["state"] == "OPEN")
    return {
        "orders": len(demo.plans),
        "edits": sum(p.edits for p in demo.plans.values()),
        "edits_after_pick": sum(p.after_pick for p in demo.plans.values()),
        "mismatches": mismatches,
        "duplicate_sales_orders": duplicates + superseded_live,
        "lost_edits": lost,
        "exceptions_by_type": dict(sorted(counts.items())),
        "orders_detail": rows,
    }


def read_exceptions(settings: Settings, bootstrap: str) -> dict[str, dict[str, Any]]:
    codec = AvroCodec()
    latest: dict[str, dict[str, Any]] = {}
    for message in read_records(bootstrap, topics.EXCEPTIONS, from_beginning=True, idle_timeout_s=3.0):
        record = codec.decode(topics.EXCEPTIONS, message.value())
        latest[record["exception_id"]] = record
    return latest


def run_demo(settings: Settings, bootstrap: str, orders: int, seed: int, settle_s: float, out: Path) -> dict[str, Any]:
    urls_file = settings.data_dir / "sandboxes.json"
    if not urls_file.exists():
        raise ConfigError(f"no sandboxes to drive: start `editsync run` without downstream URLs first ({urls_file})")
    demo = Demo(json.loads(urls_file.read_text()), seed)
    started = time.monotonic()
    demo.run(orders)
    print(f"editsync demo: {len(demo.plans)} orders driven in {time.monotonic() - started:.1f} s; "
          f"waiting up to {settle_s:.0f} s for editsync to settle", flush=True)
    deadline, results = time.monotonic() + settle_s, {}
    while time.monotonic() < deadline:
        time.sleep(5)
        results = compare(demo, read_exceptions(settings, bootstrap))
        if results["mismatches"] <= results["edits_after_pick"]:
            break
    results["seconds"] = round(time.monotonic() - started, 1)
    out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"editsync demo: results written to {out}")
    return results


def print_table(results: dict[str, Any]) -> None:
    print(f"{'order':8} {'what happened':38} {'peoplevox':40} {'erp':8} exceptions")
    for row in results["orders_detail"]:
        print(f"{row['order']:8} {row['did'][:38]:38} {row['peoplevox'][:40]:40} {row['erp']:8} "
              f"{','.join(row['exceptions'])}")
    for key in ("orders", "edits", "edits_after_pick", "mismatches", "duplicate_sales_orders", "lost_edits",
                "exceptions_by_type", "seconds"):
        print(f"{key}: {results[key]}")

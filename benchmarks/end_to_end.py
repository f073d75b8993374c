"""End to end on the real broker: a burst of orders from Shopify's webhooks to Peoplevox's sales orders.

The set-up is the broker tests' own (``sandboxes/testkit/pipeline.py``): the
embedded Tansu broker, the three sandboxes on loopback in this process, and
``editsync run`` as a subprocess pointed at them as production points it at
Shopify, Peoplevox and NetSuite. Nothing is mocked.

The burst: N orders placed in the Shopify sandbox's store at once, by the
merchant's own operation (``Shop.create_order``, in process so that placing
them is not what limits the rate); the sandbox signs each ``orders/create``
webhook and delivers them concurrently over HTTP, as Shopify does. Measured:

- webhooks accepted per second: N over the time from the first order placed
  to the last delivery answered 200 (the sandbox's delivery log);
- per order, latency from Shopify's change (the order's ``createdAt``) to
  Peoplevox's write of its sales order (the sales order's last modification
  time in the sandbox warehouse; with picking held off nothing else writes
  it), and the time until every order's sales order is in Peoplevox with
  exactly the order's lines;
- the time until the judge (``sandboxes/judge``) finds every order in sync in
  every system (Peoplevox, Shopify stock, NetSuite);
- the worker's peak resident memory (``VmHWM`` of the ``editsync run``
  process) and CPU seconds, and its consumer lag at its highest (the
  ``editsync_consumer_lag`` gauges of its ``/metrics``, summed over topics and
  partitions, sampled every second with the lag monitor measuring every second).
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.report import percentile
from sandboxes.judge.models import Plan
from sandboxes.shopify.store import Order
from sandboxes.stack import SKU_OVERRIDES
from sandboxes.testkit.pipeline import Pipeline, pipeline_on_own_broker

SKUS = ("TEE-S", "TEE-M", "TEE-L", "HOODIE-M", "HOODIE-L", "MUG", "SOCK", "CAP", "BEANIE")
ADDRESS = {"name": "Ann Smith", "address1": "1 High Street", "city": "Leeds", "zip": "LS1 1AA", "country_code": "GB"}
CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


def proc_status(pid: int) -> dict[str, int]:
    """``VmHWM`` (peak resident set) and ``VmRSS`` in kB from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process used so far (/proc/<pid>/stat, fields 14 and 15)."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS


def consumer_lag(metrics_text: str) -> int:
    """Records the worker's consumer group has not committed, summed over every topic and partition it owns."""
    return int(sum(sample.value for family in text_string_to_metric_families(metrics_text)
                   if family.name == "editsync_consumer_lag" for sample in family.samples))


class LagSampler:
    """Scrapes the worker's /metrics every second on a thread; keeps the highest total lag seen."""

    def __init__(self, url: str) -> None:
        self.url, self.peak, self.samples = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-lag-sampler", daemon=True)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(1.0):
                try:
                    lag = consumer_lag(client.get(f"{self.url}/metrics").text)
                except httpx.HTTPError:
                    continue
                self.samples += 1
                self.peak = max(self.peak, lag)


def expected_lines(pipeline: Pipeline, order: Order) -> dict[str, int]:
    """What Peoplevox must hold for a plain order: per ItemCode, the units ordered (the beanie's own code)."""
    lines: dict[str, int] = {}
    for line in order.lines:
        code = SKU_OVERRIDES.get(line.sku, line.sku)
        lines[code] = lines.get(code, 0) + line.quantity
    return lines


def written_at(pipeline: Pipeline, orders: list[Order]) -> dict[int, float]:
    """For each order whose sales order Peoplevox holds with exactly its lines: when it was written (Unix s)."""
    warehouse = pipeline.sandboxes.warehouse
    done = {}
    with warehouse.lock:
        for order in orders:
            sales_order = warehouse.orders.get(order.name.lstrip("#"))
            if sales_order is None:
                continue
            held: dict[str, int] = {}
            for line in sales_order.lines.values():
                held[line.item_code] = held.get(line.item_code, 0) + line.quantity
            if held == expected_lines(pipeline, order):
                done[order.id] = sales_order.modified_at
    return done


def warm_up(pipeline: Pipeline, timeout_s: float) -> float:
    """One order through before the burst: a worker that answers /readyz may not have joined its group yet."""
    started = time.time()
    order = pipeline.sandboxes.shop.create_order([(pipeline.variants["MUG"], 1)], address=ADDRESS)
    pipeline.wait_for("the warm-up order in Peoplevox", lambda: written_at(pipeline, [order]), timeout_s)
    pipeline.demo.plans[order.id] = Plan(order_id=order.id, name=order.name, first_line_id=order.lines[0].id,
                                         kinds=["create"])
    return time.time() - started


def burst(pipeline: Pipeline, count: int, seed: int, timeout_s: float) -> dict[str, Any]:
    rng = random.Random(seed)
    shop, emitter = pipeline.sandboxes.shop, pipeline.sandboxes.emitter
    variants = pipeline.variants
    baskets = [[(variants[sku], rng.randint(1, 3)) for sku in rng.sample(SKUS, rng.randint(1, 3))]
               for _ in range(count)]
    pid = pipeline.service.process.pid
    cpu_before = cpu_seconds(pid)
    delivered_before = len(emitter.delivered)
    with LagSampler(pipeline.service.url) as lag:
        started = time.time()
        orders = [shop.create_order(basket, address=ADDRESS) for basket in baskets]
        placed = time.time()
        while len(emitter.delivered) - delivered_before < count:
            if emitter.failed:
                raise RuntimeError(f"webhooks not accepted: {emitter.failed[:3]}")
            if time.time() - started > timeout_s:
                raise RuntimeError(f"only {len(emitter.delivered) - delivered_before} of {count} webhooks accepted")
            time.sleep(0.01)
        accepted = time.time()
        while len(done := written_at(pipeline, orders)) < count:
            if time.time() - started > timeout_s:
                raise RuntimeError(f"only {len(done)} of {count} sales orders in Peoplevox after {timeout_s} s\n"
                                   f"{pipeline.service.log()}")
            time.sleep(0.25)
        in_peoplevox = max(done.values())
        for order in orders:
            pipeline.demo.plans[order.id] = Plan(order_id=order.id, name=order.name, first_line_id=order.lines[0].id,
                                                 kinds=["create"])
        plans = list(pipeline.demo.plans.values())  # the warm-up order's too: stock is judged over every order
        verdict = pipeline.settled(plans, timeout_s=max(60.0, timeout_s - (time.time() - started)))
        all_in_sync = time.time()
    latencies = sorted(done[o.id] - o.created_at / 1000 for o in orders)
    memory = proc_status(pid)
    return {
        "orders": count,
        "lines": sum(len(o.lines) for o in orders),
        "placing_seconds": round(placed - started, 3),
        "webhooks_accepted_per_second": round(count / (accepted - started), 1),
        "webhooks_accepted_seconds": round(accepted - started, 3),
        "all_in_peoplevox_seconds": round(in_peoplevox - started, 2),
        "all_systems_in_sync_seconds": round(all_in_sync - started, 1),
        "latency_to_peoplevox_seconds": {"p50": round(percentile(latencies, 50), 3),
                                         "p95": round(percentile(latencies, 95), 3),
                                         "p99": round(percentile(latencies, 99), 3),
                                         "min": round(latencies[0], 3), "max": round(latencies[-1], 3)},
        "judged_orders": len(plans),
        "judge": {k: verdict.totals[k] for k in ("in_sync", "unexplained", "lost_orders", "duplicate_sales_orders",
                                                 "stock_levels_wrong") if k in verdict.totals},
        "worker_peak_rss_mb": round(memory["VmHWM"] / 1024, 1),
        "worker_rss_mb_after": round(memory["VmRSS"] / 1024, 1),
        "worker_cpu_seconds": round(cpu_seconds(pid) - cpu_before, 1),
        "consumer_lag_peak": lag.peak,
        "consumer_lag_samples": lag.samples,
    }


def measure(orders: int, debounce_ms: int, partitions: int, seed: int = 1, timeout_s: float = 900.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="editsync-bench-") as tmp:
        started = time.monotonic()
        with pipeline_on_own_broker(Path(tmp), EDITSYNC_DEBOUNCE_MS=str(debounce_ms),
                                    EDITSYNC_TOPIC_PARTITIONS=str(partitions), EDITSYNC_LAG_INTERVAL_S="1") as pipeline:
            ready = time.monotonic() - started
            first_order = warm_up(pipeline, 120.0)
            bucket = pipeline.sandboxes.bucket
            figures = burst(pipeline, orders, seed, timeout_s)
        return {"settings": {"debounce_ms": debounce_ms, "partitions": partitions, "seed": seed,
                             "shopify_cost_bucket": {"maximum": bucket.maximum,
                                                     "restore_per_second": bucket.restore_rate},
                             "webhook_delivery": "sandbox emitter: no duplicates, delays or losses"},
                "worker_ready_seconds": round(ready, 1), "warm_up_order_seconds": round(first_order, 1), **figures}

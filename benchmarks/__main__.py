"""``python -m benchmarks`` (``make bench``): measure, print a table, write the figures and the machine's facts.

    .venv/bin/python -m benchmarks [--core-orders 10000] [--orders 300] [--only core,codec,e2e] [--out FILE]

A measurement, not a test: nothing here passes or fails on a figure. Run it on
a quiet machine to compare commits; the JSON carries the load average.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchmarks import codec, core, end_to_end
from benchmarks.report import machine_facts, number, table, write_json
from streams.core.engine import Policy

PARTS = ("core", "codec", "e2e")


def _rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if "core" in results:
        c = results["core"]["decisions"]
        rows += [("core", f"step() decisions/s ({c['orders']:,} orders, {c['inputs']:,} inputs)",
                  number(c["decisions_per_second"])),
                 ("core", "inputs/s with the row's JSON load and store",
                  number(c["inputs_per_second_with_load_store"]))]
        rows += [("core", f"step() µs per {kind}", number(us)) for kind, us in c["step_microseconds_by_kind"].items()]
        for name, size in results["core"]["state_bytes"].items():
            label = name.replace("_line_", "-line ").replace("_", " ")
            rows.append(("core", f"state of a {label}: stored (largest on the way)",
                         f"{size['stored_bytes']:,} B ({size['largest_bytes']:,} B)"))
    if "codec" in results:
        for name, figures in results["codec"].items():
            what = name.replace("_line_", "-line ").replace("_", " ")
            for figure, value in figures.items():
                if isinstance(value, dict):
                    rows.append(("codec", f"{what}: {figure.replace('_', ' ')}/s", number(value["per_second"])))
    if "e2e" in results:
        e = results["e2e"]
        latency = e["latency_to_peoplevox_seconds"]
        rows += [("e2e", f"burst of {e['orders']} orders: webhooks accepted/s",
                  number(e["webhooks_accepted_per_second"])),
                 ("e2e", "every sales order in Peoplevox after", number(e["all_in_peoplevox_seconds"], "s")),
                 ("e2e", "every system in sync (judge) after", number(e["all_systems_in_sync_seconds"], "s")),
                 ("e2e", "Shopify change → Peoplevox write p50 / p95 / p99",
                  " / ".join(number(latency[p], "s") for p in ("p50", "p95", "p99"))),
                 ("e2e", "worker peak RSS (VmHWM)", number(e["worker_peak_rss_mb"], "MB")),
                 ("e2e", "worker CPU during the burst", number(e["worker_cpu_seconds"], "s")),
                 ("e2e", "consumer lag peak (records)", number(e["consumer_lag_peak"])),
                 ("e2e", "judge: in sync / unexplained",
                  f"{e['judge'].get('in_sync')} / {e['judge'].get('unexplained')}")]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: core, codec, e2e")
    parser.add_argument("--core-orders", type=int, default=10_000, help="orders whose lives the core decides")
    parser.add_argument("--orders", type=int, default=300, help="orders in the end-to-end burst")
    parser.add_argument("--debounce-ms", type=int, default=Policy().debounce_ms,
                        help="EDITSYNC_DEBOUNCE_MS of the end-to-end worker (default: the service's default)")
    parser.add_argument("--partitions", type=int, default=8, help="EDITSYNC_TOPIC_PARTITIONS of the end-to-end worker")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="how long each codec figure is timed")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")

    machine = machine_facts()
    results: dict[str, Any] = {}
    if "core" in parts:
        print(f"core: deciding {args.core_orders:,} orders' lives …", flush=True)
        results["core"] = {"decisions": core.decisions(args.core_orders), "state_bytes": core.state_sizes()}
    if "codec" in parts:
        print("codec: Avro records and webhooks normalised …", flush=True)
        results["codec"] = codec.measure(args.min_seconds)
    if "e2e" in parts:
        print(f"e2e: a burst of {args.orders} orders through editsync run on the embedded broker …", flush=True)
        results["e2e"] = end_to_end.measure(args.orders, args.debounce_ms, args.partitions)
    machine["load_average_after"] = machine_facts()["load_average"]

    print()
    print(table(_rows(results)))
    print(f"\nmachine: {machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, "
          f"commit {machine['commit']}{' + changes' if machine['uncommitted_changes'] else ''}, "
          f"load average {machine['load_average'][0]} before, {machine['load_average_after'][0]} after")
    print(f"written to {write_json(args.out, machine, results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prometheus metrics of one editsync worker, in one registry per process.

Names follow Prometheus conventions (base units, ``_total`` counters).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from streams.supervision.lag import LagView
from streams.supervision.order_gauges import OrderGauges
from streams.supervision.progress import Progress


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.webhook_requests = Counter(
            "editsync_webhook_requests_total",
            "Shopify webhook requests by outcome: accepted, dead_lettered, forged, malformed, oversize, timeout, "
            "unavailable.",
            ["outcome"], registry=r,
        )
        self.webhook_ack_seconds = Histogram(
            "editsync_webhook_ack_seconds", "Time from request to broker acknowledgement of the raw envelope.",
            registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.events_normalised = Counter(
            "editsync_events_normalised_total", "Order events written to orders.events.v1, by event type.",
            ["event_type"], registry=r,
        )
        self.dead_letters = Counter(
            "editsync_dead_letters_total", "Records written to dlq.v1, by source and error type.",
            ["source", "error_type"], registry=r,
        )
        self.peoplevox_callbacks = Counter(
            "editsync_peoplevox_callbacks_total", "Peoplevox callbacks by outcome: accepted, forged, unavailable.",
            ["outcome"], registry=r,
        )
        for outcome in ("accepted", "forged", "unavailable"):
            self.peoplevox_callbacks.labels(outcome)  # exported as 0 from the start: a first refusal is an increase
        self.peoplevox_statuses = Counter(
            "editsync_peoplevox_statuses_total",
            "Accepted Peoplevox callbacks after the status agent re-read their sales order, by outcome: forwarded, "
            "not_owned, reread_failed, despatch_read_failed (forwarded without its despatches; callbacks it cannot use "
            "are dead letters).",
            ["outcome"], registry=r,
        )
        self.commands_issued = Counter(
            "editsync_commands_issued_total", "Commands the order-state agent issued, by target and kind.",
            ["target", "kind"], registry=r,
        )
        self.command_results = Counter(
            "editsync_command_results_total", "Commands finished by the sinks, by target, kind and outcome.",
            ["target", "kind", "outcome"], registry=r,
        )
        self.command_retries = Counter(
            "editsync_command_retries_total", "Transient failures sent to the retry topic, by target.",
            ["target"], registry=r,
        )
        self.command_seconds = Histogram(
            "editsync_command_seconds", "Time to execute one command against its system, by target.",
            ["target"], registry=r, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.exceptions = Counter(
            "editsync_exceptions_total",
            "Exception records written, by type, owner and state (OPEN, RETRYING, RESOLVED, IGNORED).",
            ["type", "owner", "state"], registry=r,
        )
        self.shopify_reads = Counter(
            "editsync_shopify_reads_total",
            "Admin API reads, by kind (fetch, resolve) and outcome (ok, missing, denied, failed, coalesced).",
            ["kind", "outcome"], registry=r,
        )
        self.shopify_sweeps = Counter(
            "editsync_shopify_sweeps_total",
            "Sweeps of Shopify's recently updated orders (on the leader), by outcome: ok, failed.",
            ["outcome"], registry=r,
        )
        self.shopify_sweep_seconds = Histogram(
            "editsync_shopify_sweep_seconds", "Time one sweep took, listing included, failed ones too.",
            registry=r, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.shopify_sweep_last_success = Gauge(
            "editsync_shopify_sweep_last_success_timestamp_seconds",
            "When this worker's last successful sweep started (0: none yet; only the leader sweeps).",
            registry=r,
        )
        self.shopify_sweep_interval = Gauge(
            "editsync_shopify_sweep_interval_seconds",
            "EDITSYNC_SHOPIFY_SWEEP_S as configured (0: the sweep is off), on every worker: an overdue sweep is "
            "judged against it, and a sweep turned off on purpose is not overdue.",
            registry=r,
        )
        self.shopify_sweep_orders = Counter(
            "editsync_shopify_sweep_orders_total",
            "Orders a sweep listed, as the order-state agent found them: current (editsync knew that version), "
            "behind (it did not, nor had a read coming: read now; an edit or order whose webhook never came, or "
            "has not come yet).",
            ["outcome"], registry=r,
        )
        self.decision_seconds = Histogram(
            "editsync_decision_seconds", "Time the order-state agent spends on one input.",
            registry=r, buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
        )
        self.agent_crashes = Counter(
            "editsync_agent_crashes_total",
            "Agent actors that stopped on an exception (a record the agent cannot handle is a dead letter instead).",
            ["agent"], registry=r,
        )
        self._mismatches: Mapping[str, set[str]] = {}
        self.orders_mismatched = Gauge(
            "editsync_orders_mismatched",
            "Orders this worker owns with an exception kept in their state (any state), by its type; the older view: "
            "editsync_orders_out_of_sync adds commands in flight, the system pair and the age.",
            ["reason"], registry=r,
        )
        self._add_operations_metrics(r)

    def _add_operations_metrics(self, r: CollectorRegistry) -> None:
        """Lag, progress, crashes, order health (out of sync, held, open exceptions, by age) and API use."""
        self.lag = LagView()
        self.progress = Progress()
        self.order_gauges = OrderGauges()
        for collector in (self.lag, self.progress, self.order_gauges):
            r.register(collector)
        self.partition_stalls = Counter(
            "editsync_partition_stalls_total",
            "Owned partitions found stalled (lag, committed offset not moving for EDITSYNC_PARTITION_STALL_S), by "
            "remedy: resume (resumed and fetched again from the committed offset), exit (the worker left for a "
            "fresh one).",
            ["topic", "partition", "remedy"], registry=r,
        )
        self.records_processed = Counter(
            "editsync_records_processed_total", "Records the agents finished processing, by topic.",
            ["topic"], registry=r,
        )
        self.edit_to_warehouse_seconds = Histogram(
            "editsync_edit_to_warehouse_seconds",
            "From the Shopify change a Peoplevox command carries (updatedAt) to Peoplevox acknowledging it, by kind.",
            ["kind"], registry=r, buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
        )
        self.api_requests = Counter(
            "editsync_api_requests_total",
            "HTTP requests to Shopify, Peoplevox and the ERP, by system and outcome "
            "(ok, throttled, auth_error, client_error, server_error, transport_error).",
            ["system", "outcome"], registry=r,
        )
        self.api_request_seconds = Histogram(
            "editsync_api_request_seconds", "Time of one HTTP request to a system.",
            ["system"], registry=r, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.api_throttle_wait_seconds = Counter(
            "editsync_api_throttle_wait_seconds_total",
            "Time spent waiting before calling a system, by source: rate_limit (editsync's own per-target "
            "limit) or upstream (what the API asked for: Retry-After, Shopify's cost bucket refill).",
            ["system", "source"], registry=r,
        )
        self.api_cost_points = Counter(
            "editsync_api_cost_points_total", "Query cost points charged by the system (Shopify's actualQueryCost).",
            ["system"], registry=r,
        )
        self.api_cost_available_points = Gauge(
            "editsync_api_cost_available_points", "Points left in the system's cost bucket at the last answer.",
            ["system"], registry=r,
        )

    def watch_mismatches(self, mismatched: Mapping[str, set[str]]) -> None:
        """Report the order-state agent's live view of mismatched orders at every scrape."""
        self._mismatches = mismatched

    def refresh(self) -> None:
        counts: dict[str, int] = {}
        for reasons in self._mismatches.values():
            for reason in reasons:
                counts[reason] = counts.get(reason, 0) + 1
        self.orders_mismatched.clear()
        for reason, count in counts.items():
            self.orders_mismatched.labels(reason).set(count)

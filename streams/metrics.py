"""Prometheus metrics of the ingress and normaliser, in one registry per process.

Names follow Prometheus conventions (base units, ``_total`` counters).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.webhook_requests = Counter(
            "editsync_webhook_requests_total",
            "Shopify webhook requests by outcome: accepted, dead_lettered, forged, malformed, oversize, unavailable.",
            ["outcome"], registry=self.registry,
        )
        self.webhook_ack_seconds = Histogram(
            "editsync_webhook_ack_seconds",
            "Time from request to broker acknowledgement of the raw envelope.",
            registry=self.registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.events_normalised = Counter(
            "editsync_events_normalised_total", "Order events written to orders.events.v1, by event type.",
            ["event_type"], registry=self.registry,
        )
        self.dead_letters = Counter(
            "editsync_dead_letters_total", "Records written to dlq.v1, by source and error type.",
            ["source", "error_type"], registry=self.registry,
        )

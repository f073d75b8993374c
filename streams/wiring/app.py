"""Builds the Faust app of one editsync worker from settings."""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.types import AgentT, TransportT

from connectors.downstream import Downstream
from connectors.errors import ConnectorError
from streams.agents import (
    normaliser,
    order_state,
    peoplevox_status,
    peoplevox_subscription,
    shopify_reads,
    shopify_sweep,
)
from streams.context import Context
from streams.core.engine import Policy
from streams.core.fulfillment import FulfillmentPolicy
from streams.core.model import Target
from streams.core.peoplevox import CutOff
from streams.core.release import ReleaseHold
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.ledger import KafkaLedger
from streams.kafka.transport import transport_with_fetch_wait
from streams.runtime.settings import Settings
from streams.sinks import agents as sinks
from streams.supervision.metrics import Metrics
from streams.supervision.progress import ProgressSensor
from streams.supervision.stall_guard import StallGuard, guard_partitions
from streams.supervision.watchdog import AgentWatchdog
from streams.web import views
from streams.web.server import EditsyncWeb
from streams.wiring import inbox, openapi

log = logging.getLogger(__name__)


class EditsyncApp(faust.App):
    """Faust's app with editsync's web server (streams/web/server.py), and every agent crash counted."""

    def __init__(self, *args: Any, web_read_timeout_s: float, fetch_max_wait_ms: int, metrics: Metrics,
                 **options: Any) -> None:
        self.web_read_timeout_s = web_read_timeout_s
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.metrics = metrics
        super().__init__(*args, **options)

    def _new_web(self) -> EditsyncWeb:
        return EditsyncWeb(self, self.web_read_timeout_s)

    def _new_transport(self) -> TransportT:
        return transport_with_fetch_wait(self.fetch_max_wait_ms)(self.conf.broker_consumer, self)

    async def _on_agent_error(self, agent: AgentT, exc: BaseException) -> None:
        # Faust calls this for every agent whose actor raised (Agent._execute_actor), before its
        # supervisor (streams/supervision/watchdog.py) gives up on the actor and stops the worker.
        # Records an agent cannot handle are dead letters, so this counts bugs and broker failures only.
        name = agent_name(agent)
        self.metrics.agent_crashes.labels(name).inc()
        log.error("agent %s crashed: %r", name, exc, exc_info=exc)
        await super()._on_agent_error(agent, exc)


def agent_name(agent: AgentT) -> str:
    return agent.name.rsplit(".", 1)[-1]


def decision_policy(settings: Settings, cutoff: CutOff) -> Policy:
    """The engine's rules as the operator set them."""
    return Policy(debounce_ms=settings.debounce_ms, cutoff=cutoff, hold_bound_ms=int(settings.hold_bound_s * 1000),
                  recreate=settings.recreate_markers, lock_tag=settings.edit_lock_tag.strip(),
                  payment_grace_ms=int(settings.payment_grace_s * 1000),
                  fulfillment=FulfillmentPolicy(enabled=settings.fulfil_despatches,
                                                notify_customer=settings.fulfillment_notify_customer),
                  fulfillment_orders=settings.shopify_fulfillment_orders,
                  release=ReleaseHold(hold_ms=int(settings.release_hold_s * 1000),
                                      bypass_tags=_words(settings.release_hold_bypass_tags),
                                      bypass_shipping=_words(settings.release_hold_bypass_shipping),
                                      bypass_b2b=settings.release_hold_bypass_b2b))


def _words(listed: str) -> frozenset[str]:
    """A comma-separated setting as the words it lists, case folded."""
    return frozenset(word.strip().casefold() for word in listed.split(",") if word.strip())


def create_app(settings: Settings, bootstrap: str, codec: AvroCodec, metrics: Metrics | None = None,
               downstream: Downstream | None = None, watchdog: AgentWatchdog | None = None,
               stalls: StallGuard | None = None) -> faust.App:
    metrics = metrics or Metrics()
    watchdog = watchdog or AgentWatchdog(settings.agent_crash_exit_s)
    stalls = stalls or StallGuard(settings.partition_stall_s, settings.lag_interval_s)
    app = EditsyncApp(
        settings.app_id,
        web_read_timeout_s=settings.web_read_timeout_s,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        metrics=metrics,
        broker=[f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip()],
        store="rocksdb://",
        datadir=str(settings.data_dir),
        autodiscover=False,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=max(0.1, settings.kafka_session_timeout_s / 10),
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_request_size=settings.kafka_max_message_bytes,
        agent_supervisor=watchdog.supervisor(),
        # Faust compares a table's persisted offset with a ListOffsets(latest) answer at every rebalance; the
        # embedded Tansu broker answers that wrongly (supervision/lag.py), so a worker crashed with ConsistencyError
        # when a second one joined. streams/supervision/local_state.py makes the same check from a Fetch
        # response before the worker starts, and discards and heals what is stale instead of crashing.
        recovery_consistency_check=False,
    )
    ctx = Context.build(app, settings, bootstrap, codec, metrics, watchdog, stalls)
    downstream = downstream or Downstream.from_settings(settings, metrics)
    policy = decision_policy(settings, downstream.cutoff)

    async def load_item_codes() -> None:
        known = downstream.item_codes
        try:
            await downstream.refresh_item_codes()
        except ConnectorError as error:
            log.warning("Peoplevox item types not loaded (%s); keeping %d known codes", error.reason,
                        len(downstream.item_codes))
            return
        await heals.system_answering(Target.PEOPLEVOX)  # it answered: what it missed while down may go
        if downstream.item_codes - known:
            # Someone added items to Peoplevox: orders held for them need no one to press retry.
            held = await heals.recheck_held()
            if held:
                log.info("%d held orders re-checked after new Peoplevox item codes", held)

    async def probe_systems() -> None:
        # Peoplevox is asked anyway, for its item codes (load_item_codes).
        for target, ping in ((Target.ERP, downstream.erp.ping), (Target.INVENTORY, downstream.shopify.ping)):
            await order_state.probe(heals, target, ping)

    normaliser.register(ctx)
    heals = order_state.register(ctx, downstream.reference, policy, load_item_codes)
    shopify_reads.register(ctx, downstream)
    shopify_sweep.register(ctx, downstream.shopify)
    peoplevox_status.register(ctx, downstream)
    sinks.register(ctx, downstream)
    views.register(ctx)
    inbox.register(ctx)
    views.serve_document(app, openapi.PATH, openapi.document())
    for agent in app.agents.values():
        metrics.agent_crashes.labels(agent_name(agent))  # exported as 0 from the start: a first crash is an increase
    watch_progress(app, metrics)
    guard_partitions(app, metrics, watchdog, stalls)
    if settings.fault_injection:
        log.warning("EDITSYNC_FAULT_INJECTION is set: PUT /_faults can crash agents and pause partitions (tests only)")
        app.sensors.add(ctx.faults)

    app.timer(settings.item_codes_refresh_s)(load_item_codes)
    app.timer(settings.system_probe_s)(probe_systems)

    @app.task
    async def connect_peoplevox() -> None:
        await load_item_codes()

    if downstream.peoplevox_events is not None:
        peoplevox_subscription.register(ctx, downstream.peoplevox_events,
                                        KafkaLedger(bootstrap, topics.PEOPLEVOX_SUBSCRIPTION))

    return app


def consumed_topics(app: faust.App) -> frozenset[str]:
    """Every topic an agent of this app reads: what lag and progress are about."""
    return frozenset(topic for agent in app.agents.values() for topic in agent.channel.topics)


def watch_progress(app: faust.App, metrics: Metrics) -> None:
    progress = metrics.progress
    progress.watch_topics(consumed_topics(app))
    metrics.lag.export_only(progress.owned)
    app.sensors.add(ProgressSensor(progress, lambda topic: metrics.records_processed.labels(topic).inc()))

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # faust types receivers as (sender, *args, signal=...)
    async def assigned(sender: Any, assigned: set, **_: Any) -> None:
        progress.assigned((tp.topic, tp.partition) for tp in assigned)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # faust types receivers as (sender, *args, signal=...)
    async def revoked(sender: Any, revoked: set, **_: Any) -> None:
        progress.revoked((tp.topic, tp.partition) for tp in revoked)


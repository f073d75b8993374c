"""``editsync run``: broker and sandboxes (embedded unless configured), topics, then the worker.

The worker runs in the foreground and owns SIGINT/SIGTERM; when it returns,
however it returns, the embedded broker and sandboxes are stopped too.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from contextlib import ExitStack
from pathlib import Path
from signal import Signals
from typing import Any

import faust
from confluent_kafka import Producer
from pydantic import SecretStr

from streams.core.inputs import Rebuild, encode
from streams.kafka.admin import ensure_topics
from streams.kafka.avro_codec import codec_from_settings
from streams.kafka.broker import EmbeddedBroker, wait_until_ready
from streams.kafka.topics import ORDER_INPUTS
from streams.runtime import logs
from streams.runtime.settings import Settings
from streams.supervision.lag import LagMonitor
from streams.supervision.local_state import discard_stale_stores
from streams.supervision.metrics import Metrics
from streams.supervision.stall_guard import EXIT_PARTITION_STALLED, StallGuard
from streams.supervision.watchdog import EXIT_AGENT_CRASHED, AgentWatchdog
from streams.wiring.app import consumed_topics, create_app
from streams.wiring.claim import DataDirClaim, require_free_port
from streams.wiring.shutdown import StopDeadline, StopRequested

log = logging.getLogger(__name__)


def start_sandboxes(settings: Settings, stack: ExitStack) -> Settings:
    """Start the Shopify, Peoplevox and ERP sandboxes and point the settings at them."""
    from sandboxes.stack import ERP_ADJUSTMENT_ITEM, SandboxStack, sandbox_reference

    base = f"http://{settings.web_host}:{settings.web_port}"
    sandboxes = stack.enter_context(SandboxStack(f"{base}/webhooks/shopify", settings.require_webhook_secret()))
    credentials = sandboxes.credentials
    reference_file = settings.data_dir / "sandbox-reference.json"
    reference_file.write_text(json.dumps(sandbox_reference(sandboxes), indent=2))
    erp_key = settings.data_dir / "netsuite-sandbox-certificate.pem"
    erp_key.touch(mode=0o600)
    erp_key.write_bytes(credentials.erp_private_key_pem)
    (settings.data_dir / "sandboxes.json").write_text(json.dumps(
        {"shopify": sandboxes.shopify_url, "peoplevox": sandboxes.peoplevox_url, "erp": sandboxes.erp_url}))
    print(f"editsync: sandboxes: Shopify {sandboxes.shopify_url}, Peoplevox {sandboxes.peoplevox_url}, "
          f"ERP {sandboxes.erp_url}", flush=True)
    return settings.model_copy(update={
        "shopify_admin_url": sandboxes.shopify_url, "shopify_access_token": SecretStr(credentials.shopify_token),
        "peoplevox_url": sandboxes.peoplevox_url, "peoplevox_client_id": credentials.peoplevox_client_id,
        "peoplevox_username": credentials.peoplevox_username,
        "peoplevox_password": SecretStr(credentials.peoplevox_password),
        "erp_url": sandboxes.erp_url, "erp_client_id": credentials.erp_client_id,
        "erp_certificate_id": credentials.erp_certificate_id, "erp_private_key_file": erp_key,
        "erp_default_customer_id": sandboxes.erp_default_customer_id, "erp_adjustment_item": ERP_ADJUSTMENT_ITEM,
        "reference_file": settings.reference_file or reference_file})


def reconcile_local_state(app: faust.App, bootstrap: str) -> None:
    """Discard table stores the broker's changelogs no longer back, and ask for their orders to be rebuilt."""
    for table in app.tables.values():
        order_ids = discard_stale_stores(bootstrap, Path(app.conf.tabledir), table.name, table.changelog_topic_name)
        if order_ids:
            publish_rebuilds(bootstrap, order_ids)


def publish_rebuilds(bootstrap: str, order_ids: list[str]) -> None:
    # Keyed records must land where Faust's own producer (aiokafka: murmur2, as Java's) puts the order's other
    # inputs: librdkafka's default (CRC32) sent most rebuilds to another partition, whose table row is another
    # order state, so the order's own state never learned it was rebuilt.
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "log_level": 3,
                         "partitioner": "murmur2_random"})
    for order_id in order_ids:
        producer.produce(ORDER_INPUTS, key=order_id.encode(), value=encode(Rebuild()))
        producer.poll(0)
    if producer.flush(30.0):
        raise RuntimeError(f"rebuild requests for {len(order_ids)} orders not acknowledged by the broker")


class Worker(faust.Worker):
    """Faust's worker, with the stop signal also arming the stop deadline."""

    def __init__(self, *args: Any, deadline: StopDeadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # mode's setup_logging has just replaced every root handler: redact on the new ones too.
        super().on_setup_root_logger(logger, level)
        logs.install()

    def _schedule_shutdown(self, signal: Signals) -> None:
        self.deadline.start()
        super()._schedule_shutdown(signal)


def run(settings: Settings, deadline: StopDeadline | None = None) -> None:
    deadline = deadline or StopDeadline()
    deadline.install_early_handlers()
    settings.require_webhook_secret()  # fail before starting anything
    settings.require_downstream()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The API token is shown once, when it is made; afterwards only where it is kept.
    token_made_now = settings.api_token is None and not settings.api_token_file.exists()
    logs.configure(settings.log_level, settings.secret_values())
    try:
        _run(settings, deadline, token_made_now)
    except StopRequested as stop:
        log.info("stopped by %s during start-up", stop)
    except SystemError as error:
        # The signal handler's StopRequested raised inside C code (prometheus-client building its metrics, seen
        # in CI) comes out as a SystemError caused by it: a stop all the same.
        if not isinstance(error.__cause__, StopRequested):
            raise
        log.info("stopped by %s during start-up", error.__cause__)


def _run(settings: Settings, deadline: StopDeadline, token_made_now: bool) -> None:
    with ExitStack() as stack:
        stack.enter_context(DataDirClaim(settings.data_dir))
        require_free_port(settings.web_host, settings.web_port)
        if settings.kafka_bootstrap:
            bootstrap = settings.kafka_bootstrap
            wait_until_ready(bootstrap, timeout_s=60.0)
        else:
            broker = stack.enter_context(EmbeddedBroker(log_path=settings.data_dir / "tansu.log"))
            deadline.on_expiry = broker.stop
            bootstrap = broker.bootstrap
            settings.embedded_bootstrap_file.write_text(bootstrap)
            stack.callback(settings.embedded_bootstrap_file.unlink, missing_ok=True)
            print(f"editsync: embedded Kafka (Tansu) at {bootstrap}", flush=True)
        if settings.uses_sandboxes:
            settings = start_sandboxes(settings, stack)
            logs.REDACTOR.protect(settings.secret_values())
        ensure_topics(bootstrap, settings.topic_partitions, settings.topic_replication_factor,
                      settings.kafka_max_message_bytes)
        metrics = Metrics()

        def stop_with(code: int) -> None:
            deadline.exit_code = code  # also when the stop outlasts its grace
            os.kill(os.getpid(), signal.SIGTERM)

        agents = AgentWatchdog(settings.agent_crash_exit_s, stop=lambda: stop_with(EXIT_AGENT_CRASHED))
        stalls = StallGuard(settings.partition_stall_s, settings.lag_interval_s,
                            stop=lambda: stop_with(EXIT_PARTITION_STALLED))
        app = create_app(settings, bootstrap, codec_from_settings(settings.schema_registry_url), metrics,
                         watchdog=agents, stalls=stalls)
        reconcile_local_state(app, bootstrap)
        monitor = LagMonitor(bootstrap, settings.app_id, lambda: consumed_topics(app), metrics.lag,
                             settings.lag_interval_s).start()
        stack.callback(monitor.stop)
        print(f"editsync: web server on http://{settings.web_host}:{settings.web_port} "
              f"(POST /webhooks/shopify, /webhooks/peoplevox; GET /healthz /readyz /metrics; "
              f"exceptions API /exceptions /orders; inbox /inbox)", flush=True)
        if token_made_now:
            print(f"editsync: API and inbox token, made for this data dir and shown only now (kept in "
                  f"{settings.api_token_file}): {settings.api_token_value()}", flush=True)
        elif settings.api_token is None:
            print(f"editsync: API and inbox token: in {settings.api_token_file}", flush=True)
        worker = Worker(app, loglevel=settings.log_level, quiet=True, deadline=deadline)
        try:
            worker.execute_from_commandline()
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise
        if deadline.exit_code:
            raise SystemExit(deadline.exit_code)

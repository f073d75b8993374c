"""``editsync run``: broker (embedded unless configured), topics, then the worker.

The worker runs in the foreground and owns SIGINT/SIGTERM; when it returns,
however it returns, the embedded broker is stopped too.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack

import faust

from streams.admin import ensure_topics
from streams.app import create_app
from streams.avro_codec import codec_from_settings
from streams.broker import EmbeddedBroker, wait_until_ready
from streams.config import Settings

log = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    settings.require_webhook_secret()  # fail before starting anything
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if settings.kafka_bootstrap:
            bootstrap = settings.kafka_bootstrap
            wait_until_ready(bootstrap, timeout_s=60.0)
        else:
            broker = stack.enter_context(EmbeddedBroker(log_path=settings.data_dir / "tansu.log"))
            bootstrap = broker.bootstrap
            settings.embedded_bootstrap_file.write_text(bootstrap)
            stack.callback(settings.embedded_bootstrap_file.unlink, missing_ok=True)
            print(f"editsync: embedded Kafka (Tansu) at {bootstrap}", flush=True)
        ensure_topics(bootstrap, settings.topic_partitions, settings.topic_replication_factor)
        app = create_app(settings, bootstrap, codec_from_settings(settings.schema_registry_url))
        print(f"editsync: web server on http://{settings.web_host}:{settings.web_port} "
              f"(POST /webhooks/shopify, GET /healthz /readyz /metrics)", flush=True)
        worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
        try:
            worker.execute_from_commandline()
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise

"""Builds the Faust app of one editsync worker from settings."""

from __future__ import annotations

import faust

from streams import web
from streams.agents import normaliser
from streams.avro_codec import AvroCodec
from streams.config import Settings
from streams.context import Context
from streams.metrics import Metrics


def create_app(settings: Settings, bootstrap: str, codec: AvroCodec, metrics: Metrics | None = None) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip()],
        store="memory://",
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
    )
    ctx = Context.build(app, settings, bootstrap, codec, metrics or Metrics())
    normaliser.register(ctx)
    web.register(ctx)
    return app

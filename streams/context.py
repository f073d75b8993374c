"""What the agents and views of one worker share: settings, codec, metrics, topics."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import faust

from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.dead_letters import dead_letter
from streams.runtime.settings import Settings
from streams.supervision.metrics import Metrics
from streams.supervision.stall_guard import StallGuard
from streams.supervision.watchdog import AgentWatchdog, FaultSensor

log = logging.getLogger(__name__)


@dataclass
class Context:
    app: faust.App
    settings: Settings
    bootstrap: str
    codec: AvroCodec
    webhook_secret: bytes
    metrics: Metrics
    watchdog: AgentWatchdog
    stalls: StallGuard
    topics: dict[str, faust.TopicT] = field(default_factory=dict)
    peoplevox_callback_token: str = ""
    faults: FaultSensor = field(default_factory=FaultSensor)  # used only with EDITSYNC_FAULT_INJECTION

    def topic(self, name: str) -> faust.TopicT:
        return self.topics[name]

    async def dead_letter(self, message: Any, error_type: str, reason: str, payload: bytes | None = None,
                          context: dict[str, str | None] | None = None) -> None:
        """Park a record that cannot be processed on dlq.v1, with why, and count it."""
        letter = dead_letter(source=message.topic, payload=(message.value or b"") if payload is None else payload,
                             reason=reason, error_type=error_type, key=message.key,
                             partition=message.partition, offset=message.offset, context=context)
        await self.topic(topics.DEAD_LETTERS).send(key=message.key,
                                                   value=self.codec.encode(topics.DEAD_LETTERS, letter))
        self.metrics.dead_letters.labels(message.topic, error_type).inc()
        log.warning("dead-lettered %s[%s]@%s: %s (%s)", message.topic, message.partition, message.offset,
                    error_type, letter["reason"])

    @classmethod
    def build(cls, app: faust.App, settings: Settings, bootstrap: str, codec: AvroCodec,
              metrics: Metrics, watchdog: AgentWatchdog, stalls: StallGuard) -> Context:
        # Values are Avro framed by our codec and keys are order ids: Faust moves bytes only.
        declared = {
            spec.name: app.topic(spec.name, key_type=bytes, value_type=bytes,
                                 key_serializer="raw", value_serializer="raw")
            for spec in topics.TOPICS
        } | {
            name: app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
            for name in topics.INTERNAL
        }
        return cls(app, settings, bootstrap, codec, settings.require_webhook_secret(), metrics, watchdog, stalls,
                   declared, settings.callback_token())

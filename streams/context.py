"""What the agents and views of one worker share: settings, codec, metrics, topics."""

from __future__ import annotations

from dataclasses import dataclass, field

import faust

from streams import topics
from streams.avro_codec import AvroCodec
from streams.config import Settings
from streams.metrics import Metrics


@dataclass
class Context:
    app: faust.App
    settings: Settings
    bootstrap: str
    codec: AvroCodec
    webhook_secret: bytes
    metrics: Metrics
    topics: dict[str, faust.TopicT] = field(default_factory=dict)

    def topic(self, name: str) -> faust.TopicT:
        return self.topics[name]

    @classmethod
    def build(cls, app: faust.App, settings: Settings, bootstrap: str, codec: AvroCodec,
              metrics: Metrics) -> "Context":
        # Values are Avro framed by our codec and keys are order ids: Faust moves bytes only.
        declared = {
            spec.name: app.topic(spec.name, key_type=bytes, value_type=bytes,
                                 key_serializer="raw", value_serializer="raw")
            for spec in topics.TOPICS
        }
        return cls(app, settings, bootstrap, codec, settings.require_webhook_secret(), metrics, declared)

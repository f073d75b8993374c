"""The pipeline with EDITSYNC_SCHEMA_REGISTRY_URL: Confluent wire format end to end."""

from __future__ import annotations

import json
import struct

import httpx
import pytest

from sandboxes.testkit.kafka_reader import read_topic
from sandboxes.testkit.service import SECRET, Service, service_env
from sandboxes.testkit.support import payload, webhook_headers
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec, ConfluentRegistry
from streams.kafka.broker import EmbeddedBroker
from tests.registry_double import RegistryDouble


@pytest.fixture(scope="module")
def registry():
    with RegistryDouble() as running:
        yield running


@pytest.fixture
def broker():
    """A broker of its own: this worker must not re-read other tests' single-object records."""
    with EmbeddedBroker() as running:
        yield running


def test_events_are_written_in_confluent_wire_format(broker, registry, tmp_path):
    service = Service(service_env(tmp_path, EDITSYNC_KAFKA_BOOTSTRAP=broker.bootstrap,
                                  EDITSYNC_SCHEMA_REGISTRY_URL=registry.url), tmp_path / "editsync.log")
    try:
        service.wait_ready()
        order_id = "7000000000001"
        body = json.dumps(payload("orders_create", id=int(order_id))).encode()
        response = httpx.post(f"{service.url}/webhooks/shopify", content=body,
                              headers=webhook_headers("orders/create", body, SECRET.encode()))
        assert response.status_code == 200
        messages = read_topic(broker.bootstrap, topics.ORDERS_EVENTS,
                              until=lambda ms: any(m.key() == order_id.encode() for m in ms))
        (value,) = [m.value() for m in messages if m.key() == order_id.encode()]
        assert value[0] == 0
        (schema_id,) = struct.unpack(">I", value[1:5])
        assert schema_id in registry.subjects[f"{topics.ORDERS_EVENTS}-value"]
        event = AvroCodec(ConfluentRegistry(registry.url)).decode(topics.ORDERS_EVENTS, value)
        assert event["order"]["id"] == order_id
    finally:
        service.stop()

import json
import shutil
import struct

import pytest

from streams.kafka import topics
from streams.kafka.avro_codec import SCHEMA_DIR, AvroCodec, ConfluentRegistry, DecodeError, load_schemas
from tests.registry_double import RegistryDouble

EMPTY = 0xC15D213AA4D7A795


def rabin_fingerprint64(data: bytes) -> int:
    """CRC-64-AVRO exactly as the Avro specification's pseudo-code gives it."""
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
        table.append(fp)
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
PCF_KEYS = ("name", "type", "fields", "symbols", "items", "values", "size")


def parsing_canonical_form(schema, namespace=None) -> str:
    """The Avro spec's Parsing Canonical Form rules, written out for this test.

    (Apache Avro's Python ``canonical_form`` keeps ``{"type":"long"}`` for a
    logical long, against rule [PRIMITIVES]; Java and fastavro collapse it.)
    """
    def full(name, ns):
        return name if "." in name or not ns else f"{ns}.{name}"

    def walk(node, ns):
        if isinstance(node, str):
            return node if node in PRIMITIVES else full(node, ns)
        if isinstance(node, list):
            return [walk(branch, ns) for branch in node]
        if node["type"] in PRIMITIVES:
            return node["type"]
        out = {}
        if "name" in node:
            out["name"] = full(node["name"], node.get("namespace", ns))
            ns = out["name"].rpartition(".")[0]
        out["type"] = node["type"]
        if "fields" in node:
            out["fields"] = [{"name": f["name"], "type": walk(f["type"], ns)} for f in node["fields"]]
        for key in ("symbols", "size"):
            if key in node:
                out[key] = node[key]
        for key in ("items", "values"):
            if key in node:
                out[key] = walk(node[key], ns)
        return {key: out[key] for key in PCF_KEYS if key in out}

    return json.dumps(walk(schema, namespace), separators=(",", ":"))


SAMPLES = {
    topics.SHOPIFY_WEBHOOKS_RAW: {"body": b'{"id": 1}', "topic": "orders/create", "shop_domain": "s.myshopify.com",
                                  "received_at": 1_700_000_000_000, "order_id": "1"},
    topics.PEOPLEVOX_EVENTS_RAW: {"event_type": "SalesOrderStatusChanges", "sales_order_number": "1001",
                                  "params": {"status": "Picking"}, "received_at": 1_700_000_000_000},
    topics.DEAD_LETTERS: {"source": "x", "payload": b"\x00", "reason": "r", "error_type": "e",
                          "failed_at": 1_700_000_000_000},
    topics.ORDERS_EVENTS: {"event_id": "e1", "event_type": "ORDER_EDITED", "webhook_topic": "orders/edited",
                           "shop_domain": "s.myshopify.com", "received_at": 1_700_000_000_000, "order_id": "1",
                           "payload_complete": False},
    topics.COMMANDS_RESULTS: {"command_id": "c1", "order_id": "1", "order_version": 5, "target": "ERP",
                              "kind": "upsert_erp_sales_order", "outcome": "APPLIED",
                              "completed_at": 1_700_000_000_000},
    topics.EXCEPTIONS: {"exception_id": "x1", "order_id": "1", "type": "UNKNOWN_SKU", "owner": "OPS",
                        "severity": "HIGH", "state": "OPEN", "first_seen": 1_700_000_000_000,
                        "last_seen": 1_700_000_000_000, "summary": "SKU X is not in Peoplevox"},
    **{name: {"command_id": "c1", "order_id": "1", "order_version": 5, "target": "PEOPLEVOX",
              "kind": "upsert_sales_order", "idempotency_key": "k", "payload_json": "{}",
              "issued_at": 1_700_000_000_000}
       for name in (topics.COMMANDS_PEOPLEVOX, topics.COMMANDS_INVENTORY, topics.COMMANDS_ERP, topics.COMMANDS_SHOPIFY,
                    topics.COMMANDS_RETRY)},
}


def test_rabin_reference_value_from_the_spec_is_reproduced():
    assert rabin_fingerprint64(b'"null"') == 0x63DD24E7CC258F8A


@pytest.mark.parametrize("topic", sorted(SAMPLES))
def test_single_object_header_is_c301_and_the_little_endian_fingerprint(topic):
    codec = AvroCodec()
    current, _ = load_schemas()
    canonical = parsing_canonical_form(json.loads(current[topics.BY_NAME[topic].schema].source))
    expected = b"\xc3\x01" + struct.pack("<Q", rabin_fingerprint64(canonical.encode()))
    assert codec.encode(topic, SAMPLES[topic])[:10] == expected


@pytest.mark.parametrize("topic", sorted(SAMPLES))
def test_round_trip(topic):
    codec = AvroCodec()
    decoded = codec.decode(topic, codec.encode(topic, SAMPLES[topic]))
    for field, value in SAMPLES[topic].items():
        if not field.endswith(("_at", "_seen")):
            assert decoded[field] == value


def test_every_topic_has_a_current_schema_and_a_sample_here():
    current, _ = load_schemas()
    assert {spec.schema for spec in topics.TOPICS} <= set(current)
    assert set(SAMPLES) == {spec.name for spec in topics.TOPICS}


@pytest.mark.parametrize("data", [b"", b"{}", b"\xc3\x01\x00\x00", b"\xc3\x01" + b"\x11" * 8 + b"\x02"])
def test_foreign_bytes_raise_decode_error(data):
    with pytest.raises(DecodeError):
        AvroCodec().decode(topics.DEAD_LETTERS, data)


def test_truncated_body_raises_decode_error():
    codec = AvroCodec()
    data = codec.encode(topics.DEAD_LETTERS, SAMPLES[topics.DEAD_LETTERS])
    with pytest.raises(DecodeError):
        codec.decode(topics.DEAD_LETTERS, data[:14])


def test_confluent_framed_record_without_registry_is_a_clear_error():
    with pytest.raises(DecodeError, match="SCHEMA_REGISTRY_URL"):
        AvroCodec().decode(topics.DEAD_LETTERS, b"\x00\x00\x00\x00\x07\x02")


def test_records_written_with_a_released_schema_still_decode(tmp_path):
    """A new optional field: the released writer's records decode with the default filled in."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schemas)
    current = json.loads((schemas / "dead_letter.avsc").read_text())
    current["fields"].append({"name": "retry_count", "type": "int", "default": 0})
    (schemas / "dead_letter.avsc").write_text(json.dumps(current))
    old_bytes = AvroCodec(schema_dir=SCHEMA_DIR).encode(topics.DEAD_LETTERS, SAMPLES[topics.DEAD_LETTERS])
    decoded = AvroCodec(schema_dir=schemas).decode(topics.DEAD_LETTERS, old_bytes)
    assert decoded["retry_count"] == 0 and decoded["reason"] == "r"


def test_confluent_wire_format_through_the_registry_client():
    with RegistryDouble() as registry:
        writer = AvroCodec(ConfluentRegistry(registry.url))
        data = writer.encode(topics.DEAD_LETTERS, SAMPLES[topics.DEAD_LETTERS])
        assert data[0] == 0
        (schema_id,) = struct.unpack(">I", data[1:5])
        assert schema_id in registry.subjects[f"{topics.DEAD_LETTERS}-value"]
        # A fresh reader learns the writer schema from the registry by id ...
        reader = AvroCodec(ConfluentRegistry(registry.url))
        assert reader.decode(topics.DEAD_LETTERS, data)["payload"] == b"\x00"
        # ... and single-object records keep decoding after a switch to the registry.
        single = AvroCodec().encode(topics.DEAD_LETTERS, SAMPLES[topics.DEAD_LETTERS])
        assert reader.decode(topics.DEAD_LETTERS, single)["reason"] == "r"
        with pytest.raises(DecodeError, match="schema id 999"):
            reader.decode(topics.DEAD_LETTERS, b"\x00" + struct.pack(">I", 999) + b"\x02")

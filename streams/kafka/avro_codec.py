"""Avro encoding of topic values, in one of two framings.

* Without a schema registry: Avro single-object encoding (Avro 1.12 spec,
  "Single-object encoding"): ``C3 01``, the 8-byte little-endian CRC-64-AVRO
  fingerprint of the writer schema's Parsing Canonical Form, then the body.
* With ``EDITSYNC_SCHEMA_REGISTRY_URL``: Confluent wire format: ``00``, the
  4-byte big-endian schema id, then the body. Schemas are registered through
  ``confluent_kafka.schema_registry`` under the TopicNameStrategy subject
  ``<topic>-value``.

The decoder accepts both, whichever the codec writes, and resolves the
writer schema against the current reader schema, so records written by a
released earlier version of a schema (``schemas/released``) still decode.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from streams.kafka import topics

# streams/schemas links to the repository's schemas/, so the wheel (and the image) carries them as package data.
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"


class DecodeError(ValueError):
    """Bytes that are not a record this codec can read; the message says why."""


@dataclass(frozen=True)
class LoadedSchema:
    full_name: str
    source: str  # the .avsc text, as other services will see it
    parsed: Any  # fastavro's parsed form
    fingerprint: bytes  # CRC-64-AVRO, little-endian, as single-object encoding frames it


def load_schema(path: Path) -> LoadedSchema:
    source = path.read_text()
    raw = json.loads(source)
    parsed = fastavro.parse_schema(raw)
    canonical = to_parsing_canonical_form(raw)
    # fastavro renders the fingerprint as hex of the little-endian bytes.
    fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    full_name = raw["name"] if "." in raw["name"] else f'{raw["namespace"]}.{raw["name"]}'
    return LoadedSchema(full_name, source, parsed, fp)


def load_schemas(directory: Path = SCHEMA_DIR) -> tuple[dict[str, LoadedSchema], dict[bytes, LoadedSchema]]:
    """Current schemas by full name, and every known writer schema by fingerprint."""
    current = {s.full_name: s for s in map(load_schema, sorted(directory.glob("*.avsc")))}
    writers = {s.fingerprint: s for s in current.values()}
    for path in sorted((directory / "released").glob("*.avsc")):
        released = load_schema(path)
        writers.setdefault(released.fingerprint, released)
    return current, writers


class SchemaRegistry(Protocol):
    """What the codec needs of a schema registry (confluent_kafka's client fits)."""

    def register(self, subject: str, schema_source: str) -> int: ...

    def lookup(self, schema_id: int) -> str: ...


class AvroCodec:
    """Encodes and decodes the value of every editsync topic."""

    def __init__(self, registry: SchemaRegistry | None = None, schema_dir: Path = SCHEMA_DIR) -> None:
        self._current, self._writers = load_schemas(schema_dir)
        self._registry = registry
        self._reader_by_topic = {spec.name: self._current[spec.schema] for spec in topics.TOPICS}
        self._prefix_by_topic: dict[str, bytes] = {}
        self._writer_by_id: dict[int, Any] = {}
        for topic, schema in self._reader_by_topic.items():
            if registry is None:
                self._prefix_by_topic[topic] = SINGLE_OBJECT_MAGIC + schema.fingerprint
            else:
                schema_id = registry.register(f"{topic}-value", schema.source)
                self._prefix_by_topic[topic] = CONFLUENT_MAGIC + struct.pack(">I", schema_id)
                self._writer_by_id[schema_id] = schema.parsed

    def encode(self, topic: str, record: dict[str, Any]) -> bytes:
        buffer = io.BytesIO()
        buffer.write(self._prefix_by_topic[topic])
        fastavro.schemaless_writer(buffer, self._reader_by_topic[topic].parsed, record)
        return buffer.getvalue()

    def decode(self, topic: str, data: bytes) -> dict[str, Any]:
        reader = self._reader_by_topic[topic].parsed
        writer, body_start = self._writer_schema(data)
        try:
            return cast(dict[str, Any], fastavro.schemaless_reader(io.BytesIO(data[body_start:]), writer, reader))
        except Exception as exc:  # fastavro raises many types for corrupt bodies
            raise DecodeError(f"Avro body does not match its writer schema: {exc!r}") from exc

    def _writer_schema(self, data: bytes) -> tuple[Any, int]:
        if data[:2] == SINGLE_OBJECT_MAGIC and len(data) >= 10:
            known = self._writers.get(data[2:10])
            if known is None:
                raise DecodeError(f"unknown schema fingerprint {data[2:10].hex()} (single-object encoding)")
            return known.parsed, 10
        if data[:1] == CONFLUENT_MAGIC and len(data) >= 5:
            (schema_id,) = struct.unpack(">I", data[1:5])
            return self._writer_for_id(schema_id), 5
        raise DecodeError("not Avro single-object encoding (C3 01) nor Confluent wire format (00)")

    def _writer_for_id(self, schema_id: int) -> Any:
        if schema_id not in self._writer_by_id:
            if self._registry is None:
                raise DecodeError(
                    f"Confluent-framed record (schema id {schema_id}) but EDITSYNC_SCHEMA_REGISTRY_URL is not set"
                )
            try:
                source = self._registry.lookup(schema_id)
            except Exception as exc:
                raise DecodeError(f"schema id {schema_id} could not be read from the registry: {exc}") from exc
            self._writer_by_id[schema_id] = fastavro.parse_schema(json.loads(source), _write_hint=False)
        return self._writer_by_id[schema_id]


class ConfluentRegistry:
    """Adapter from confluent_kafka's Schema Registry client to ``SchemaRegistry``."""

    def __init__(self, url: str) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        self._client = SchemaRegistryClient({"url": url})

    def register(self, subject: str, schema_source: str) -> int:
        from confluent_kafka.schema_registry import Schema

        return self._client.register_schema(subject, Schema(schema_source, "AVRO"))

    def lookup(self, schema_id: int) -> str:
        source = self._client.get_schema(schema_id).schema_str
        if source is None:
            raise DecodeError(f"the schema registry has no text for schema id {schema_id}")
        return source


def codec_from_settings(schema_registry_url: str | None) -> AvroCodec:
    return AvroCodec(ConfluentRegistry(schema_registry_url) if schema_registry_url else None)

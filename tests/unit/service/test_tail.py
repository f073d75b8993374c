"""`editsync tail` prints any editsync topic: Avro where a schema is the contract, JSON on the internal ones."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from streams.kafka import tail as tail_module
from streams.kafka.avro_codec import AvroCodec


@dataclass
class Message:
    payload: bytes | None
    offset_: int = 0

    def key(self) -> bytes:
        return b"5000000042"

    def value(self) -> bytes | None:
        return self.payload

    def partition(self) -> int:
        return 3

    def offset(self) -> int:
        return self.offset_


@contextmanager
def records(monkeypatch: pytest.MonkeyPatch, *messages: Message):
    def read_records(bootstrap, topic, *, from_beginning, idle_timeout_s):
        yield from messages

    monkeypatch.setattr(tail_module, "read_records", read_records)
    yield


def printed(topic: str) -> list[dict]:
    out = io.StringIO()
    tail_module.tail("broker:9092", topic, AvroCodec(), True, None, 1.0, out=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_internal_topics_print_their_json_values(monkeypatch):
    with records(monkeypatch, Message(b'{"kind": "tick"}'), Message(None, 1), Message(b"\xff\x00", 2)):
        lines = printed("editsync.order-inputs")
    assert [line["value"] for line in lines] == [{"kind": "tick"}, None, {"base64": "/wA="}]
    assert lines[0]["key"] == "5000000042" and lines[0]["partition"] == 3


def test_contract_topics_print_avro_decoded_and_say_what_they_cannot_decode(monkeypatch):
    codec = AvroCodec()
    letter = {"source": "http:/webhooks/shopify", "partition": None, "offset": None, "key": None, "payload": b"{",
              "reason": "body is not JSON", "error_type": "invalid_json", "context": {}, "failed_at": 0}
    with records(monkeypatch, Message(codec.encode("dlq.v1", letter)), Message(b'{"kind": "tick"}', 1)):
        first, second = printed("dlq.v1")
    assert first["value"]["reason"] == "body is not JSON" and first["value"]["payload"] == "{"
    assert "undecodable" in second["value"]

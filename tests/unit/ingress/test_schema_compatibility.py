"""Each schema in schemas/ must read what its released version wrote (BACKWARD)."""

import json
from pathlib import Path

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from streams.kafka.avro_codec import SCHEMA_DIR

CURRENT = sorted(SCHEMA_DIR.glob("*.avsc"))


def backward_compatible(reader_source: str, writer_source: str) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(reader_source), avro.schema.parse(writer_source))
    return result.compatibility is SchemaCompatibilityType.compatible


def test_every_schema_has_a_released_version():
    released = {p.name for p in (SCHEMA_DIR / "released").glob("*.avsc")}
    assert {p.name for p in CURRENT} <= released, "copy a new schema to schemas/released/ when releasing it"


@pytest.mark.parametrize("path", CURRENT, ids=lambda p: p.name)
def test_current_reads_released(path: Path):
    assert backward_compatible(path.read_text(), (SCHEMA_DIR / "released" / path.name).read_text())


def test_the_check_catches_a_required_field_added_without_default():
    writer = (SCHEMA_DIR / "released" / "order_event.avsc").read_text()
    changed = json.loads(writer)
    changed["fields"].append({"name": "warehouse", "type": "string"})
    assert not backward_compatible(json.dumps(changed), writer)


def test_the_check_catches_a_removed_enum_symbol():
    writer = (SCHEMA_DIR / "released" / "command_result.avsc").read_text()
    changed = json.loads(writer)
    outcome = next(f for f in changed["fields"] if f["name"] == "outcome")
    outcome["type"]["symbols"].remove("FAILED")
    del outcome["type"]["default"]
    assert not backward_compatible(json.dumps(changed), writer)

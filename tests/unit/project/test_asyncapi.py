"""docs/reference/asyncapi.yaml is what docs/gen_asyncapi.py makes of streams/kafka/topics.py and schemas/."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import yaml

from streams.kafka.topics import TOPICS

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "docs" / "reference" / "asyncapi.yaml"


def committed() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def test_the_committed_document_is_what_the_generator_writes():
    generator = runpy.run_path(str(ROOT / "docs" / "gen_asyncapi.py"))
    assert DOCUMENT.read_text() == generator["render"](), "docs/reference/asyncapi.yaml is stale: run `make docs`"


def test_every_topic_is_a_channel_carrying_its_schema_under_its_key():
    document = committed()
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    assert set(channels) == {spec.name for spec in TOPICS}
    public = {spec.name for spec in TOPICS if spec.public}
    assert "orders.events.v1" in public and "exceptions.v1" in public and "shopify.webhooks.raw" not in public
    for spec in TOPICS:
        (ref,) = [message["$ref"] for message in channels[spec.name]["messages"].values()]
        message = document["components"]["messages"][ref.rsplit("/", 1)[1]]
        assert message["title"] == spec.schema
        assert message["bindings"]["kafka"]["key"]["description"] == spec.key
        assert {tag["name"] for tag in channels[spec.name]["tags"]} == {"public" if spec.public else "internal"}


def test_every_schema_is_referenced_and_every_reference_is_that_schema():
    document = committed()
    referenced = {}
    for message in document["components"]["messages"].values():
        path = (DOCUMENT.parent / message["payload"]["schema"]["$ref"]).resolve()
        schema = json.loads(path.read_text())
        assert f"{schema['namespace']}.{schema['name']}" == message["title"]
        referenced[path.name] = path
    assert set(referenced) == {path.name for path in (ROOT / "schemas").glob("*.avsc")}
    for operation in document["operations"].values():
        assert operation["channel"]["$ref"].rsplit("/", 1)[1] in document["channels"]

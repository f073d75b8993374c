"""The OpenAPI document (streams/wiring/openapi.py) names exactly the routes served for other programs.

tests/component/test_openapi.py checks the answers of a running server against it; this is the quick check
that no route is missing from it and none is described that the server does not serve.
"""

from __future__ import annotations

import re

from streams.kafka.avro_codec import AvroCodec
from streams.supervision.metrics import Metrics
from streams.web.server import served_routes
from streams.wiring import openapi
from streams.wiring.app import create_app
from tests.unit.service.test_service_port import settings


def test_every_route_but_the_inbox_pages_is_described_and_nothing_else(tmp_path):
    app = create_app(settings(tmp_path), "127.0.0.1:1", AvroCodec(), Metrics())
    app.web.init_server()
    served = {route for route in served_routes(app.web.web_app.router)
              if not route.startswith("HEAD ") and " /inbox" not in route}
    described = {f"{method.upper()} {path}" for path, operations in openapi.document()["paths"].items()
                 for method in operations}
    assert described == served


def test_every_reference_names_a_component():
    document = openapi.document()
    text = str(document)
    for kind, name in re.findall(r"#/components/(\w+)/(\w+)", text):
        assert name in document["components"][kind], name
    security = {name for requirement in re.findall(r"'security': \[(.*?)\]", text) for name in
                re.findall(r"'(\w+)': \[\]", requirement)}
    assert security <= set(document["components"]["securitySchemes"])

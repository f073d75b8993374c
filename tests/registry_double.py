"""A loopback Confluent Schema Registry double: the two REST calls editsync makes.

Shapes from Confluent's Schema Registry API reference
(docs.confluent.io/platform/current/schema-registry/develop/api.html):
``POST /subjects/{subject}/versions`` with ``{"schema": "...", "schemaType": "AVRO"}``
answers ``{"id": N}`` (the same id for the same schema), and
``GET /schemas/ids/{id}`` answers ``{"schema": "..."}`` or 404 with error_code 40403.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class RegistryDouble:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                parts = urlparse(self.path).path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
                    return self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                schema = request["schema"]
                canonical = json.dumps(json.loads(schema), sort_keys=True)
                schema_id = registry.ids.setdefault(canonical, len(registry.ids) + 1)
                registry.schemas[schema_id] = schema
                registry.subjects.setdefault(parts[1], []).append(schema_id)
                self._answer(200, {"id": schema_id})

            def do_GET(self):
                parts = urlparse(self.path).path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and int(parts[2]) in registry.schemas:
                    return self._answer(200, {"schema": registry.schemas[int(parts[2])]})
                self._answer(404, {"error_code": 40403, "message": "Schema not found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RegistryDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

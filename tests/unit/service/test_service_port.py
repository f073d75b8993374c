"""What the service port serves and how an agent crash shows, on the app ``editsync run`` builds (no broker).

The integration probe (sandboxes/testkit/probe.py) checks the same on a running service, from the routes its
web server logs at start; this is the quick check.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from sandboxes.stack import Credentials
from sandboxes.testkit.support import documented_endpoints
from streams.kafka.avro_codec import AvroCodec
from streams.runtime.settings import Settings
from streams.supervision.metrics import Metrics
from streams.web.server import served_routes
from streams.wiring.app import create_app

DOCS = Path(__file__).resolve().parents[3] / "docs"
SERVICE_PORT_DOC = (DOCS / "operating" / "service-port.md").read_text()  # the "HTTP endpoints" table
ALERTS_DOC = (DOCS / "operating" / "alerts.md").read_text()


def settings(tmp_path: Path, **values: object) -> Settings:
    key = tmp_path / "erp.pem"
    key.write_bytes(Credentials().erp_private_key_pem)  # the ERP client reads its key when the app is built
    return Settings(shopify_webhook_secret="service-port-secret", data_dir=tmp_path, erp_private_key_file=key, **values)


@pytest.fixture
def app(tmp_path):
    return create_app(settings(tmp_path, web_read_timeout_s=3.5), "127.0.0.1:1", AvroCodec(), Metrics())


def test_every_route_the_port_serves_is_documented(app):
    app.web.init_server()  # what the web service does when it starts: Faust's blueprints, then the server
    routes = served_routes(app.web.web_app.router)
    assert "POST /webhooks/shopify" in routes
    assert set(routes) <= documented_endpoints(SERVICE_PORT_DOC), set(routes) - documented_endpoints(SERVICE_PORT_DOC)


def test_none_of_fausts_pages_is_mounted_whatever_its_settings_say(tmp_path, monkeypatch):
    for flag in ("ROUTER", "TABLES", "GRAPH", "STATS", "METRICS"):
        monkeypatch.setenv(f"APP_WEB_{flag}_ENABLED", "1")
    app = create_app(settings(tmp_path), "127.0.0.1:1", AvroCodec(), Metrics())
    app.web.init_server()
    prefixes = {route.split(" ", 1)[1].split("/")[1] for route in served_routes(app.web.web_app.router)}
    assert prefixes == {"webhooks", "healthz", "readyz", "metrics", "openapi.json", "exceptions", "orders", "inbox"}


def test_idle_connections_are_bounded_by_the_read_timeout(app):
    assert app.web._runner._kwargs["keepalive_timeout"] == 3.5  # aiohttp's RequestHandler setting


def test_a_crash_of_any_agent_is_counted_under_its_name(app):
    metrics = app.metrics
    before = generate_latest(metrics.registry).decode()
    assert 'editsync_agent_crashes_total{agent="normaliser"} 0.0' in before
    for agent in app.agents.values():
        # The callback Faust's actor runner awaits when an agent's actor raises (Agent._execute_actor).
        asyncio.run(agent._on_error(agent, RuntimeError("boom")))
    after = generate_latest(metrics.registry).decode()
    for name in ("normaliser", "order_state", "peoplevox_status", "shopify_reads", "shopify_lookups",
                 "peoplevox_sink", "inventory_sink", "erp_sink", "retry"):
        assert f'editsync_agent_crashes_total{{agent="{name}"}} 1.0' in after


def test_a_crash_is_logged_with_its_traceback_in_the_line_docs_alerts_md_names(app, caplog):
    agent = app.agents["order_state"]
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        crash = error
    with caplog.at_level(logging.ERROR, logger="streams.wiring.app"):
        asyncio.run(agent._on_error(agent, crash))
    (record,) = [r for r in caplog.records if r.name == "streams.wiring.app"]
    assert (record.levelname, record.getMessage()) == ("ERROR", "agent order_state crashed: RuntimeError('boom')")
    assert "Traceback" in caplog.text and 'raise RuntimeError("boom")' in caplog.text, "where the agent raised"
    assert "`[ERROR] agent <name> crashed: <exception>`" in ALERTS_DOC


def test_the_worker_consumer_waits_at_most_the_configured_fetch_wait(tmp_path):
    """Faust fixes 1,500 ms, which on the embedded broker every hop of an edit waits out."""
    app = create_app(settings(tmp_path, kafka_fetch_max_wait_ms=40), "127.0.0.1:1", AvroCodec(), Metrics())

    async def built() -> int:  # aiokafka builds its consumer inside a running loop only
        return app.consumer._thread._create_worker_consumer(app.transport)._fetch_max_wait_ms

    assert asyncio.run(built()) == 40

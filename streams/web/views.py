"""HTTP endpoints on the Faust web server: Shopify webhooks, Peoplevox callbacks, health, metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiohttp.web import Request, RequestPayloadError
from confluent_kafka.admin import AdminClient
from faust import web
from faust.types import TP, AppT
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.context import Context
from streams.ingress.request import Refuse, decide
from streams.kafka import topics
from streams.runtime.clock import now_ms
from streams.runtime.settings import Settings
from streams.web.answers import AgentCrashed, Alive, CallbackTaken, Readiness, WebhookTaken

log = logging.getLogger(__name__)


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is (or claims to be) over ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, settings: Settings) -> bytes | Refuse:
    """The body within the size limit and the read timeout, or the refusal to answer instead."""
    limit = settings.webhook_max_body_bytes
    try:
        body = await asyncio.wait_for(read_limited(request, limit), settings.web_read_timeout_s)
    except TimeoutError:
        return Refuse(408, "timeout", f"body not received within {settings.web_read_timeout_s:g} s")
    except RequestPayloadError as error:  # a broken chunked encoding or compression
        return Refuse(400, "malformed", f"body could not be read: {error}")
    return Refuse(413, "oversize", f"body over {limit} bytes") if body is None else body


def shown(header: str | None) -> str:
    """An unverified header as it may appear in a log line: short and escaped."""
    return "-" if header is None else repr(header[:80])


async def publish_acked(ctx: Context, topic: str, key: bytes | None, value: dict) -> None:
    """Encode, send and wait for the broker's ack within the ingress timeout; raises when not acked."""
    pending = await ctx.topic(topic).send(key=key, value=ctx.codec.encode(topic, value))
    await asyncio.wait_for(pending, ctx.settings.ingress_ack_timeout_s)


class BrokerProbe:
    """Is the broker answering metadata requests? Cached briefly so probes stay cheap."""

    def __init__(self, bootstrap: str, ttl_s: float = 2.0) -> None:
        self._bootstrap = bootstrap
        self._admin: AdminClient | None = None  # made at the first probe: building the app connects to nothing
        self._ttl_s = ttl_s
        self._checked_at = 0.0
        self._ok = False

    async def reachable(self) -> bool:
        if time.monotonic() - self._checked_at > self._ttl_s:
            self._admin = self._admin or AdminClient({"bootstrap.servers": self._bootstrap})
            try:
                await asyncio.to_thread(self._admin.list_topics, timeout=2.0)
                self._ok = True
            except Exception:
                self._ok = False
            self._checked_at = time.monotonic()
        return self._ok


def register(ctx: Context) -> None:
    app, settings, metrics = ctx.app, ctx.settings, ctx.metrics
    probe = BrokerProbe(ctx.bootstrap)

    @app.page("/webhooks/shopify")
    class ShopifyWebhook(web.View):
        async def post(self, request: Request) -> web.Response:
            started = time.monotonic()
            body = await read_body(request, settings)
            decision = body if isinstance(body, Refuse) else decide(body, request.headers, ctx.webhook_secret,
                                                                    now_ms())
            if isinstance(decision, Refuse):
                metrics.webhook_requests.labels(decision.outcome).inc()
                # Never log the signature, the secret or the body: only what routes the request.
                log.warning("webhook refused %s (%s): topic=%s shop=%s from=%s", decision.status,
                            decision.message, shown(request.headers.get("X-Shopify-Topic")),
                            shown(request.headers.get("X-Shopify-Shop-Domain")), request.remote)
                return self.json({"error": decision.message}, status=decision.status)
            try:
                await publish_acked(ctx, decision.topic, decision.key, decision.value)
            except Exception as exc:
                # Not acknowledged: answer 503 so Shopify retries; nothing was promised.
                metrics.webhook_requests.labels("unavailable").inc()
                log.error("webhook not acknowledged by the broker (%r): %s", exc, dict(decision.log_context))
                return self.json({"error": "temporarily unavailable"}, status=503)
            metrics.webhook_requests.labels(decision.outcome).inc()
            metrics.webhook_ack_seconds.observe(time.monotonic() - started)
            if decision.outcome == "dead_lettered":
                metrics.dead_letters.labels(decision.value["source"], decision.value["error_type"]).inc()
                log.warning("signed webhook dead-lettered (%s): %s", decision.value["reason"],
                            dict(decision.log_context))
            return self.json(WebhookTaken(status=decision.outcome).model_dump())

    @app.page("/webhooks/peoplevox")
    class PeoplevoxCallback(web.View):
        """Peoplevox fills the subscription's URL template; the data is in the query string, unsigned."""

        async def post(self, request: Request) -> web.Response:
            return await self.get(request)

        async def get(self, request: Request) -> web.Response:
            params = dict(request.query)
            token = params.pop("token", "")
            if not hmac.compare_digest(token.encode(), ctx.peoplevox_callback_token.encode()):
                metrics.peoplevox_callbacks.labels("forged").inc()
                log.warning("Peoplevox callback without a valid token from %s", request.remote)
                return self.json({"error": "unknown callback"}, status=401)
            record: dict[str, Any] = {"event_type": params.pop("event", "SalesOrderStatusChanges"),
                      "sales_order_number": params.get("order") or None, "params": params,
                      "received_at": now_ms()}
            key = (record["sales_order_number"] or "").encode()
            try:
                await publish_acked(ctx, topics.PEOPLEVOX_EVENTS_RAW, key, record)
            except Exception as exc:
                metrics.peoplevox_callbacks.labels("unavailable").inc()
                log.error("Peoplevox callback not acknowledged by the broker (%r)", exc)
                return self.json({"error": "temporarily unavailable"}, status=503)
            metrics.peoplevox_callbacks.labels("accepted").inc()
            return self.json(CallbackTaken(status="accepted").model_dump())

    @app.page("/healthz")
    class Health(web.View):
        async def get(self, request: Request) -> web.Response:
            # A crashed agent leaves partitions unprocessed: this worker must be replaced (supervision/watchdog.py).
            if ctx.watchdog.crashed:
                return self.json(AgentCrashed(status="agent crashed", agents=ctx.watchdog.crashed).model_dump(),
                                 status=503)
            return self.json(Alive(status="alive").model_dump())

    @app.page("/readyz")
    class Ready(web.View):
        async def get(self, request: Request) -> web.Response:
            broker = await probe.reachable()
            agents = {name.rsplit(".", 1)[-1]: agent.started and not agent.crashed
                      and name.rsplit(".", 1)[-1] not in ctx.watchdog.crashed for name, agent in app.agents.items()}
            ready = broker and bool(agents) and all(agents.values())
            return self.json(Readiness(ready=ready, broker=broker, agents=agents).model_dump(),
                             status=200 if ready else 503)

    if settings.fault_injection:
        @app.page("/_faults")
        class Faults(web.View):
            """Tests only: ``{"crash_agent": name}`` makes that agent raise on its next record;
            ``{"pause_partition": {"topic": t, "partition": p}}`` pauses an owned partition in the consumer and
            leaves it so, as Faust can after a rebalance (streams/supervision/stall_guard.py must notice)."""

            async def put(self, request: Request) -> web.Response:
                fault = await request.json()
                if "pause_partition" in fault:
                    tp = TP(str(fault["pause_partition"]["topic"]), int(fault["pause_partition"]["partition"]))
                    if tp not in app.consumer.assignment():
                        return self.json({"error": f"{tp.topic}[{tp.partition}] is not owned here"}, status=409)
                    app.consumer.pause_partitions({tp})
                    return self.json({"paused": [tp.topic, tp.partition]})
                name = fault.get("crash_agent", "")
                known = {agent.rsplit(".", 1)[-1] for agent in app.agents}
                if name not in known:
                    return self.json({"error": f"unknown agent {name!r}", "agents": sorted(known)}, status=400)
                ctx.faults.crash_agents.add(name)
                return self.json({"crash_agent": name})

    @app.page("/metrics")
    class MetricsPage(web.View):
        async def get(self, request: Request) -> web.Response:
            metrics.refresh()
            return self.bytes(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])


def serve_document(app: AppT, path: str, document: Mapping[str, Any]) -> None:
    """``GET path``: a document built once at start, such as the OpenAPI document of these routes."""

    @app.page(path)
    class Document(web.View):
        async def get(self, request: Request) -> web.Response:
            return self.json(document)

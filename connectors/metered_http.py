"""Every HTTP request to Shopify, Peoplevox and the ERP counted at the transport, where nothing escapes it.

Connectors take an httpx transport; this one wraps the real one and records,
per target: requests by outcome, time, and what the API asked us to wait
(``Retry-After`` on a 429, or, for a Shopify ``THROTTLED`` answer, the time
its cost bucket needs to refill to the query's cost). Shopify's answers also
carry the points each query cost and the points left
(``extensions.cost``, shopify.dev/docs/api/usage/limits).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from streams.core.model import System
from streams.supervision.metrics import Metrics


def outcome_of(status: int, throttled: bool = False) -> str:
    if status == 429 or throttled:
        return "throttled"
    if status in (401, 403):
        return "auth_error"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "ok"


@dataclass(frozen=True)
class ShopifyCost:
    charged: float | None  # None when the query was refused (THROTTLED): nothing was charged
    left: float | None
    throttled: bool
    wait_s: float  # until the bucket holds the query's requested cost again


def shopify_cost(body: dict[str, Any]) -> ShopifyCost:
    """What one GraphQL answer says about cost and throttling."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    charged = cost.get("actualQueryCost")
    if charged is None:
        charged = cost.get("requestedQueryCost")
    status = cost.get("throttleStatus") or {}
    left = status.get("currentlyAvailable")
    wait = 0.0
    throttled = any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in body.get("errors") or ())
    if throttled and status.get("restoreRate"):
        wait = max(0.0, (float(cost.get("requestedQueryCost") or 0) - float(left or 0)) / float(status["restoreRate"]))
    return ShopifyCost(None if throttled or charged is None else float(charged), None if left is None else float(left),
                       throttled, wait)


class MeteredTransport(httpx.AsyncBaseTransport):
    def __init__(self, system: System, metrics: Metrics, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._system, self._metrics = system, metrics
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        m, target = self._metrics, self._system.value  # the metrics' target label
        started = time.monotonic()
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()  # bodies here are small; reading them lets Shopify's cost be counted
        except httpx.TransportError:
            m.api_requests.labels(target, "transport_error").inc()
            raise
        finally:
            m.api_request_seconds.labels(target).observe(time.monotonic() - started)
        wait, throttled = _retry_after(response), False
        if self._system is System.SHOPIFY and response.status_code == 200:
            cost = shopify_cost(_json(response.content))
            throttled, wait = cost.throttled, max(wait, cost.wait_s)
            if cost.charged is not None:
                m.api_cost_points.labels(target).inc(cost.charged)
            if cost.left is not None:
                m.api_cost_available_points.labels(target).set(cost.left)
        m.api_requests.labels(target, outcome_of(response.status_code, throttled)).inc()
        if wait:
            m.api_throttle_wait_seconds.labels(target, "upstream").inc(wait)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _retry_after(response: httpx.Response) -> float:
    if response.status_code != 429:
        return 0.0
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0  # an HTTP date: the connectors wait a second too


def _json(content: bytes) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

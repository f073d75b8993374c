"""Shopify Admin GraphQL over httpx: read orders, find one by name, adjust inventory.

Throttle-aware as shopify.dev/docs/api/usage/limits asks: every answer's
``extensions.cost.throttleStatus`` says how many points are left and how fast
they return, so a query waits until the bucket holds what it will cost
instead of being refused; a ``THROTTLED`` error waits for the refill and
retries; an HTTP 429 honours ``Retry-After``. 5xx and transport errors are
``TransientError`` (the caller retries later), a 401/403 or a GraphQL error is
``PermanentError``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.errors import PermanentError, TransientError
from connectors.ports import StockChange
from connectors.shopify_order import (
    FIND_BY_NAME_QUERY,
    INVENTORY_MUTATION,
    ORDER_QUERY,
    numeric,
    snapshot_from_graphql,
)
from streams.core.model import OrderSnapshot


@dataclass
class _Bucket:
    available: float = 0.0
    restore_rate: float = 0.0
    maximum: float = 0.0
    read_at: float = 0.0

    def _now_available(self) -> float:
        return min(self.maximum, self.available + (time.monotonic() - self.read_at) * self.restore_rate)

    def wait_for(self, cost: float) -> float:
        if not self.restore_rate:
            return 0.0
        return max(0.0, (cost - self._now_available()) / self.restore_rate)

    def reserve(self, cost: float) -> None:
        if self.restore_rate:
            self.available, self.read_at = self._now_available() - cost, time.monotonic()


class ShopifyAdmin:
    def __init__(self, base_url: str, access_token: str, api_version: str = "2026-10",
                 client: httpx.AsyncClient | None = None, max_throttle_retries: int = 5,
                 timeout_s: float = 10.0) -> None:
        self._url = f"{base_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self._headers = {"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"}
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._bucket = _Bucket()
        self._costs: dict[str, float] = {}  # last requested cost per query: what to wait for next time
        self._max_throttle_retries = max_throttle_retries
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch_order(self, order_id: str) -> OrderSnapshot | None:
        data = await self._query(ORDER_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        node = data.get("order")
        return None if node is None else snapshot_from_graphql(node)

    async def find_order_id(self, name: str) -> str | None:
        wanted = name if name.startswith("#") else f"#{name}"
        data = await self._query(FIND_BY_NAME_QUERY, {"query": f"name:{wanted}"})
        nodes = data["orders"]["nodes"]
        return numeric(nodes[0]["id"]) if nodes else None

    async def adjust_inventory(self, key: str, changes: list[StockChange], reason: str,
                               reference_document_uri: str | None) -> dict[str, Any]:
        variables = {"key": key, "input": {
            "name": "available", "reason": reason, "referenceDocumentUri": reference_document_uri,
            "changes": [{"inventoryItemId": f"gid://shopify/InventoryItem/{c.inventory_item_id}",
                         "locationId": f"gid://shopify/Location/{c.location_id}", "delta": c.delta}
                        for c in changes]}}
        payload = (await self._query(INVENTORY_MUTATION, variables))["inventoryAdjustQuantities"]
        if payload["userErrors"]:
            raise PermanentError("Shopify refused the inventory adjustment",
                                 {"user_errors": payload["userErrors"]})
        return payload["inventoryAdjustmentGroup"]

    async def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self._max_throttle_retries + 1):
            async with self._lock:  # one waiter at a time, each reserving its cost, so waits do not collide
                cost = self._costs.get(query, 0)
                await asyncio.sleep(self._bucket.wait_for(cost))
                self._bucket.reserve(cost)
            try:
                response = await self._client.post(self._url, json={"query": query, "variables": variables},
                                                   headers=self._headers)
            except httpx.HTTPError as error:
                raise TransientError(f"Shopify unreachable: {type(error).__name__}") from error
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code in (401, 403):
                raise PermanentError(f"Shopify refused the access token ({response.status_code})")
            if response.status_code >= 500:
                raise TransientError(f"Shopify answered {response.status_code}")
            if response.status_code != 200:
                raise PermanentError(f"Shopify answered {response.status_code}", {"body": response.text[:500]})
            body = response.json()
            cost = (body.get("extensions") or {}).get("cost") or {}
            self._read_cost(query, cost)
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                continue  # the bucket status just read says how long to wait
            if errors:
                raise PermanentError("Shopify GraphQL error", {"errors": [e.get("message") for e in errors]})
            return body["data"]
        raise TransientError("Shopify kept throttling", retry_after_s=self._bucket.wait_for(self._costs.get(query, 0)))

    def _read_cost(self, query: str, cost: dict[str, Any]) -> None:
        if cost.get("requestedQueryCost") is not None:
            self._costs[query] = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus")
        if status:
            self._bucket = _Bucket(float(status["currentlyAvailable"]), float(status["restoreRate"]),
                                   float(status["maximumAvailable"]), time.monotonic())

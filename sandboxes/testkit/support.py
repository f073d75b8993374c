"""Helpers the tests share: Shopify-shaped payloads, an independent webhook signer, waiting."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from streams.runtime.backoff import backoff_ms

FIXTURES = Path(__file__).parent / "fixtures"


def payload(name: str, **overrides: Any) -> dict[str, Any]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(overrides)
    return data


def shopify_signature(body: bytes, secret: bytes) -> str:
    """Written here from Shopify's docs, not imported from editsync, so a bug there cannot hide."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")


def webhook_headers(topic: str, body: bytes, secret: bytes, **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "editsync-test.myshopify.com",
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Hmac-Sha256": shopify_signature(body, secret),
    }
    headers.update(extra)
    return headers


def documented_endpoints(page: str) -> set[str]:
    """``METHOD /path`` of every row of the "HTTP endpoints" table (docs/operating/service-port.md; a row may name
    several).

    ``HEAD`` is documented with ``GET``: aiohttp answers it on every route of a path (as GET without a
    body, 405 where the path has no GET).
    """
    section = page.split("## HTTP endpoints", 1)[1].split("\n## ", 1)[0]
    endpoints = set()
    for row in re.findall(r"^\| ([^|]+) \|", section, flags=re.M):
        endpoints |= set(re.findall(r"`([A-Z]+ /[^`]*)`", row))
    return endpoints | {f"HEAD {endpoint.split(' ', 1)[1]}" for endpoint in endpoints}


def wait_for(what: str, condition: Callable[[], Any], timeout_s: float = 30.0, interval_s: float = 0.5,
             detail: Callable[[], str] = lambda: "") -> Any:
    """Poll ``condition`` until it gives something truthy, and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"{what}: not within {timeout_s}s\n{detail()}")


def wait_until_serving(name: str, process: subprocess.Popen, url: str, timeout_s: float,
                       log: Callable[[], str]) -> None:
    """Until ``url`` answers 200; fail at once if the process exits meanwhile."""
    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited {process.returncode}:\n{log()}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(f"{name} serving {url}", serving, timeout_s, interval_s=0.2, detail=log)


class _NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def shortest_retry_span_s(max_attempts: int, base_s: float) -> float:
    """The least time a command's retries can take (every wait at its shortest, one wait between two attempts,
    as the sink agent waits): what an outage must outlast to make the command a person's problem."""
    return sum(backoff_ms(attempt, base_s, _NoJitter()) for attempt in range(max_attempts - 1)) / 1000

"""Helpers the tests share: Shopify-shaped payloads and an independent webhook signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

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


def documented_endpoints(readme: str) -> set[str]:
    """``METHOD /path`` of every row of the README's "HTTP endpoints" table (a row may name several).

    ``HEAD`` is documented with ``GET``: aiohttp answers it on every route of a path (as GET without a
    body, 405 where the path has no GET).
    """
    section = readme.split("## HTTP endpoints", 1)[1].split("\n## ", 1)[0]
    endpoints = set()
    for row in re.findall(r"^\| ([^|]+) \|", section, flags=re.M):
        endpoints |= set(re.findall(r"`([A-Z]+ /[^`]*)`", row))
    return endpoints | {f"HEAD {endpoint.split(' ', 1)[1]}" for endpoint in endpoints}

"""Dead-letter records (``schemas/dead_letter.avsc``): the input, whole, and why it failed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.service.clock import now_ms

INGRESS_SOURCE = "http:/webhooks/shopify"


def dead_letter(
    *,
    source: str,
    payload: bytes,
    reason: str,
    error_type: str,
    key: bytes | None = None,
    partition: int | None = None,
    offset: int | None = None,
    context: Mapping[str, str | None] | None = None,
    failed_at: int | None = None,
) -> dict[str, Any]:
    return {
        "source": source,
        "partition": partition,
        "offset": offset,
        "key": key,
        "payload": payload,
        "reason": reason,
        "error_type": error_type,
        "context": {k: v for k, v in (context or {}).items() if v is not None},
        "failed_at": failed_at if failed_at is not None else now_ms(),
    }

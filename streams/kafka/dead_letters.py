"""Dead-letter records (``schemas/dead_letter.avsc``): the input, whole, and why it failed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.runtime.clock import now_ms

INGRESS_SOURCE = "http:/webhooks/shopify"
#: A reason can quote the input (a bad amount, an exception's message); the input itself is in
#: ``payload`` already, so the reason is cut here and the letter still fits in one record.
MAX_REASON_CHARS = 1000


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
        "reason": _text(reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS - 1] + "…"),
        "error_type": error_type,
        "context": {_text(k): _text(v) for k, v in (context or {}).items() if v is not None},
        "failed_at": failed_at if failed_at is not None else now_ms(),
    }


def _text(value: str) -> str:
    """Text Avro can carry: a lone surrogate from hostile input is written as its escape, not a crash."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")

"""Recreate-style edits: the app cancels order A and creates order B "edited from A".

Only one of them may reach the warehouse. Markers name the original
explicitly (note attributes, tags, note text); the heuristic catches apps
that leave no marker: same customer, original cancelled shortly before,
overlapping lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from streams.core.model import OrderSnapshot


@dataclass(frozen=True)
class RecreatePolicy:
    note_attributes: tuple[str, ...] = ("edited_from", "original_order", "replaces_order", "_original_order")
    tag_prefixes: tuple[str, ...] = ("edited-from-", "replaces-", "recreated-from-")
    note_patterns: tuple[str, ...] = (r"edited from (?:order )?(#?[\w-]+)", r"replaces (?:order )?(#?[\w-]+)")
    source_names: frozenset[str] = field(default_factory=frozenset)  # recreate-style apps' source_name
    window_ms: int = 30 * 60 * 1000
    min_overlap: float = 0.5


def referenced_order(snapshot: OrderSnapshot, policy: RecreatePolicy) -> str | None:
    """The original order this one says it replaces: a name like "#1001" or a numeric id."""
    for name, value in snapshot.note_attributes:
        if name.strip().lower() in policy.note_attributes and value and value.strip():
            return _reference(value)
    for tag in snapshot.tags:
        lowered = tag.strip().lower()
        for prefix in policy.tag_prefixes:
            if lowered.startswith(prefix) and len(lowered) > len(prefix):
                return _reference(tag.strip()[len(prefix):])
    for pattern in policy.note_patterns:
        match = re.search(pattern, snapshot.note or "", flags=re.I)
        if match:
            return _reference(match.group(1))
    return None


def _reference(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("gid://shopify/Order/"):
        return raw.rsplit("/", 1)[1]
    return raw if raw.startswith("#") or raw.isdigit() and len(raw) > 8 else f"#{raw}"


def looks_like_recreate(new: OrderSnapshot, original: OrderSnapshot, policy: RecreatePolicy) -> bool:
    """No marker: same customer, original cancelled within the window before, lines overlapping."""
    if new.order_id == original.order_id or new.customer_id is None or new.customer_id != original.customer_id:
        return False
    if policy.source_names and new.source_name not in policy.source_names:
        return False
    if original.cancelled_at is None or new.created_at is None:
        return False
    if not 0 <= new.created_at - original.cancelled_at <= policy.window_ms:
        return False
    new_skus = {line.sku for line in new.lines if line.sku}
    old_skus = {line.sku for line in original.lines if line.sku}
    if not new_skus or not old_skus:
        return False
    return len(new_skus & old_skus) / min(len(new_skus), len(old_skus)) >= policy.min_overlap

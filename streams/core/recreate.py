"""Recreate-style edits: the app cancels order A and creates order B "edited from A".

Only one of them may reach the warehouse. A recreate is known only by the
marker the app leaves on the new order, naming the original (a note
attribute, a tag, or the note text). An order without one is an ordinary
order: if the app cancels the original, that cancel reaches the warehouse
like any other; if it leaves the original open, both ship.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streams.core.model import OrderSnapshot


@dataclass(frozen=True)
class RecreatePolicy:
    note_attributes: tuple[str, ...] = ("edited_from", "original_order", "replaces_order", "_original_order")
    tag_prefixes: tuple[str, ...] = ("edited-from-", "replaces-", "recreated-from-")
    note_patterns: tuple[str, ...] = (r"edited from (?:order )?(#?[\w-]+)", r"replaces (?:order )?(#?[\w-]+)")


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


"""Recreate-style edits: the app cancels order A and creates order B "edited from A".

Only one of them may reach the warehouse. A recreate is known only by the
marker the app leaves on the new order, naming the original (a note
attribute, a tag, or the note text). An order without one is an ordinary
order: if the app cancels the original, that cancel reaches the warehouse
like any other; if it leaves the original open, both ship.
"""

from __future__ import annotations

import re

from pydantic import ConfigDict, field_validator

from streams.core.model import OrderSnapshot, Value


class RecreatePolicy(Value):
    """How the merchant's editing app marks a recreated order (``EDITSYNC_RECREATE_MARKERS``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")  # a misspelt key must not quietly keep the defaults

    note_attributes: tuple[str, ...] = ("edited_from", "original_order", "replaces_order", "_original_order")
    tag_prefixes: tuple[str, ...] = ("edited-from-", "replaces-", "recreated-from-")
    note_patterns: tuple[str, ...] = (r"edited from (?:order )?(#?[\w-]+)", r"replaces (?:order )?(#?[\w-]+)")

    @field_validator("note_attributes", "tag_prefixes")
    @classmethod
    def _lower_case(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        # Shopify's note attribute names and tags are compared without case (referenced_order lowers them);
        # an empty prefix would match every tag.
        if any(not name.strip() for name in names):
            raise ValueError("names and prefixes must not be empty")
        return tuple(name.strip().lower() for name in names)

    @field_validator("note_patterns")
    @classmethod
    def _one_group_each(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        # A pattern that cannot name the original is refused at start, not found out when a recreated order
        # ships beside its original.
        for pattern in patterns:
            try:
                groups = re.compile(pattern).groups
            except re.error as error:
                raise ValueError(f"note pattern {pattern!r} is not a regular expression: {error}") from error
            if groups != 1:
                raise ValueError(f"note pattern {pattern!r} must have exactly one group (the original's name "
                                 f"or id), not {groups}")
        return patterns


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
        if match and (match.group(1) or "").strip():  # an optional group may match and capture nothing
            return _reference(match.group(1))
    return None


def _reference(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("gid://shopify/Order/"):
        return raw.rsplit("/", 1)[1]
    return raw if raw.startswith("#") or raw.isdigit() and len(raw) > 8 else f"#{raw}"


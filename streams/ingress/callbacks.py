"""Peoplevox status callbacks, as pure rules: which sales order a callback names, if any usable one.

Peoplevox fills the subscription's URL template from its own data and signs
nothing (the token in the URL is the only proof of origin), so the number is
checked before it goes anywhere: into a SOAP ``GetData`` search clause, an
XML document that cannot carry control characters (lxml refuses them with a
``ValueError``). What Peoplevox allows in a sales order number is not
published; the stricter reading is taken: printable text, at most
``MAX_NUMBER_CHARS`` characters.
"""

from __future__ import annotations

MAX_NUMBER_CHARS = 100


class InvalidCallback(ValueError):
    """A callback that names no usable sales order; ``error_type`` names the class for the dead letter."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type


def sales_order_number(raw: str | None) -> str:
    if not raw:
        raise InvalidCallback("missing_sales_order_number", "the callback names no sales order (order=)")
    if len(raw) > MAX_NUMBER_CHARS or not raw.isprintable():
        raise InvalidCallback("invalid_sales_order_number",
                              f"order= is not printable text of at most {MAX_NUMBER_CHARS} characters: {raw[:60]!r}")
    return raw

"""Peoplevox's sales orders in memory, as ``connectors.peoplevox.PeoplevoxWarehouse`` sees them.

Rules kept from the real service and connector (Peoplevox integration templates,
see sandboxes/peoplevox/): an import adds or edits lines but never
removes one; a sales order at or past the cut-off (or in a status outside the
pick cycle, such as Cancelled) is not written, the write is answered with its
status; an update of a sales order Peoplevox does not hold is refused. It
stores what an import through the default templates (``PeoplevoxColumns()``)
stores: the header fields their columns hold (no phone, no company), an empty
value as None, and each line's Notes text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import PermanentError
from connectors.peoplevox import Refused
from connectors.ports import SalesOrderRow, Written
from streams.core.details import Held, HeldHeader, ResultDetail
from streams.core.model import Address, Despatch, SalesOrder
from streams.core.peoplevox import CANCELLED, CutOff, PeoplevoxColumns, notes_by_code

STORED = frozenset(field for _, field in PeoplevoxColumns().header()) | {"line_notes"}


@dataclass
class FakeWarehouse:
    cutoff: str = "Picking"
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # sales order number -> what Peoplevox holds
    returns: set[str] = field(default_factory=set)  # refund ids
    known_item_codes: frozenset[str] = frozenset()
    refusals: dict[str, str] = field(default_factory=dict)  # sales order number -> why Peoplevox refuses its import
    despatched: dict[str, tuple[Despatch, ...]] = field(default_factory=dict)  # sales order number -> despatches

    def live(self) -> list[dict[str, Any]]:
        return [so for so in self.orders.values() if not so["cancelled"]]

    def _refused(self, number: str) -> Written | None:
        status = self.orders[number]["status"]
        return Written(False, status) if CutOff(self.cutoff).reached(status) else None

    async def sales_order(self, number: str) -> SalesOrderRow | None:
        held = self.orders.get(number)
        return None if held is None else SalesOrderRow(number, held["reference"], held["status"])

    async def despatches(self, number: str) -> tuple[Despatch, ...]:
        return self.despatched.get(number, ())

    async def sales_orders_of(self, prefix: str) -> list[SalesOrderRow]:
        return [SalesOrderRow(number, held["reference"], held["status"])
                for number, held in self.orders.items() if number.startswith(prefix)]

    async def held(self, number: str) -> Held | None:
        held = self.orders.get(number)
        if held is None:
            return None
        header = HeldHeader(address=Address(**held.get("address") or {}), email=held.get("email"),
                            gift_message=held.get("gift_message"),
                            line_notes=tuple(sorted((c, t) for c, t in held.get("notes", {}).items() if t)),
                            stored=STORED)
        return Held(number=number, status=held["status"], lines=tuple(held["lines"]), header=header)

    async def item_codes(self) -> frozenset[str]:
        return self.known_item_codes

    async def upsert(self, order: SalesOrder, reference: str, *, must_exist: bool) -> Written:
        if order.number in self.refusals:
            raise PermanentError(self.refusals[order.number], ResultDetail(number=order.number))
        held = self.orders.get(order.number)
        if held is None and must_exist:
            raise PermanentError(f"sales order {order.number} is not in Peoplevox", {"number": order.number})
        if held is not None and (refused := self._refused(order.number)):
            return refused
        lines = dict(held["lines"]) if held else {}
        lines.update(order.lines)  # an import never removes a line
        written = notes_by_code(order.line_notes)
        notes = {**(held.get("notes", {}) if held else {}), **{code: written.get(code, "") for code, _ in order.lines}}
        status = held["status"] if held else "New"
        address = (order.address or Address()).model_dump()
        self.orders[order.number] = {
            "lines": sorted(lines.items()),
            "address": {field: (value or None) if field in STORED else None for field, value in address.items()},
            "email": order.email or None, "gift_message": order.gift_message or None, "notes": notes,
            "cancelled": False, "status": status, "reference": reference}
        return Written(True, status)

    async def cancel(self, number: str) -> Written:
        held = self.orders.get(number)
        if held is None or held["status"] == CANCELLED:
            return Written(True, held and held["status"])
        if refused := self._refused(number):
            return refused
        held.update(status=CANCELLED, cancelled=True)
        return Written(True, CANCELLED)

    async def create_return(self, refund_id: str, number: str, lines: list[tuple[str, int]]) -> None:
        self.returns.add(refund_id)


@dataclass
class FakeWarehouseEvents:
    """Peoplevox's SubscribeEvent / UnsubscribeEvent: ids counted from 1; unsubscribing an unknown id is refused
    ("Subscription N not found"), as the sandbox does. ``failures`` answer the next calls, one each: raised, or
    None (answered)."""

    subscriptions: dict[int, str] = field(default_factory=dict)  # id -> callback URL
    failures: list[Exception | None] = field(default_factory=list)
    made: int = 0

    async def _call(self) -> None:
        await asyncio.sleep(0)  # a real call waits on the network: other workers' calls can come in between
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure

    async def subscribe(self, event_type: str, callback_url: str, filter_: str = "") -> str:
        await self._call()
        self.made += 1
        self.subscriptions[self.made] = callback_url
        return str(self.made)

    async def unsubscribe(self, subscription_id: int) -> None:
        await self._call()
        if self.subscriptions.pop(subscription_id, None) is None:
            raise Refused(f"Subscription {subscription_id} not found")

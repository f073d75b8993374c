"""The probe that tells waiting orders a system answers again (streams/agents/order_state.py ``probe``), for
every system whose commands can wait: the ERP and Shopify's inventory (Peoplevox is asked for its item codes)."""

from __future__ import annotations

import asyncio

from connectors.errors import TransientError
from streams.agents.order_state import Heals, probe
from streams.core.model import Target


class Orders:
    def __init__(self, waiting: dict[Target, int]) -> None:
        self.waiting = waiting
        self.told: list[Target] = []

    async def answering(self, target: Target) -> int:
        self.told.append(target)
        return self.waiting.pop(target, 0)

    def heals(self) -> Heals:
        async def nothing() -> int:
            return 0
        return Heals(nothing, self.answering, lambda target: self.waiting.get(target, 0))


def pinging(answer: Exception | None = None):
    asked: list[str] = []

    async def ping() -> None:
        asked.append("ping")
        if answer is not None:
            raise answer
    return ping, asked


def test_orders_waiting_for_shopify_are_told_it_answers_again():
    orders = Orders({Target.INVENTORY: 3})
    ping, asked = pinging()
    assert asyncio.run(probe(orders.heals(), Target.INVENTORY, ping)) == 3
    assert asked == ["ping"] and orders.told == [Target.INVENTORY]


def test_a_system_still_down_leaves_them_waiting():
    orders = Orders({Target.ERP: 2})
    ping, _ = pinging(TransientError("ERP unreachable: ConnectError"))
    assert asyncio.run(probe(orders.heals(), Target.ERP, ping)) == 0
    assert orders.told == [] and orders.waiting == {Target.ERP: 2}


def test_nobody_waiting_asks_nothing():
    ping, asked = pinging()
    assert asyncio.run(probe(Orders({}).heals(), Target.INVENTORY, ping)) == 0
    assert asked == []

"""The Warehouse port's contract, run twice: on the in-memory fake the core harness uses (tests/fakes/peoplevox.py)
and on the real connector talking SOAP to the Peoplevox sandbox on loopback. The same test on both, so the fake
cannot keep a rule the connector and the sandbox do not (or miss one they keep).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest

from connectors.errors import PermanentError
from connectors.peoplevox import PeoplevoxClient, PeoplevoxWarehouse
from connectors.ports import SalesOrderRow, Warehouse, Written
from sandboxes.stack import SandboxStack
from streams.core.model import Address
from streams.core.peoplevox import CutOff, SalesOrder
from tests.fakes.peoplevox import FakeWarehouse

NUMBERS = count(5001)


@dataclass
class Side:
    """One implementation of the port, and how the warehouse floor moves a sales order on (outside the port)."""

    warehouse: Warehouse
    set_status: Callable[[str, str], None]
    loop: asyncio.AbstractEventLoop  # one per test: the connector's HTTP client stays on the loop it began on

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)


@pytest.fixture(scope="module")
def stack() -> Iterator[SandboxStack]:
    # No pick cycle of its own: a sales order moves on only when a test says so.
    with SandboxStack("http://127.0.0.1:9/unused", b"unused", pick_delay_s=(3600, 3600), seed=1) as sandboxes:
        yield sandboxes


@pytest.fixture(params=["fake", "sandbox"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    loop = asyncio.new_event_loop()
    yield make_side(request, loop)
    loop.close()


def make_side(request: pytest.FixtureRequest, loop: asyncio.AbstractEventLoop) -> Side:
    if request.param == "fake":
        fake = FakeWarehouse(cutoff="Picking")

        def set_fake_status(number: str, status: str) -> None:
            fake.orders[number]["status"] = status

        return Side(fake, set_fake_status, loop)
    stack: SandboxStack = request.getfixturevalue("stack")
    c = stack.credentials
    client = PeoplevoxClient(stack.peoplevox_url, c.peoplevox_client_id, c.peoplevox_username, c.peoplevox_password,
                             15.0, attempts=1)
    return Side(PeoplevoxWarehouse(client, CutOff("Picking")), stack.warehouse.set_status, loop)


def order(number: str, *lines: tuple[str, int], **header: Any) -> SalesOrder:
    return SalesOrder(number=number, lines=lines, **header)


def test_a_new_sales_order_is_written_and_read_back_with_its_lines_and_reference(side):
    number = str(next(NUMBERS))
    written = side.run(side.warehouse.upsert(order(number, ("MUG", 2), ("SOCK", 1), address=Address(city="Leeds")),
                                        "ref-1", must_exist=False))
    assert written == Written(True, "New")
    assert side.run(side.warehouse.sales_order(number)) == SalesOrderRow(number, "ref-1", "New")
    held = side.run(side.warehouse.held(number))
    assert (held.status, dict(held.lines), held.header.address.city) == ("New", {"MUG": 2, "SOCK": 1}, "Leeds")


def test_an_update_edits_and_adds_lines_but_never_removes_one(side):
    number = str(next(NUMBERS))
    side.run(side.warehouse.upsert(order(number, ("MUG", 2), ("SOCK", 1)), "ref", must_exist=False))
    assert side.run(side.warehouse.upsert(order(number, ("MUG", 3), ("CAP", 1)), "ref", must_exist=True)).applied
    assert dict(side.run(side.warehouse.held(number)).lines) == {"MUG": 3, "SOCK": 1, "CAP": 1}


def test_an_update_of_a_sales_order_the_warehouse_does_not_hold_is_refused(side):
    with pytest.raises(PermanentError):
        side.run(side.warehouse.upsert(order(str(next(NUMBERS)), ("MUG", 1)), "ref", must_exist=True))


def test_at_the_cut_off_a_write_and_a_cancel_are_answered_with_the_status_and_change_nothing(side):
    number = str(next(NUMBERS))
    side.run(side.warehouse.upsert(order(number, ("MUG", 1)), "ref", must_exist=False))
    side.set_status(number, "Picking")
    assert side.run(side.warehouse.upsert(order(number, ("MUG", 5)), "ref", must_exist=True)) == Written(False, "Picking")
    assert side.run(side.warehouse.cancel(number)) == Written(False, "Picking")
    held = side.run(side.warehouse.held(number))
    assert (held.status, dict(held.lines)) == ("Picking", {"MUG": 1})


def test_a_cancel_cancels_and_a_repeated_cancel_is_done_already(side):
    number = str(next(NUMBERS))
    side.run(side.warehouse.upsert(order(number, ("MUG", 1)), "ref", must_exist=False))
    assert side.run(side.warehouse.cancel(number)) == Written(True, "Cancelled")
    assert side.run(side.warehouse.cancel(number)) == Written(True, "Cancelled")
    assert side.run(side.warehouse.sales_order(number)).status == "Cancelled"


def test_an_unknown_sales_order_reads_as_none_and_a_prefix_finds_an_order_and_its_revisions(side):
    number = str(next(NUMBERS))
    assert side.run(side.warehouse.sales_order(number)) is None
    assert side.run(side.warehouse.held(number)) is None
    for each in (number, f"{number}-R1"):
        side.run(side.warehouse.upsert(order(each, ("MUG", 1)), "ref", must_exist=False))
    assert sorted(row.number for row in side.run(side.warehouse.sales_orders_of(number))) == [number, f"{number}-R1"]

"""Every double and every real client has each method of its port (connectors/ports.py), called the same way.

A fake whose method takes other arguments, or is not awaitable where the port's is, would let the core harness
pass on calls production cannot make. Parameters are compared whole: name, kind, default and annotation (as
written: every module here uses ``from __future__ import annotations``).
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from connectors import ports
from connectors.erp import NetSuiteRest
from connectors.peoplevox import PeoplevoxClient, PeoplevoxWarehouse
from connectors.shopify import ShopifyAdmin
from tests.fakes.erp import FakeErp
from tests.fakes.peoplevox import FakeWarehouse, FakeWarehouseEvents
from tests.fakes.shopify import FakeShop

IMPLEMENTATIONS = [
    (ports.Shop, FakeShop), (ports.Shop, ShopifyAdmin),
    (ports.Warehouse, FakeWarehouse), (ports.Warehouse, PeoplevoxWarehouse),
    (ports.WarehouseEvents, FakeWarehouseEvents), (ports.WarehouseEvents, PeoplevoxClient),
    (ports.Erp, FakeErp), (ports.Erp, NetSuiteRest),
]


def port_methods(port: type) -> dict[str, Any]:
    return {name: member for name, member in vars(port).items()
            if callable(member) and not name.startswith("_")}


def how_called(method: Any) -> str:
    """Awaited, iterated with ``async for``, or called plainly: a port's ``def … -> AsyncIterator`` is an async
    generator in every implementation."""
    if inspect.iscoroutinefunction(method):
        return "awaited"
    if inspect.isasyncgenfunction(method) or "AsyncIterator" in str(inspect.signature(method).return_annotation):
        return "async for"
    return "called"


def parameters(method: Any) -> list[tuple[str, Any, Any, Any]]:
    return [(p.name, p.kind, p.default, p.annotation) for p in inspect.signature(method).parameters.values()]


def test_every_port_is_checked_against_a_fake_and_a_real_client():
    checked = {port for port, _ in IMPLEMENTATIONS}
    declared = {value for value in vars(ports).values()
                if isinstance(value, type) and value.__module__ == ports.__name__ and getattr(value, "_is_protocol", False)}
    assert checked == declared


@pytest.mark.parametrize(("port", "implementation"), IMPLEMENTATIONS,
                         ids=[f"{port.__name__}-{impl.__name__}" for port, impl in IMPLEMENTATIONS])
def test_the_implementation_has_every_method_of_its_port_with_the_same_signature(port, implementation):
    for name, wanted in port_methods(port).items():
        found = getattr(implementation, name, None)
        assert found is not None, f"{implementation.__name__} has no {name}"
        assert how_called(found) == how_called(wanted), f"{implementation.__name__}.{name}"
        assert parameters(found) == parameters(wanted), f"{implementation.__name__}.{name}"

"""The sandboxes' fault plan: one chosen operation fails while every other request goes through.

Real HTTP on loopback against the ERP and Peoplevox sandboxes' own apps (aiohttp's test server), so
the faults come back in each API's own shape through the same middleware the broker tests use.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sandboxes.control import Faults
from sandboxes.erp.oauth import Integration
from sandboxes.erp.server import ErpSandbox, Seed
from sandboxes.peoplevox.server import PeoplevoxSandbox
from sandboxes.peoplevox.warehouse import Warehouse
from sandboxes.shopify.server import root_field

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def erp() -> ErpSandbox:
    return ErpSandbox(Integration("client", "certificate", PUBLIC_PEM), Seed(items={"MUG": ""}, customers=[]))


async def _session(app: Any, steps: Any) -> Any:
    async with TestClient(TestServer(app)) as client:
        return await steps(client)


def run(app: Any, steps: Any) -> Any:
    return asyncio.run(_session(app, steps))


def test_one_erp_operation_fails_as_planned_and_every_other_request_goes_through():
    sandbox = erp()

    async def steps(client: TestClient) -> list[tuple[str, int, Any]]:
        planned = await client.put("/_sandbox/faults", json={"fail_operation": {"PUT creditMemo": [400, None, 503]}})
        assert planned.status == 200 and (await planned.json())["fail_operation"] == {
            "PUT creditMemo": [400, None, 503]}
        seen = []
        for record_type in ("salesOrder", "creditMemo", "salesOrder", "creditMemo", "creditMemo", "creditMemo"):
            response = await client.put(f"/services/rest/record/v1/{record_type}/eid:1", json={})
            seen.append((record_type, response.status, await response.json()))
        return seen

    seen = run(sandbox.app(), steps)
    statuses = [(record_type, status) for record_type, status, _ in seen]
    # 401: the sandbox's own answer to a request without a token, i.e. the request was not faulted.
    assert statuses == [("salesOrder", 401), ("creditMemo", 400), ("salesOrder", 401), ("creditMemo", 401),
                        ("creditMemo", 503), ("creditMemo", 401)]
    refused = seen[1][2]
    assert refused["status"] == 400 and refused["o:errorDetails"][0]["o:errorCode"] == "INVALID_CONTENT", \
        "a refusal in NetSuite's own problem-details shape"
    assert seen[4][2]["o:errorDetails"][0]["o:errorCode"] == "UNEXPECTED_ERROR"
    faulted = [(c.operation, c.status, c.fault) for c in sandbox.control.calls if c.fault]
    assert faulted == [("PUT creditMemo", 400, "status 400"), ("PUT creditMemo", 503, "status 503")]
    assert sandbox.control.faults.fail_operation == {"PUT creditMemo": []}


def test_a_peoplevox_import_fails_after_the_one_let_through_with_iis_error_pages():
    sandbox = PeoplevoxSandbox(Warehouse())
    sandbox.control.faults.update({"fail_operation": {"SaveData": [None, 500, 503]}})

    async def steps(client: TestClient) -> list[tuple[int, str]]:
        answers = []
        for action in ("SaveData", "GetData", "SaveData", "SaveData", "SaveData"):
            response = await client.post("/editsync/resources/integrationservicev4.asmx", data="<x/>",
                                         headers={"SOAPAction": f'"http://www.peoplevox.net/{action}"'})
            answers.append((response.status, response.content_type))
        return answers

    answers = run(sandbox.app(), steps)
    # The envelope is not a real request, so what gets through is the service's own SOAP fault (text/xml).
    assert answers[2:4] == [(500, "text/html"), (503, "text/html")], "IIS's HTML error pages"
    assert [content_type for _, content_type in (answers[0], answers[1], answers[4])] == ["text/xml"] * 3
    assert [(c.operation, c.fault) for c in sandbox.control.calls] == [
        ("SaveData", None), ("GetData", None), ("SaveData", "status 500"), ("SaveData", "status 503"),
        ("SaveData", None)]


def test_an_operation_plan_is_checked_and_replaced_whole():
    faults = Faults()
    faults.update({"fail_operation": {"inventoryAdjustQuantities": [500, 500]}})
    faults.update({"fail_operation": {"order": [None, 502]}})
    assert faults.fail_operation == {"order": [None, 502]}
    faults.update({"fail_operation": {}})
    assert faults.fail_operation == {}
    for wrong in ({"order": 500}, {"order": ["500"]}, {"order": [200]}, {"order": [True]}, ["order"]):
        with pytest.raises(ValueError, match="fail_operation"):
            faults.update({"fail_operation": wrong})


def test_a_shopify_call_is_named_by_the_root_field_it_runs_whatever_the_client_called_it():
    mutation = "mutation EditsyncAdjust($input: InventoryAdjustQuantitiesInput!) { inventoryAdjustQuantities(" \
               "input: $input) { userErrors { message } } }"
    assert root_field(mutation, None) == "inventoryAdjustQuantities"
    assert root_field("query EditsyncOrder($id: ID!) { order(id: $id) { id } }", None) == "order"
    assert root_field("{ orders(first: 1) { nodes { id } } }", None) == "orders"
    two = "query A { order(id: 1) { id } } query B { node(id: 1) { id } }"
    assert root_field(two, "B") == "node" and root_field(two, None) is None
    assert root_field("not graphql {", None) is None

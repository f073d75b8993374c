"""The OpenAPI 3.1 document of editsync's HTTP routes for other programs, served at ``GET /openapi.json``.

Webhooks, health, readiness, metrics and the exceptions API; not the inbox's HTML pages (they are for
people) nor the tests' fault route. Bodies are described by the models the views answer with
(streams/web/answers.py, streams/inbox/answers.py) and the ones the API reads (``ActionRequest``,
``ReleaseRequest``): their JSON schemas (draft 2020-12, which OpenAPI 3.1 uses) are the components. The
paths are written here, once, beside each other, because they are one document;
tests/component/test_openapi.py checks every answer of a running server against it.

    python -m streams.wiring.openapi > openapi.json     (the same document, without a server)
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any, Literal

from pydantic import BaseModel

from streams.inbox import answers as api_answers
from streams.inbox.api import MAX_LIMIT, MAX_OFFSET, OWNERS, STATES, ActionRequest, ReleaseRequest
from streams.ingress import webhooks
from streams.web import answers as web_answers

PATH = "/openapi.json"
BEARER: list[dict[str, list[str]]] = [{"bearerToken": []}]
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
         "description": "Why the request was refused, in words."}

RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    web_answers.WebhookTaken, web_answers.CallbackTaken, web_answers.Alive, web_answers.AgentCrashed,
    web_answers.Readiness, api_answers.ExceptionPage, api_answers.ExceptionView, api_answers.ActionAccepted,
    api_answers.OrderList, api_answers.OrderHistory, api_answers.ReplayAccepted)
REQUEST_MODELS: tuple[type[BaseModel], ...] = (ActionRequest, ReleaseRequest)


def ref(model: type[BaseModel] | str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model if isinstance(model, str) else model.__name__}"}


def answer(description: str, model: type[BaseModel] | str = "Error") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(model)}}}


def refused(*statuses: int, **why: str) -> dict[str, Any]:
    """Error answers: each status with why it is given (``why`` keyed ``s401`` and so on)."""
    return {str(status): answer(why[f"s{status}"]) for status in statuses}


def query(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


def in_path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


UNAUTHORISED = "No bearer token, or not the API token."
UNACKED = "The broker did not acknowledge the request in time; nothing was changed, try again."


def components() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR}
    modes: tuple[tuple[tuple[type[BaseModel], ...], Literal["serialization", "validation"]], ...] = (
        (RESPONSE_MODELS, "serialization"), (REQUEST_MODELS, "validation"))
    for models, mode in modes:
        for model in models:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
    return {"schemas": schemas, "securitySchemes": {
        "bearerToken": {"type": "http", "scheme": "bearer", "description": (
            "The API token: EDITSYNC_API_TOKEN, or else the token editsync made in the data dir's api-token "
            "file at its first start. The same token signs people in to the inbox.")},
        "peoplevoxToken": {"type": "apiKey", "in": "query", "name": "token", "description": (
            "The callback token (EDITSYNC_PEOPLEVOX_CALLBACK_TOKEN) in the subscription URL editsync gives "
            "Peoplevox.")}}}


def shopify_webhook() -> dict[str, Any]:
    headers = [(webhooks.HMAC_HEADER, True, "Base64 HMAC-SHA256 of the raw body with the app's client secret."),
               (webhooks.TOPIC_HEADER, True, "The webhook topic, such as orders/edited."),
               (webhooks.SHOP_HEADER, True, "The shop, such as example.myshopify.com."),
               (webhooks.API_VERSION_HEADER, False, ""), (webhooks.WEBHOOK_ID_HEADER, False, ""),
               (webhooks.EVENT_ID_HEADER, False, "Shared by duplicates of one event."),
               (webhooks.TRIGGERED_AT_HEADER, False, "")]
    return {"post": {
        "operationId": "shopifyWebhook", "tags": ["webhooks"], "summary": "A Shopify webhook",
        "description": (
            "Verified against the signature before anything in it is trusted. A signed body that cannot be "
            "keyed by an order is accepted and dead-lettered (dlq.v1) with the reason; nothing a signed body "
            "contains is answered 5xx. Shopify header values must be printable ASCII of at most "
            f"{webhooks.MAX_HEADER_CHARS} characters."),
        "security": [],
        "parameters": [{"name": name, "in": "header", "required": required, "description": description,
                        "schema": {"type": "string"}} for name, required, description in headers],
        "requestBody": {"required": True, "description": "The payload exactly as Shopify signed it.",
                        "content": {"application/json": {"schema": {}}}},
        "responses": {"200": answer("Acknowledged by the broker (Shopify stops retrying).", web_answers.WebhookTaken),
                      **refused(400, 401, 408, 413, 503, s400="A Shopify header missing or not allowed, or a "
                                "body that could not be read.", s401="Missing or wrong signature: nothing written.",
                                s408="The body did not arrive within EDITSYNC_WEB_READ_TIMEOUT_S.",
                                s413="The body is over EDITSYNC_WEBHOOK_MAX_BODY_BYTES.",
                                s503="Not acknowledged by the broker in time: Shopify retries.")}}}


def peoplevox_callback() -> dict[str, Any]:
    operation = {
        "tags": ["webhooks"], "summary": "A Peoplevox status callback",
        "description": ("Peoplevox fills in the subscription's URL template; the data is in the query string. "
                        "Written to peoplevox.events.raw; the status agent re-reads the sales order before "
                        "acting, and a callback naming no usable sales order becomes a dead letter."),
        "security": [{"peoplevoxToken": []}],
        "parameters": [query("event", "The event type (default SalesOrderStatusChanges)."),
                       query("order", "The sales order number."), query("status", "Its new status."),
                       query("at", "When it changed.")],
        "responses": {"200": answer("Acknowledged by the broker.", web_answers.CallbackTaken),
                      **refused(401, 503, s401="No callback token, or not the one editsync gave.", s503=UNACKED)}}
    return {"get": {"operationId": "peoplevoxCallback", **operation},
            "post": {"operationId": "peoplevoxCallbackPost", **operation}}


def health() -> dict[str, Any]:
    return {
        "/healthz": {"get": {
            "operationId": "health", "tags": ["operations"], "summary": "Liveness", "security": [],
            "responses": {"200": answer("The process is alive.", web_answers.Alive),
                          "503": answer("An agent crashed: replace this worker (it exits by itself soon).",
                                        web_answers.AgentCrashed)}}},
        "/readyz": {"get": {
            "operationId": "ready", "tags": ["operations"], "summary": "Readiness", "security": [],
            "responses": {"200": answer("The broker answers and every agent runs.", web_answers.Readiness),
                          "503": answer("Not ready; which part is not.", web_answers.Readiness)}}},
        "/metrics": {"get": {
            "operationId": "metrics", "tags": ["operations"], "summary": "Prometheus metrics", "security": [],
            "responses": {"200": {"description": "The Prometheus text exposition format.",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        PATH: {"get": {
            "operationId": "openapi", "tags": ["operations"], "summary": "This document", "security": [],
            "responses": {"200": {"description": "The OpenAPI document of these routes.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }


def exceptions_api() -> dict[str, Any]:
    exception_id = in_path("exception_id", "As listed by GET /exceptions.")
    order_id = in_path("order_id", "The Shopify order id (numeric).")
    actions: dict[str, Any] = {
        f"/exceptions/{{exception_id}}/{action}": {"post": {
            "operationId": f"{action}Exception", "tags": ["exceptions"], "summary": summary,
            "parameters": [exception_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref(ActionRequest)}}},
            "responses": {
                "202": answer("The order-state agent has the request (acknowledged by the broker); it publishes the "
                              "exception's new state.", api_answers.ActionAccepted),
                **refused(400, 401, 404, 409, 503, s400=f"Not JSON with 'by'{note}.", s401=UNAUTHORISED,
                          s404="No such exception.", s409="The exception's state does not allow it.", s503=UNACKED)}}}
        for action, summary, note in (
            ("retry", "Send the failed command again, or re-check the order", ""),
            ("resolve", "Close it as fixed", ", or no 'note' (required to resolve)"),
            ("ignore", "Close it without fixing", ", or no 'note' (required to ignore)"))}
    return {
        "/exceptions": {"get": {
            "operationId": "listExceptions", "tags": ["exceptions"], "summary": "Exceptions, oldest first",
            "parameters": [
                query("owner", f"Comma-separated, among {', '.join(OWNERS)}."), query("type", "Comma-separated."),
                query("state", f"Comma-separated, among {', '.join(STATES)}."),
                query("older_than", "First seen longer ago than this duration (90s, 30m, 2h, 1d; at most 36500d)."),
                query("newer_than", "First seen within this duration."), query("order_id", "One order's."),
                query("limit", f"At most {MAX_LIMIT} (default 50).", pattern="^[0-9]+$"),
                query("offset", f"Default 0, at most {MAX_OFFSET}.", pattern="^[0-9]+$")],
            "responses": {"200": answer("A page of exceptions.", api_answers.ExceptionPage),
                          **refused(400, 401, s400="A filter, limit or offset not allowed.", s401=UNAUTHORISED)}}},
        "/exceptions/{exception_id}": {"get": {
            "operationId": "getException", "tags": ["exceptions"], "summary": "One exception",
            "parameters": [exception_id],
            "responses": {"200": answer("The exception in plain words, with its runbook link.",
                                        api_answers.ExceptionView),
                          **refused(401, 404, s401=UNAUTHORISED, s404="No such exception.")}}},
        **actions,
        "/orders": {"get": {
            "operationId": "listOrders", "tags": ["orders"], "summary": "Orders whose timeline changed in a range",
            "parameters": [query("changed_since", "ISO 8601 time, or a duration meaning that long ago (2h).", True),
                           query("changed_until", "ISO 8601 time or a duration; default now.")],
            "responses": {"200": answer("The orders, with when each last changed.", api_answers.OrderList),
                          **refused(400, 401, s400="changed_since missing, or a time not understood.",
                                    s401=UNAUTHORISED)}}},
        "/orders/{order_id}": {"get": {
            "operationId": "getOrder", "tags": ["orders"], "summary": "An order's exceptions and timeline",
            "parameters": [order_id],
            "responses": {"200": answer("Every event, Shopify read, Peoplevox status, command, result, exception "
                                        "and person's action, in time order.", api_answers.OrderHistory),
                          **refused(401, 404, s401=UNAUTHORISED, s404="Nothing about this order in the store.")}}},
        "/orders/{order_id}/replay": {"post": {
            "operationId": "replayOrder", "tags": ["orders"], "summary": "Read and reconcile an order again",
            "parameters": [order_id],
            "responses": {"202": answer("The order-state agent has the request.", api_answers.ReplayAccepted),
                          **refused(401, 503, s401=UNAUTHORISED, s503=UNACKED)}}},
        "/orders/{order_id}/release": {"post": {
            "operationId": "releaseOrder", "tags": ["orders"],
            "summary": "Send an order held in its edit window to the warehouse now",
            "description": "An order not held (released already, or never) is left as it is.",
            "parameters": [order_id],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": ref(ReleaseRequest)}}},
            "responses": {"202": answer("The order-state agent has the request.", api_answers.ReplayAccepted),
                          **refused(400, 401, 503, s400="The body is not JSON with 'by'.", s401=UNAUTHORISED,
                                    s503=UNACKED)}}},
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "editsync", "version": version("editsync"), "description": (
            "editsync's HTTP routes for other programs: Shopify webhooks and Peoplevox callbacks, health, "
            "readiness and metrics, and the exceptions API (bearer token). Every path also answers HEAD as its "
            "GET without a body; another method is 405, another path 404.")},
        "security": BEARER,
        "tags": [{"name": "webhooks"}, {"name": "operations"}, {"name": "exceptions"}, {"name": "orders"}],
        "paths": {"/webhooks/shopify": shopify_webhook(), "/webhooks/peoplevox": peoplevox_callback(),
                  **health(), **exceptions_api()},
        "components": components(),
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2))

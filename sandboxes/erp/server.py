"""The ERP sandbox: NetSuite's REST record API, for the records editsync writes.

Shapes follow Oracle NetSuite's "REST Web Services" guide (SuiteTalk REST,
record API v1): records at ``/services/rest/record/v1/<recordType>/<id>``;
``eid:<externalId>`` addresses a record by external id, and ``PUT`` on it is
an upsert (create or replace) answered ``204 No Content`` with a
``Location`` header naming the internal id; ``GET`` answers the record with
``id`` and ``externalId``; errors are RFC 9457 problem details with NetSuite's
``o:errorDetails`` (``detail``, ``o:errorCode``); OAuth 2.0 bearer tokens in
``Authorization``; and the account's concurrency limit (default 5 requests at
once) is enforced: one more is refused with 429 ``CONCURRENCY_LIMIT_EXCEEDED``.

Record types: ``salesOrder``; ``creditMemo`` and ``customerPayment`` must
name an existing sales order in ``createdFrom`` (``{"externalId": ...}``), as
NetSuite refuses an invalid reference.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from aiohttp import web

from sandboxes.control import Control

RECORD_TYPES = ("salesOrder", "creditMemo", "customerPayment", "customerRefund")
LINKED = ("creditMemo", "customerPayment", "customerRefund")
PROBLEM_TYPES = {400: "15.5.1", 401: "15.5.2", 404: "15.5.5", 429: "6.5.4", 500: "15.6.1", 502: "15.6.3",
                 503: "15.6.4"}


def problem(status: int, title: str, detail: str, code: str) -> web.Response:
    section = PROBLEM_TYPES.get(status, "15.6.1")
    rfc = "https://tools.ietf.org/html/rfc6585#section-4" if status == 429 else \
        f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{section}"
    return web.json_response({"type": rfc, "title": title, "status": status,
                              "o:errorDetails": [{"detail": detail, "o:errorCode": code}]}, status=status,
                             content_type="application/vnd.oracle.resource+json")


def error_response(status: int) -> web.Response:
    if status == 429:
        return problem(429, "Too Many Requests", "Request blocked by the concurrency limit of this account.",
                       "CONCURRENCY_LIMIT_EXCEEDED")
    return problem(status, "Internal Server Error", "An unexpected error occurred. Error ID: sandbox",
                   "UNEXPECTED_ERROR")


class ErpSandbox:
    def __init__(self, token: str = "netsuite-sandbox-token", concurrency_limit: int = 5,
                 seed: int | None = None) -> None:
        self.token = token
        self.concurrency_limit = concurrency_limit
        self.records: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in RECORD_TYPES}
        self.writes = 0
        self._by_external: dict[tuple[str, str], int] = {}
        self._ids = itertools.count(1001)
        self._active = 0
        self.control = Control("erp", error_response, self.state, lambda r: f"{r.method} {r.match_info.get('type')}",
                               seed)

    def state(self) -> dict[str, Any]:
        return {t: {str(r["externalId"]): r for r in records.values()} for t, records in self.records.items()}

    def by_external_id(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        internal = self._by_external.get((record_type, external_id))
        return None if internal is None else self.records[record_type][internal]

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._concurrency, self.control.middleware])
        base = "/services/rest/record/v1/{type}/{ref}"
        app.add_routes([web.put(base, self.upsert), web.get(base, self.get), *self.control.routes()])
        return app

    @web.middleware
    async def _concurrency(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        if self._active >= self.concurrency_limit:
            return error_response(429)
        self._active += 1
        try:
            await asyncio.sleep(0.005)  # a record write is never instant; lets concurrent requests overlap
            return await handler(request)
        finally:
            self._active -= 1

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _resolve(self, request: web.Request) -> tuple[str, str | None, int | None] | web.Response:
        """Authorise, then address: (record type, external id, internal id), or the error answer."""
        if not self._authorised(request):
            return _unauthorised()
        record_type, ref = request.match_info["type"], request.match_info["ref"]
        if record_type not in RECORD_TYPES:
            return problem(404, "Not Found", f"Record type '{record_type}' does not exist.", "INVALID_RECORD_TYPE")
        if ref.startswith("eid:"):
            external = ref[4:]
            return record_type, external, self._by_external.get((record_type, external))
        if ref.isdigit() and int(ref) in self.records[record_type]:
            return record_type, None, int(ref)
        return record_type, None, None

    async def get(self, request: web.Request) -> web.Response:
        resolved = self._resolve(request)
        if isinstance(resolved, web.Response):
            return resolved
        record_type, _, internal = resolved
        if internal is None:
            return problem(404, "Not Found", "The record instance does not exist. Provide a valid record instance ID.",
                           "NONEXISTENT_ID")
        return web.json_response(self.records[record_type][internal])

    async def upsert(self, request: web.Request) -> web.Response:
        resolved = self._resolve(request)
        if isinstance(resolved, web.Response):
            return resolved
        record_type, external, internal = resolved
        if external is None:
            return problem(400, "Bad Request", "Upsert requires an external ID: use eid:<externalId>.",
                           "INVALID_ID")
        try:
            body = await request.json()
        except ValueError:
            return problem(400, "Bad Request", "Invalid content in the request body.", "INVALID_CONTENT")
        if not isinstance(body, dict):
            return problem(400, "Bad Request", "Invalid content in the request body.", "INVALID_CONTENT")
        if record_type in LINKED:
            created_from = (body.get("createdFrom") or {}).get("externalId")
            if created_from is None or ("salesOrder", str(created_from)) not in self._by_external:
                return problem(400, "Bad Request", "Invalid value for the resource or sub-resource field "
                                                   "'createdFrom'. Provide a valid value.", "USER_ERROR")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if internal is None:
            internal = next(self._ids)
            self._by_external[(record_type, external)] = internal
            created = now
        else:
            created = self.records[record_type][internal]["createdDate"]
        self.records[record_type][internal] = {**body, "id": str(internal), "externalId": external,
                                               "createdDate": created, "lastModifiedDate": now}
        self.writes += 1
        location = f"{request.url.origin()}/services/rest/record/v1/{record_type}/{internal}"
        return web.Response(status=204, headers={"Location": location})


def _unauthorised() -> web.Response:
    return problem(401, "Unauthorized", "Invalid login attempt. For more details, see the Login Audit Trail in the "
                                        "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit "
                                        "Trail.", "INVALID_LOGIN")

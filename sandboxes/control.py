"""What every sandbox server shares: a call log, fault injection and the /_sandbox endpoints.

Faults are what production APIs do on a bad day: added latency, 5xx bursts,
throttling (each sandbox answers it in its own API's shape), requests that
hang until the client gives up, and being down (connections dropped) for a
while. Deterministic counts (``fail_next``) make tests exact; rates make the
demo realistic. Everything under ``/_sandbox/`` is the sandbox's own control
surface and is never faulted or logged.

A bad day is often narrower than a whole API: one endpoint failing while the
rest answers (NetSuite refusing credit memos, Shopify's inventory mutation
erroring while reads work). ``fail_operation`` fails chosen calls only:
``{"fail_operation": {"PUT creditMemo": [400]}}`` answers the next credit
memo upsert with NetSuite's 400 and lets every other request through. The
key is the operation each sandbox logs as ``Call.operation`` (Shopify: the
root field of the GraphQL operation, e.g. ``inventoryAdjustQuantities`` or
``order``; Peoplevox: the SOAP action, e.g. ``SaveData``; the ERP: method
and record type as the client spelled it in the path, e.g. ``PUT
creditMemo``, ``POST suiteql``); the list is the statuses of that
operation's next requests in order, each answered with the sandbox's own
error for that status (NetSuite's problem details with ``o:errorDetails``,
IIS's HTML error pages, Shopify's JSON ``errors``), and ``null`` leaves one
request to the other faults (``{"SaveData": [null, 503, 503]}``: the next
import goes through, the two after it fail). Setting ``fail_operation`` replaces
the whole plan; ``{}`` clears it. It is applied after ``down_for_s`` and
latency and before ``fail_next`` and the rates.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorResponse = Callable[[int], web.StreamResponse]


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0  # share of requests answered with a 5xx
    throttle_rate: float = 0.0  # share answered as the API throttles
    timeout_rate: float = 0.0  # share that hang for hang_s, then drop
    hang_s: float = 30.0
    timeout_after_handling: bool = False  # a timed-out request was still carried out; only its answer is lost
    fail_next: list[int] = field(default_factory=list)  # exact statuses for the next requests (429 = throttle)
    # per operation (``Call.operation``): statuses of its next requests, None lets one through
    fail_operation: dict[str, list[int | None]] = field(default_factory=dict)
    down_until: float = 0.0  # wall clock (epoch s): connections dropped until then

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name == "down_for_s":
                self.down_until = time.time() + float(value)
            elif name == "fail_operation":
                self.fail_operation = _operation_plan(value)
            elif name in self.__dataclass_fields__:
                setattr(self, name, type(getattr(self, name))(value))
            else:
                raise ValueError(f"unknown fault {name!r}")


@dataclass
class Call:
    at: float
    method: str
    path: str
    operation: str | None
    status: int
    duration_ms: float
    fault: str | None = None


class Control:
    """Fault plan and call log of one sandbox, plus the middleware that applies them."""

    def __init__(self, name: str, error_response: ErrorResponse, state: Callable[[], Any],
                 operation_of: Callable[[web.Request], str | None] = lambda request: None,
                 seed: int | None = None) -> None:
        self.name = name
        self.faults = Faults()
        self.calls: deque[Call] = deque(maxlen=50_000)
        self._error_response = error_response
        self._state = state
        self._operation_of = operation_of
        self._random = random.Random(seed)

    def calls_to(self, operation: str | None = None, path: str | None = None) -> list[Call]:
        return [c for c in self.calls if (operation is None or c.operation == operation)
                and (path is None or c.path == path)]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        started = time.monotonic()
        await request.read()  # the operation may be in the body (SOAPAction header, GraphQL document)
        operation = self._operation_of(request)
        fault, response = await self._fault(operation)
        if fault == "timeout":
            if self.faults.timeout_after_handling:
                await handler(request)
            await asyncio.sleep(self.faults.hang_s)
            fault = "down"
        if fault == "down":
            self._record(request, operation, 0, started, fault)
            if request.transport is not None:  # None: the client gave up first and closed it
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp drops the connection without an answer
        if response is None:
            response = await handler(request)
        self._record(request, operation, response.status, started, fault)
        return response

    async def _fault(self, operation: str | None) -> tuple[str | None, web.StreamResponse | None]:
        faults = self.faults
        if time.time() < faults.down_until:
            return "down", None
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        planned = faults.fail_operation.get(operation) if operation is not None else None
        status = planned.pop(0) if planned else None
        if status is not None:
            return f"status {status}", self._error_response(status)
        if faults.fail_next:
            status = faults.fail_next.pop(0)
            return f"status {status}", self._error_response(status)
        roll = self._random.random()
        if roll < faults.timeout_rate:
            return "timeout", None
        roll -= faults.timeout_rate
        if roll < faults.throttle_rate:
            return "throttled", self._error_response(429)
        roll -= faults.throttle_rate
        if roll < faults.error_rate:
            return "error", self._error_response(self._random.choice((500, 502, 503)))
        return None, None

    def _record(self, request: web.Request, operation: str | None, status: int, started: float,
                fault: str | None) -> None:
        self.calls.append(Call(time.time(), request.method, request.path, operation, status,
                               round((time.monotonic() - started) * 1000, 2), fault))

    def routes(self) -> list[web.RouteDef]:
        async def get_calls(request: web.Request) -> web.Response:
            return web.json_response([asdict(c) for c in self.calls])

        async def clear_calls(request: web.Request) -> web.Response:
            self.calls.clear()
            return web.json_response({"cleared": True})

        async def get_faults(request: web.Request) -> web.Response:
            return web.json_response(asdict(self.faults))

        async def set_faults(request: web.Request) -> web.Response:
            try:
                self.faults.update(await request.json())
            except (ValueError, TypeError) as error:
                return web.json_response({"error": str(error)}, status=400)
            return web.json_response(asdict(self.faults))

        async def get_state(request: web.Request) -> web.Response:
            return web.json_response(self._state(), dumps=_dumps)

        return [web.get("/_sandbox/calls", get_calls), web.delete("/_sandbox/calls", clear_calls),
                web.get("/_sandbox/faults", get_faults), web.put("/_sandbox/faults", set_faults),
                web.get("/_sandbox/state", get_state)]


def _operation_plan(value: Any) -> dict[str, list[int | None]]:
    """``{operation: [status or None, ...]}``, checked: a typo must fail the test that set it, not pass it."""
    if not isinstance(value, dict):
        raise ValueError("fail_operation must be an object: {operation: [status or null, ...]}")
    plan: dict[str, list[int | None]] = {}
    for operation, statuses in value.items():
        if not isinstance(statuses, list) or not all(
                s is None or (isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599) for s in statuses):
            raise ValueError(f"fail_operation[{operation!r}] must be a list of 4xx/5xx statuses or null")
        plan[str(operation)] = list(statuses)
    return plan


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)

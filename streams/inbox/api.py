"""The exceptions API: ``GET /exceptions``, ``GET /exceptions/{id}``, ``POST /exceptions/{id}/retry|resolve|ignore``,
``GET /orders``, ``GET /orders/{order_id}`` (the timeline) and ``POST /orders/{order_id}/replay``.

Reads come from the exception store; actions go to the order-state agent as
typed order inputs on ``editsync.order-inputs`` (keyed by order id, so they
are decided in order with everything else about the order), which publishes
the exception's new state. Every call needs the bearer token (401 otherwise),
and every body is checked for the process's secrets before it leaves.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web as aioweb
from aiohttp.web import Request
from faust import web as faust_web
from pydantic import BaseModel, Field, ValidationError

from streams.context import Context
from streams.core.details import ExceptionState
from streams.core.inputs import OrderInput, PersonAction, ReleaseNow, Replay
from streams.core.model import Owner
from streams.inbox import words
from streams.inbox.answers import (
    ActionAccepted,
    ExceptionPage,
    ExceptionView,
    OrderChanged,
    OrderHistory,
    OrderList,
    ReplayAccepted,
    TimelineView,
)
from streams.inbox.auth import bearer_ok
from streams.inbox.projection import ExceptionRow, OrderSeen, TimelineEntry
from streams.inbox.store import ExceptionQuery, Store
from streams.inbox.words import iso
from streams.runtime.clock import epoch_ms, now_ms
from streams.runtime.logs import KnownSecrets

OWNERS = tuple(owner.value for owner in Owner if owner is not Owner.UNKNOWN)
STATES = tuple(state.value for state in ExceptionState if state is not ExceptionState.UNKNOWN)
ALLOWED_FROM = {"retry": {ExceptionState.OPEN}, "resolve": {ExceptionState.OPEN, ExceptionState.RETRYING},
                "ignore": {ExceptionState.OPEN, ExceptionState.RETRYING}}
DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d)?\s*$")
UNIT_MS = {None: 1000, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_LIMIT = 200
# The store's integers are 64-bit (SQLite INTEGER, PostgreSQL BIGINT): a larger offset, or a time a longer duration
# ago, would overflow there. A century reaches back before anything the store holds.
MAX_OFFSET = 2**63 - 1
MAX_DURATION_MS = 36_500 * UNIT_MS["d"]
MIN_SECRET_LENGTH = 8  # shorter "secrets" (a development value like "x") would only garble every answer


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ReleaseRequest(BaseModel):
    by: str = Field(min_length=1, max_length=200, description="Who is acting: a name or e-mail address.")


class ActionRequest(ReleaseRequest):
    note: str | None = Field(None, max_length=2000)


def duration_ms(text: str) -> int:
    match = DURATION.match(text)
    if not match:
        raise Refused(400, f"not a duration: {text!r} (e.g. 90s, 30m, 2h, 1d)")
    duration = int(match.group(1)) * UNIT_MS[match.group(2)]
    if duration > MAX_DURATION_MS:
        raise Refused(400, f"a duration of at most 36500d, not {text!r}")
    return duration


def time_ms(text: str) -> int:
    """An ISO 8601 time (UTC unless it says otherwise), or a duration meaning that long ago."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now_ms() - duration_ms(text)
    return epoch_ms(moment) or 0


def _choices(params: Mapping[str, str], name: str, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    values = tuple(v.strip().upper() for v in params.get(name, "").split(",") if v.strip())
    if allowed is not None and not set(values) <= set(allowed):
        raise Refused(400, f"{name} must be among {', '.join(allowed)}")
    return values


def exception_query(params: Mapping[str, str], now: int) -> ExceptionQuery:
    """``owner``, ``type``, ``state`` (comma-separated), ``older_than``/``newer_than`` (durations),
    ``order_id``, ``limit`` (at most 200) and ``offset``."""
    try:
        limit = int(params.get("limit", "50"))
        offset = int(params.get("offset", "0"))
    except ValueError:
        raise Refused(400, "limit and offset must be whole numbers") from None
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= MAX_OFFSET:
        raise Refused(400, f"limit must be 1..{MAX_LIMIT} and offset 0..{MAX_OFFSET}")
    older, newer = params.get("older_than"), params.get("newer_than")
    return ExceptionQuery(owners=_choices(params, "owner", OWNERS), types=_choices(params, "type", None),
                          states=_choices(params, "state", STATES), order_id=params.get("order_id") or None,
                          first_seen_before=now - duration_ms(older) if older else None,
                          first_seen_after=now - duration_ms(newer) if newer else None, limit=limit, offset=offset)


def runbook_link(exception_type: str) -> str:
    return f"/inbox/runbook#{exception_type.lower()}"


def exception_view(row: ExceptionRow, now: int) -> ExceptionView:
    return ExceptionView(exception_id=row.exception_id, order_id=row.order_id, order_name=row.order_name,
                         type=row.type, title=words.title(row.type), owner=row.owner,
                         team=words.TEAMS.get(row.owner, row.owner), severity=row.severity, state=row.state,
                         first_seen=iso(row.first_seen), last_seen=iso(row.last_seen),
                         age_s=max(0, (now - row.first_seen) // 1000), summary=row.summary,
                         what_changed=words.what_changed(row.detail), detail=row.detail.wire(),
                         suggested_action=row.suggested_action, actor=row.actor, note=row.note,
                         runbook=runbook_link(row.type))


def entry_view(entry: TimelineEntry) -> TimelineView:
    return TimelineView(at=iso(entry.at), kind=entry.kind, title=entry.title, source=entry.source,
                        detail=entry.detail)


@dataclass
class Inbox:
    """What the API and the web pages share: queries over the store and actions through the broker."""

    store: Store
    publish: Callable[[str, OrderInput], Any]  # awaitable: send an order input, acknowledged
    secrets: KnownSecrets

    async def read(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(call, *args)

    async def exception(self, exception_id: str) -> ExceptionRow:
        row = await self.read(self.store.get_exception, exception_id)
        if row is None:
            raise Refused(404, "no such exception")
        return row

    async def act(self, exception_id: str, action: str, request: ActionRequest) -> ExceptionRow:
        row = await self.exception(exception_id)
        if action != "retry" and not (request.note or "").strip():
            raise Refused(400, f"a note is required to {action}")
        if row.state not in ALLOWED_FROM[action]:
            raise Refused(409, f"cannot {action} an exception that is {row.state.lower()}")
        person = PersonAction(action=action, exception_id=exception_id, actor=request.by.strip(),
                              note=(request.note or "").strip() or None)
        await self._send(row.order_id, person)
        return row

    async def replay(self, order_id: str) -> None:
        await self._send(order_id, Replay())

    async def release(self, order_id: str, by: str) -> None:
        await self._send(order_id, ReleaseNow(actor=by.strip()))

    async def _send(self, order_id: str, message: OrderInput) -> None:
        try:
            await self.publish(order_id, message)
        except Exception as error:
            raise Refused(503, "the broker did not acknowledge the request; nothing was changed, try again") \
                from error

    async def order(self, order_id: str) -> tuple[OrderSeen | None, list[ExceptionRow], list[TimelineEntry]]:
        seen = await self.read(self.store.order, order_id)
        rows = (await self.read(self.store.list_exceptions, ExceptionQuery(order_id=order_id, limit=MAX_LIMIT))).items
        entries = await self.read(self.store.timeline, order_id)
        if seen is None and not rows and not entries:
            raise Refused(404, "no such order in the exception store")
        return seen, rows, entries

    def scrub(self, text: str) -> str:
        """The last guard: no secret this process knows leaves in a response, whatever a system answered."""
        return self.secrets.hide(text)

    def json(self, body: BaseModel | dict[str, Any], status: int = 200) -> aioweb.Response:
        plain = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        return aioweb.Response(text=self.scrub(json.dumps(plain, default=str)), status=status,
                               content_type="application/json")


def register(ctx: Context, inbox: Inbox) -> None:
    app = ctx.app
    token = ctx.settings.api_token_value()

    def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
        async def checked(view: Any, request: Request, **kwargs: Any) -> aioweb.Response:
            if not bearer_ok(request.headers.get("Authorization"), token):
                return inbox.json({"error": "a valid bearer token is required"}, status=401)
            try:
                return await handler(request, **kwargs)
            except Refused as refused:
                return inbox.json({"error": refused.message}, status=refused.status)
        return checked

    async def list_exceptions(request: Request) -> aioweb.Response:
        now = now_ms()
        page = await inbox.read(inbox.store.list_exceptions, exception_query(request.query, now))
        following = page.offset + page.limit
        next_url = (str(request.rel_url.update_query(offset=str(following)))
                    if following < page.total else None)
        return inbox.json(ExceptionPage(items=[exception_view(row, now) for row in page.items], total=page.total,
                                        limit=page.limit, offset=page.offset, next=next_url))

    async def show_exception(request: Request, exception_id: str) -> aioweb.Response:
        return inbox.json(exception_view(await inbox.exception(exception_id), now_ms()))

    async def act(request: Request, exception_id: str, action: str) -> aioweb.Response:
        try:
            body = ActionRequest.model_validate_json(await request.read() or b"{}")
        except ValidationError as error:
            raise Refused(400, "body must be JSON with 'by' (who) and 'note': "
                               + "; ".join(e["msg"] for e in error.errors())) from None
        row = await inbox.act(exception_id, action, body)
        return inbox.json(ActionAccepted(status="accepted", action=action,
                                         exception=exception_view(row, now_ms())), status=202)

    async def list_orders(request: Request) -> aioweb.Response:
        since = request.query.get("changed_since")
        if not since:
            raise Refused(400, "changed_since is required (ISO 8601 time or a duration such as 2h)")
        until = request.query.get("changed_until")
        changed = await inbox.read(inbox.store.orders_changed, time_ms(since), time_ms(until) if until else None)
        return inbox.json(OrderList(items=[OrderChanged(order_id=o.order_id, order_name=o.order_name,
                                                        last_changed=iso(o.at)) for o in changed]))

    async def show_order(request: Request, order_id: str) -> aioweb.Response:
        seen, rows, entries = await inbox.order(order_id)
        now = now_ms()
        return inbox.json(OrderHistory(order_id=order_id, order_name=seen.order_name if seen else None,
                                       exceptions=[exception_view(row, now) for row in rows],
                                       timeline=[entry_view(entry) for entry in entries]))

    async def replay(request: Request, order_id: str) -> aioweb.Response:
        await inbox.replay(order_id)
        return inbox.json(ReplayAccepted(status="accepted", order_id=order_id), status=202)

    async def release(request: Request, order_id: str) -> aioweb.Response:
        try:
            body = ReleaseRequest.model_validate_json(await request.read() or b"{}")
        except ValidationError as error:
            raise Refused(400, "body must be JSON with 'by' (who): "
                               + "; ".join(e["msg"] for e in error.errors())) from None
        await inbox.release(order_id, body.by)
        return inbox.json(ReplayAccepted(status="accepted", order_id=order_id), status=202)

    def page(path: str, get: Callable[..., Any] | None = None, post: Callable[..., Any] | None = None) -> None:
        methods: dict[str, Any] = {}
        if get is not None:
            methods["get"] = guarded(get)
        if post is not None:
            methods["post"] = guarded(post)
        app.page(path, name=f"api:{path}")(type("ApiView", (faust_web.View,), methods))

    page("/exceptions", get=list_exceptions)
    page("/exceptions/{exception_id}", get=show_exception)
    for action in ("retry", "resolve", "ignore"):
        page(f"/exceptions/{{exception_id}}/{action}",
             post=lambda request, exception_id, action=action: act(request, exception_id, action))
    page("/orders", get=list_orders)
    page("/orders/{order_id}", get=show_order)
    page("/orders/{order_id}/replay", post=replay)
    page("/orders/{order_id}/release", post=release)

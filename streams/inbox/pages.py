"""The web inbox at ``/inbox``: queues per team, an exception's page with the order's timeline, the runbook.

Server-rendered (Jinja2, autoescaped), no script and no build step. A person
signs in with the API token; the session lives in an HttpOnly, Secure,
SameSite=Strict cookie; every form that changes something carries a CSRF
token and must come from this origin.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web as aioweb
from aiohttp.web import Request
from faust import web as faust_web
from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt

from streams.context import Context
from streams.inbox import words
from streams.inbox.api import OWNERS, ActionRequest, Inbox, Refused, exception_query, runbook_link
from streams.inbox.auth import SESSION_MAX_AGE_MS, Session, csrf_ok, csrf_token, same_origin, token_ok
from streams.inbox.words import iso
from streams.runtime.clock import now_ms

COOKIE = "editsync_inbox"
# A link to docs/runbook.md, shipped in the wheel as package data.
RUNBOOK = Path(__file__).resolve().with_name("runbook.md")
PAGE_SIZE = 25
STATE_CHOICES = (("OPEN,RETRYING", "Open or retrying"), ("OPEN", "Open"), ("RETRYING", "Retrying"),
                 ("RESOLVED", "Resolved"), ("IGNORED", "Ignored"), ("", "Any state"))
AGE_CHOICES = (("", "Any age"), ("1h", "1 hour"), ("4h", "4 hours"), ("1d", "1 day"), ("3d", "3 days"))
FLASHES = {"retry": "Retry requested: editsync re-reads the order and sends what is missing.",
           "resolve": "Marked resolved.", "ignore": "Marked ignored.",
           "note": "Write a note to say why, then resolve or ignore.",
           "state": "That exception has moved on since you opened it; this is how it stands now.",
           "broker": "editsync could not record that just now; nothing was changed. Try again."}


def render_runbook(text: str) -> str:
    """The runbook as HTML, each heading with an id (its first word, lower case) to link to."""
    markdown = MarkdownIt("commonmark")
    tokens = markdown.parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            first_word = re.split(r"[\s:—-]+", tokens[index + 1].content.strip(), maxsplit=1)[0]
            token.attrSet("id", re.sub(r"[^a-z0-9_]", "", first_word.lower()))
    return markdown.renderer.render(tokens, markdown.options, {})


def register(ctx: Context, inbox: Inbox) -> None:
    app = ctx.app
    token = ctx.settings.api_token_value()
    templates = Environment(loader=PackageLoader("streams.inbox", "templates"),
                            autoescape=select_autoescape(["html"]))
    templates.globals.update(teams=words.TEAMS, title=words.title, age=words.age, iso=iso)
    runbook_html = render_runbook(RUNBOOK.read_text())

    def session_of(request: Request) -> Session | None:
        return Session.from_cookie(request.cookies.get(COOKIE), token, now_ms())

    def html(template: str, request: Request, status: int = 200, message: str | None = None,
             **values: Any) -> aioweb.Response:
        session = session_of(request)
        done = request.query.get("done") or request.query.get("error") or ""
        body = templates.get_template(template).render(
            session=session, csrf=csrf_token(token, request.cookies.get(COOKIE, "")) if session else "",
            flash=message or FLASHES.get(done), flash_error=bool(message) or "error" in request.query, now=now_ms(),
            **values)
        response = aioweb.Response(text=inbox.scrub(body), status=status, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; " \
                                                      "form-action 'self'; frame-ancestors 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def see_other(location: str) -> aioweb.Response:
        return aioweb.Response(status=303, headers={"Location": location})

    def signed_in(handler: Any) -> Any:
        async def checked(view: Any, request: Request, **kwargs: Any) -> aioweb.Response:
            if session_of(request) is None:
                return see_other("/inbox/login")
            try:
                return await handler(request, **kwargs)
            except Refused as refused:
                return html("base.html", request, status=refused.status, message=refused.message)
        return checked

    def changing(handler: Any) -> Any:
        """A POST from the inbox: same origin, signed in, with the session's CSRF token."""
        async def checked(view: Any, request: Request, **kwargs: Any) -> aioweb.Response:
            form = await request.post()
            cookie = request.cookies.get(COOKIE, "")
            session = session_of(request)
            if not same_origin(request.headers.get("Origin"), request.host) or session is None or \
                    not csrf_ok(str(form.get("csrf", "")), token, cookie):
                return aioweb.Response(status=403, text="refused: sign in again and use the inbox's own forms")
            return await handler(request, session, form, **kwargs)
        return checked

    async def queue(request: Request) -> aioweb.Response:
        state = request.query.get("state", "OPEN,RETRYING")  # the queue: what still needs someone
        params = {k: v for k, v in {**request.query, "state": state}.items()
                  if v and k in ("owner", "type", "state", "older_than")}
        now = now_ms()
        query = exception_query({**params, "limit": str(PAGE_SIZE), "offset": request.query.get("offset", "0")}, now)
        offset = query.offset
        page = await inbox.read(inbox.store.list_exceptions, query)
        queues = await inbox.read(inbox.store.queues, OWNERS)

        def at(new_offset: int) -> str:
            return "/inbox?" + urlencode({**params, "offset": new_offset})

        return html("queue.html", request, queues=queues, page=page, types=words.TITLES,
                    states=STATE_CHOICES, ages=AGE_CHOICES, selected_owner=params.get("owner", ""),
                    selected_type=params.get("type", ""), selected_state=state,
                    selected_age=params.get("older_than", ""),
                    next_url=at(offset + PAGE_SIZE) if offset + PAGE_SIZE < page.total else None,
                    previous_url=at(max(0, offset - PAGE_SIZE)) if offset else None)

    async def exception_page(request: Request, exception_id: str) -> aioweb.Response:
        row = await inbox.exception(exception_id)
        entries = await inbox.read(inbox.store.timeline, row.order_id)
        return html("exception.html", request, row=row, entries=entries, runbook=runbook_link(row.type),
                    changed=words.what_changed(row.detail))

    async def order_page(request: Request, order_id: str) -> aioweb.Response:
        seen, rows, entries = await inbox.order(order_id)
        return html("order.html", request, name=(seen.order_name if seen else None) or order_id, rows=rows,
                    entries=entries, order_id=order_id, released=request.query.get("done") == "release")

    async def release(request: Request, session: Session, form: Any, order_id: str) -> aioweb.Response:
        await inbox.release(order_id, session.name)
        return see_other(f"/inbox/orders/{quote(order_id, safe='')}?done=release")

    async def runbook(request: Request) -> aioweb.Response:
        return html("runbook.html", request, body=runbook_html)

    async def act(request: Request, session: Session, form: Any, exception_id: str, action: str) -> aioweb.Response:
        back = f"/inbox/exceptions/{quote(exception_id, safe='')}"
        try:
            await inbox.act(exception_id, action, ActionRequest(by=session.name, note=str(form.get("note", ""))))
        except Refused as refused:
            reason = {400: "note", 409: "state", 503: "broker"}.get(refused.status)
            if reason is None:
                raise
            return see_other(f"{back}?error={reason}")
        return see_other(f"{back}?done={action}")

    async def login_form(view: Any, request: Request) -> aioweb.Response:
        return html("login.html", request)

    async def login(view: Any, request: Request) -> aioweb.Response:
        form = await request.post()
        name = str(form.get("name", "")).strip()[:200]
        if not same_origin(request.headers.get("Origin"), request.host):
            return aioweb.Response(status=403, text="refused: sign in from the inbox's own page")
        if not name or not token_ok(str(form.get("token", "")), token):
            return html("login.html", request, status=401, message="That token is not right, or the name is empty.")
        response = see_other("/inbox")
        response.set_cookie(COOKIE, Session(name, now_ms()).cookie(token), max_age=SESSION_MAX_AGE_MS // 1000,
                            path="/inbox", secure=True, httponly=True, samesite="Strict")
        return response

    async def logout(request: Request, session: Session, form: Any) -> aioweb.Response:
        response = see_other("/inbox/login")
        response.del_cookie(COOKIE, path="/inbox")
        return response

    def page(path: str, **methods: Any) -> None:
        app.page(path, name=f"inbox:{path}")(type("InboxView", (faust_web.View,), methods))

    page("/inbox", get=signed_in(queue))
    page("/inbox/login", get=login_form, post=login)
    page("/inbox/logout", post=changing(logout))
    page("/inbox/runbook", get=signed_in(runbook))
    page("/inbox/exceptions/{exception_id}", get=signed_in(exception_page))
    page("/inbox/orders/{order_id}", get=signed_in(order_page))
    page("/inbox/orders/{order_id}/release", post=changing(release))
    for action in ("retry", "resolve", "ignore"):
        page(f"/inbox/exceptions/{{exception_id}}/{action}", post=changing(
            lambda request, session, form, exception_id, action=action: act(request, session, form, exception_id,
                                                                            action)))

"""The API from a terminal: ``editsync exceptions list|show|retry|resolve|ignore``, ``editsync order`` and
``editsync replay``.

Talks to a running service over HTTP with the API token (``EDITSYNC_API_TOKEN``,
or the one ``editsync run`` keeps in the data dir), at ``EDITSYNC_API_URL``.
Replay re-drives reconciliation, one order at a time at ``--rate`` orders per
second: each costs one Shopify order read, and a Standard shop's cost budget
(100 points/s) allows about one full order read per second for everything.
"""

from __future__ import annotations

import argparse
import getpass
import json
import shutil
import sys
import time
from typing import Any, TextIO
from urllib.parse import quote

import httpx

from streams.inbox import words
from streams.runtime.settings import Settings

COMMANDS = ("exceptions", "order", "replay", "release")


def add_parsers(commands: Any) -> None:
    exceptions = commands.add_parser("exceptions", help="list, show, retry, resolve or ignore exceptions")
    verbs = exceptions.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="exceptions as a table, oldest first")
    listing.add_argument("--owner", help="FINANCE, OPS or CX (comma-separated)")
    listing.add_argument("--type", help="e.g. UNKNOWN_SKU (comma-separated)")
    listing.add_argument("--state", default="OPEN,RETRYING", help="default OPEN,RETRYING; 'all' for every state")
    listing.add_argument("--older-than", help="a duration: 90s, 30m, 2h, 1d")
    listing.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50, at most 200)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many rows first (the next page)")
    show = verbs.add_parser("show", help="one exception: what changed, what to do")
    show.add_argument("exception_id", help="as the list's ID column shows it, e.g. 5000000042:UNKNOWN_SKU")
    for verb, needs_note in (("retry", False), ("resolve", True), ("ignore", True)):
        action = verbs.add_parser(verb, help=f"{verb} an exception")
        action.add_argument("exception_id", help="as the list's ID column shows it, e.g. 5000000042:UNKNOWN_SKU")
        action.add_argument("--note", required=needs_note,
                            help="what you did or why (required)" if needs_note else "what you did or why")
        action.add_argument("--by", default=getpass.getuser(), help="who is acting (default: your user name)")
    for parser in (listing, show):
        parser.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    order = commands.add_parser("order", help="an order's exceptions and timeline")
    order.add_argument("order_id", type=order_id,
                       help="Shopify's numeric order id (e.g. 5000000042), not its name (#1001)")
    order.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    replay = commands.add_parser("replay", help="re-read and reconcile orders again (idempotent)")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", type=order_id, help="one order: Shopify's numeric order id")
    which.add_argument("--since", help="every order changed since this time (ISO 8601, or a duration: 2h)")
    replay.add_argument("--until", help="with --since: up to this time")
    replay.add_argument("--rate", type=float, default=0.5, help="orders per second (default 0.5)")
    release = commands.add_parser("release", help="send an order held in its edit window to the warehouse now")
    release.add_argument("order_id", type=order_id, help="Shopify's numeric order id (e.g. 5000000042)")
    release.add_argument("--by", default=getpass.getuser(), help="who is acting (default: your user name)")


def order_id(value: str) -> str:
    """Orders are found by Shopify's numeric id; a name (#1001) is the natural thing to type, and finds nothing."""
    if value.isascii() and value.isdigit():
        return value
    raise argparse.ArgumentTypeError(
        f"{value!r} is not an order id: give Shopify's numeric order id (`editsync exceptions list` shows it "
        "in the ID column, before the colon)")


class Api:
    def __init__(self, settings: Settings) -> None:
        token, self.token_source = settings.client_api_token()
        self.client = httpx.Client(base_url=settings.api_base_url(), timeout=30.0,
                                   headers={"Authorization": f"Bearer {token}"})

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code == 401:
            raise ApiError(401, f"the API at {self.client.base_url} refused the token from {self.token_source}: "
                                "it does not match the server's token (the one `editsync run` printed, kept in "
                                "its data dir's api-token)")
        if response.status_code >= 400:
            raise ApiError(response.status_code, _error_of(response))
        return response.json()


def _error_of(response: httpx.Response) -> str:
    """The API's own error message; a proxy or a crashed server may answer something else: show its start."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return f"{response.reason_phrase}: {response.text[:200]!r}"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")


def run(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    api = Api(settings)
    try:
        if args.command == "exceptions":
            return _exceptions(api, args, out)
        if args.command == "order":
            body = api.call("GET", f"/orders/{quote(args.order_id, safe='')}")
            out.write(json.dumps(body, indent=2) + "\n" if args.json else order_text(body))
            return 0
        if args.command == "release":
            api.call("POST", f"/orders/{quote(args.order_id, safe='')}/release", json={"by": args.by})
            out.write(f"release of order {args.order_id} accepted: it goes to the warehouse now if it was held.\n")
            return 0
        return _replay(api, args, out)
    except ApiError as error:
        print(f"editsync: {error}", file=sys.stderr)
        return 1
    except httpx.HTTPError as error:
        print(f"editsync: cannot reach {settings.api_base_url()} ({error}); is `editsync run` going?",
              file=sys.stderr)
        return 1


def _exceptions(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    if args.verb == "list":
        params = {"owner": args.owner, "type": args.type, "older_than": args.older_than, "limit": args.limit,
                  "offset": args.offset, "state": None if args.state.lower() == "all" else args.state}
        body = api.call("GET", "/exceptions", params={k: v for k, v in params.items() if v is not None})
        out.write(json.dumps(body, indent=2) + "\n" if args.json else list_text(body))
        return 0
    path = f"/exceptions/{quote(args.exception_id, safe='')}"
    if args.verb == "show":
        body = api.call("GET", path)
        out.write(json.dumps(body, indent=2) + "\n" if args.json else exception_text(body))
        return 0
    body = api.call("POST", f"{path}/{args.verb}", json={"by": args.by, "note": args.note})
    out.write(f"{args.verb} of {args.exception_id} accepted; `editsync exceptions show` follows it.\n")
    return 0 if body["status"] == "accepted" else 1


def _replay(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    if args.order:
        orders = [args.order]
    else:
        params = {"changed_since": args.since} | ({"changed_until": args.until} if args.until else {})
        orders = [item["order_id"] for item in api.call("GET", "/orders", params=params)["items"]]
    pause = 1.0 / args.rate if args.rate > 0 else 0.0
    for number, order_id in enumerate(orders):
        if number:
            time.sleep(pause)
        api.call("POST", f"/orders/{quote(order_id, safe='')}/replay")
        out.write(f"replay {number + 1}/{len(orders)}: order {order_id}\n")
    out.write(f"{len(orders)} order{'s' if len(orders) != 1 else ''} asked to reconcile again\n")
    return 0


def table(rows: list[list[str]], headers: list[str], width: int | None = None) -> str:
    """Columns as wide as their content; the last one is cut to fit the terminal."""
    width = width or shutil.get_terminal_size((140, 20)).columns
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    widths[-1] = max(10, min(widths[-1], width - sum(widths[:-1]) - 2 * (len(widths) - 1)))

    def line(cells: list[str]) -> str:
        text = [str(c)[:w - 1] + "…" if len(str(c)) > w else str(c).ljust(w)
                for c, w in zip(cells, widths, strict=True)]
        return "  ".join(text).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]) + "\n"


def list_text(body: dict[str, Any]) -> str:
    rows = [[item["order_name"] or item["order_id"], item["type"], item["team"], item["state"].lower(),
             words.age(item["age_s"] * 1000), item["exception_id"], item["summary"]] for item in body["items"]]
    shown = f"{body['offset'] + 1}-{body['offset'] + len(rows)} of {body['total']}" if rows else f"0 of {body['total']}"
    return table(rows, ["ORDER", "TYPE", "TEAM", "STATE", "AGE", "ID", "SUMMARY"]) + f"({shown})\n"


def exception_text(item: dict[str, Any]) -> str:
    lines = [f"{item['title']} ({item['type']}) — {item['state'].lower()}",
             f"order      {item['order_name']} ({item['order_id']})" if item["order_name"] else
             f"order      {item['order_id']}",
             f"team       {item['team']}, {item['severity'].lower()} severity",
             f"seen       first {item['first_seen']}, last {item['last_seen']}",
             f"summary    {item['summary']}"]
    lines += [f"changed    {sentence}" for sentence in item["what_changed"]]
    lines.append(f"to do      {item['suggested_action'] or 'see the runbook'} (runbook: {item['runbook']})")
    if item.get("actor"):
        lines.append(f"last action by {item['actor']}" + (f": {item['note']}" if item.get("note") else ""))
    return "\n".join(lines) + "\n"


def order_text(body: dict[str, Any]) -> str:
    head = f"Order {body['order_name'] or body['order_id']} ({body['order_id']})\n\n"
    exceptions = table([[e["type"], e["team"], e["state"].lower(), e["exception_id"]] for e in body["exceptions"]],
                       ["EXCEPTION", "TEAM", "STATE", "ID"]) if body["exceptions"] else "No exceptions.\n"
    timeline = table([[e["at"], e["kind"], e["title"]] for e in body["timeline"]], ["WHEN (UTC)", "KIND", "WHAT"])
    return head + exceptions + "\n" + timeline

"""A hostile probe of ``editsync run`` on loopback, and what the service made of it (issue 16).

    .venv/bin/python -m sandboxes.testkit.probe --requests 3000        (or: make probe)

starts ``editsync run`` as ``make run`` does (embedded broker, sandboxes) at log level debug, takes one
order through Shopify, Peoplevox (with a status callback carrying its token) and the ERP, then sends
forged and replayed webhooks, signed webhooks with hostile bodies (deep nesting, 5,000-digit numbers,
invalid UTF-8, lone surrogates, quantities past 2^31, ids in non-ASCII or non-canonical digits, wrong
shapes, random bytes, bodies at and over the limit, chunked), signed webhooks with hostile headers,
Peoplevox callbacks with and without the token, wrong methods and paths, and slow clients. Then it
checks: no 5xx and no unexpected status for signed content; no agent crash; every accepted record
accounted for (normalised or dead-lettered, nothing skipped); no configured secret anywhere in the log;
no route served beyond the "HTTP endpoints" table (docs/operating/service-port.md). Requests are raw HTTP/1.1 over sockets,
so bytes no well-behaved client would send (non-ASCII header bytes, broken chunking) are sent as is.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sandboxes.stack import Credentials
from sandboxes.testkit.service import Service
from sandboxes.testkit.support import FIXTURES, documented_endpoints, shopify_signature
from streams.kafka.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "probe-webhook-secret-7f3a"
CALLBACK_TOKEN = "probe-callback-token-Q9x2"
SHOP = "probe.myshopify.com"
ORDER = json.loads((FIXTURES / "orders_create.json").read_text())
EDIT = json.loads((FIXTURES / "orders_edited.json").read_text())
REFUND = json.loads((FIXTURES / "refunds_create.json").read_text())
FAUST_PAGES = ("/", "/table", "/table/", "/table/order-state/", "/table/order-state/820982911946154508/",
               "/router", "/router/", "/graph/", "/stats/", "/performance/", "/signal/", "/stats/assignments/")


def secrets_of_the_run(data_dir: Path) -> list[str]:
    """Every secret the probed service holds, in each form it travels in (the ERP key is made per run)."""
    c = Credentials()
    key = (data_dir / "netsuite-sandbox-certificate.pem").read_text()
    return [SECRET, CALLBACK_TOKEN, c.shopify_token, c.peoplevox_password,
            base64.b64encode(c.peoplevox_password.encode()).decode(),
            *(line for line in key.splitlines() if "-----" not in line)]


# --- raw HTTP/1.1 ------------------------------------------------------------------------------------------


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def http(method: str, target: str | bytes, headers: Sequence[tuple[str | bytes, str | bytes]] = (),
         body: bytes = b"", chunks: Sequence[bytes] | bytes | None = None) -> bytes:
    """One request, ``Connection: close``; ``chunks`` sends the body chunked (raw bytes: sent as they are)."""
    lines = [_bytes(method) + b" " + _bytes(target) + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [_bytes(name) + b": " + _bytes(value) for name, value in headers]
    if chunks is None:
        lines.append(b"Content-Length: %d" % len(body))
        payload = body
    else:
        lines.append(b"Transfer-Encoding: chunked")
        payload = chunks if isinstance(chunks, bytes) else b"".join(
            b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in [*chunks, b""])
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


async def exchange(port: int, request: bytes, timeout_s: float = 30.0) -> int:
    """The status the service answers (0: none, the connection was closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        try:
            writer.write(request)
            await writer.drain()
        except ConnectionError:
            pass  # the server may answer (413) and close before reading everything
        status_line = await asyncio.wait_for(reader.readline(), timeout_s)
        await asyncio.wait_for(reader.read(), timeout_s)
        parts = status_line.split()
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0
    except ConnectionError:
        return 0
    finally:
        writer.close()


# --- the requests ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str  # forged, signed_body, signed_header, oversize, callback, callback_forged, route, chunked
    what: str
    request: bytes
    expected: frozenset[int]


def shopify_headers(topic: str | bytes, body: bytes, secret: str = SECRET, **extra: str | bytes
                    ) -> list[tuple[str | bytes, str | bytes]]:
    headers: dict[str, str | bytes] = {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": SHOP,
                                       "X-Shopify-API-Version": "2026-10",
                                       "X-Shopify-Hmac-Sha256": shopify_signature(body, secret.encode())}
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    return [(name, value) for name, value in headers.items() if value is not None]


def webhook(kind: str, what: str, topic: str | bytes, body: bytes, expected: set[int], secret: str = SECRET,
            chunks: Sequence[bytes] | bytes | None = None, **headers: str | bytes) -> Case:
    return Case(kind, what, http("POST", "/webhooks/shopify", shopify_headers(topic, body, secret, **headers),
                                 body, chunks), frozenset(expected))


def order(**changes: Any) -> dict[str, Any]:
    return {**ORDER, **changes}


def line(**changes: Any) -> dict[str, Any]:
    return {**ORDER["line_items"][0], **changes}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


HOSTILE_VALUES: tuple[Any, ...] = (
    2**31, -(2**31) - 1, 2**63, 2**64, 10**30, 1e30, -1, 0, 1.5, True, None, "", "²³", "١٢٣", "00123",
    "gid://shopify/Order/00123", " 123", "9" * 40, "\u0000\u001b[31m", "line\r\nbreak", "\ufffe", "x" * 5000,
    [], {}, [1, [2, [3]]], {"id": {"id": 1}}, "NaN", "1e999999", "-0", "١٠.٠٠",
)


def signed_body_cases(order_id: int) -> Iterator[tuple[str, str, bytes]]:
    """(what, topic, body) for the fixed hostile bodies; each must be answered 200."""
    yield "deep nesting 100,000", "orders/create", b'{"id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    yield "deep nesting 5,000", "orders/create", b'{"id": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    yield "deep nesting 40", "orders/create", b'{"id": 1, "x": ' + b"[" * 40 + b"]" * 40 + b"}"
    yield "5,000-digit id", "orders/create", b'{"id": ' + b"9" * 5000 + b"}"
    yield "5,000-digit quantity", "orders/create", dumps(order(line_items=[])).replace(
        b'"line_items": []', b'"line_items": [{"id": 1, "quantity": ' + b"7" * 5000 + b', "price": "1.00"}]')
    yield "1e999 amount", "orders/create", dumps(order()).replace(b'"total_price": "199.00"', b'"total_price": 1e999')
    yield "NaN", "orders/create", b'{"id": 5, "total_price": NaN}'
    yield "-Infinity", "orders/create", b'{"id": 5, "total_price": -Infinity}'
    yield "invalid UTF-8", "orders/create", dumps(order(note="NOTE")).replace(b"NOTE", b"\xff\xfe\xc0\xaf")
    yield "UTF-16 JSON", "orders/create", json.dumps(order()).encode("utf-16")
    yield "UTF-8 BOM", "orders/create", b"\xef\xbb\xbf" + dumps(order())
    yield "lone surrogate in note", "orders/create", dumps(order(note="NOTE")).replace(b"NOTE", b"\\ud800")
    yield "lone surrogate in sku", "orders/create", dumps(order(line_items=[line(sku="SKU")])).replace(
        b'"SKU"', b'"\\udfff"')
    yield "lone surrogate in a key", "orders/create", b'{"id": 7, "\\ud83d": 1}'
    for quantity in (2**31, -(2**31) - 1, 2**63, 10**30, 1e30, "2147483648", "١٢", True, 1.5, "12abc"):
        yield f"quantity {quantity!r:.20}", "orders/create", dumps(order(line_items=[line(quantity=quantity)]))
    for delta in (2**31, -(2**31) - 1, "x"):
        edit = {"order_edit": {**EDIT["order_edit"], "order_id": order_id,
                               "line_items": {"additions": [{"id": 1, "delta": delta}], "removals": []}}}
        yield f"edit delta {delta!r}", "orders/edited", dumps(edit)
    for raw_id in ("²³", "١٢٣", "00123", "0", -5, 2**64, "gid://shopify/Order/00123", " 123", 1.0, [1], "9" * 30):
        yield f"order id {raw_id!r}", "orders/create", dumps(order(id=raw_id))
    yield "refund quantity 2^31", "refunds/create", dumps({**REFUND, "order_id": order_id, "refund_line_items": [
        {**REFUND["refund_line_items"][0], "quantity": 2**31}]})
    yield "control characters", "orders/create", dumps(order(id=order_id, note="\u0000\u0007\u001b[2J", name="#1\r\n2"))
    for shape in ("x", {"a": 1}, [1, 2], [[[]]]):
        yield f"line_items {shape!r}", "orders/create", dumps(order(line_items=shape))
    yield "name as object", "orders/create", dumps(order(name={"a": 1}, tags={"a": 1}, shipping_address=[]))
    yield "tags as deep list", "orders/create", dumps(order(tags=[[1, [2]], {"x": "y"}]))
    for body in (b"", b"null", b"[]", b'"s"', b"{}", b"{", b"\x00" * 64):
        yield f"body {body[:8]!r}", "orders/create", body
    yield "unknown topic", "products/update", dumps({"id": 1})
    yield "made-up topic", "x/y", dumps(order())


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.random()
    if choice < 0.6 or depth > 3:
        return copy.deepcopy(rng.choice(HOSTILE_VALUES))  # never the shared list itself: it would nest in itself
    if choice < 0.8:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["id", "quantity", "price", "sku", "name", "a"]): random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def mutated_order(rng: random.Random, order_id: int) -> bytes:
    """A real order with one to three fields, anywhere in it, replaced by hostile values."""
    data = json.loads(json.dumps(order(id=order_id)))
    for _ in range(rng.randint(1, 3)):
        node: Any = data
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = rng.choice(keys)
            if isinstance(node[key], (dict, list)) and node[key] and rng.random() < 0.6:
                node = node[key]
                continue
            node[key] = random_value(rng)
            break
    body = json.dumps(data)
    if rng.random() < 0.1:  # a lone surrogate somewhere json.dumps would never write
        body = body.replace('"#1001"', '"\\udc80"')
    return body.encode()


def cases(requests: int, limit: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    order_id = 7_000_000_000
    fixed: list[Case] = [webhook("signed_body", what, topic, body, {200})
                         for what, topic, body in signed_body_cases(order_id)]
    at_limit = dumps(order(id=order_id + 1, note=""))
    at_limit = at_limit.replace(b'"note": ""', b'"note": "' + b"n" * (limit - len(at_limit)) + b'"')
    fixed += [
        webhook("signed_body", "body at the limit", "orders/create", at_limit, {200}),
        webhook("signed_body", "chunked body", "orders/create", dumps(order(id=order_id + 2)), {200},
                chunks=[dumps(order(id=order_id + 2))[:100], dumps(order(id=order_id + 2))[100:]]),
        webhook("signed_body", "body at the limit, not JSON", "orders/create", b"{" + b"x" * (limit - 1), {200}),
        webhook("oversize", "body over the limit", "orders/create", at_limit + b" ", {413}),
        webhook("oversize", "chunked over the limit", "orders/create", at_limit + b" ", {413},
                chunks=[at_limit, b" "]),
        webhook("chunked", "broken chunk size", "orders/create", b"", {400}, chunks=b"zz\r\nabc\r\n0\r\n\r\n"),
        webhook("signed_header", "non-ASCII topic bytes", b"orders/cr\xe9ate", dumps(order()), {400}),
        webhook("signed_header", "non-UTF-8 shop bytes", "orders/create", dumps(order()), {400},
                X_Shopify_Shop_Domain=b"\xff\xfe.myshopify.com"),
        webhook("signed_header", "non-UTF-8 event id", "orders/create", dumps(order()), {400},
                X_Shopify_Event_Id=b"ev-\xc3\x28"),
        webhook("signed_header", "control character in event id", "orders/create", dumps(order()), {400},
                X_Shopify_Event_Id="ev\x01id"),
        webhook("signed_header", "300-character shop", "orders/create", dumps(order()), {400},
                X_Shopify_Shop_Domain="s" * 300),
        webhook("signed_header", "empty topic", "", dumps(order()), {400}),
        webhook("forged", "wrong secret", "orders/create", dumps(order()), {401}, secret="not-the-secret"),
        webhook("forged", "non-ASCII signature", "orders/create", dumps(order()), {401},
                X_Shopify_Hmac_Sha256=b"\xff\xfe=="),
        webhook("forged", "signature of another body", "orders/create", dumps(order()), {401},
                X_Shopify_Hmac_Sha256=shopify_signature(b"{}", SECRET.encode())),
    ]
    token = f"token={CALLBACK_TOKEN}"
    for target, expected in (
            ("/webhooks/peoplevox?order=1001&status=Picking", {401}),
            ("/webhooks/peoplevox?token=wrong&order=1001", {401}),
            ("/webhooks/peoplevox?token=%FF%FE&order=1001", {401}),
            (f"/webhooks/peoplevox?{token}&order=%00%01", {200}),
            (f"/webhooks/peoplevox?{token}&order=%ED%A0%80", {200}),
            (f"/webhooks/peoplevox?{token}&order=SO%0D%0A1", {200}),
            (f"/webhooks/peoplevox?{token}&order=" + "9" * 5000, {200}),
            (f"/webhooks/peoplevox?{token}&order=", {200}),
            (f"/webhooks/peoplevox?{token}", {200}),
            (f"/webhooks/peoplevox?{token}&order=%D9%A1%D9%A2", {200}),
            (f"/webhooks/peoplevox?{token}&order=%22)%20OR%20(%22", {200}),
            (f"/webhooks/peoplevox?{token}&order=1001&status=%FF", {200})):
        for method in ("GET", "POST"):
            fixed.append(Case("callback" if expected == {200} else "callback_forged", f"{method} {target[:60]}",
                              http(method, target), frozenset(expected)))
    fixed.append(Case("callback", "raw non-ASCII bytes in the query", http("GET", f"/webhooks/peoplevox?{token}&order=".encode()
                                                                              + b"\xff\x01"), frozenset({200, 400})))
    for path in FAUST_PAGES:
        fixed.append(Case("route", f"GET {path}", http("GET", path), frozenset({404})))
    for method, path in (("GET", "/webhooks/shopify"), ("PUT", "/webhooks/shopify"), ("DELETE", "/healthz"),
                         ("POST", "/metrics"), ("OPTIONS", "/webhooks/shopify"), ("PATCH", "/readyz")):
        fixed.append(Case("route", f"{method} {path}", http(method, path), frozenset({405})))

    hostile = list(signed_body_cases(order_id))
    makers: list[Callable[[int], Case]] = [
        lambda i: webhook("signed_body", "mutated order", "orders/create", mutated_order(rng, order_id + 10 + i),
                          {200}),
        lambda i: webhook("signed_body", "random bytes", rng.choice(["orders/create", "refunds/create"]),
                          rng.randbytes(rng.randint(0, 2000)), {200}),
        lambda i: webhook("forged", "replayed body, wrong signature", "orders/create",
                          mutated_order(rng, order_id + 10 + i), {401}, secret=f"guess-{i}"),
        lambda i: webhook("signed_body", "hostile fixed body", *rng.choice(hostile)[1:], {200}),
        lambda i: Case("callback", "random order= bytes", http(rng.choice(["GET", "POST"]), f"/webhooks/peoplevox?{token}"
                       f"&status=Picking&order={percent_encoded(rng.randbytes(rng.randint(0, 40)))}"),
                       frozenset({200})),
        lambda i: Case("callback_forged", "random token", http("GET", "/webhooks/peoplevox?order=1001&token="
                       + percent_encoded(rng.randbytes(rng.randint(0, 40)))), frozenset({401})),
        lambda i: webhook("signed_header", "random header bytes", "orders/create", dumps(order(id=order_id)), {400},
                          **{rng.choice(["X_Shopify_Topic", "X_Shopify_Shop_Domain", "X_Shopify_Event_Id",
                                         "X_Shopify_Webhook_Id", "X_Shopify_API_Version", "X_Shopify_Triggered_At"]):
                             b"h" + bytes(rng.choice([*range(1, 9), *range(11, 13), *range(14, 32), *range(127, 256)])
                                          for _ in range(rng.randint(1, 8)))}),
    ]
    random_cases = [rng.choice(makers)(i) for i in range(max(0, requests - len(fixed)))]
    return fixed + random_cases


def percent_encoded(data: bytes) -> str:
    return "".join(f"%{byte:02X}" for byte in data)


# --- slow clients ------------------------------------------------------------------------------------------


async def answered_within(port: int, opening: bytes, timeout_s: float) -> tuple[float, bytes]:
    """Send ``opening``, then nothing: how long until the server answers or closes, and what it said."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(opening)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(65536), timeout_s)
    except (TimeoutError, ConnectionError):
        answer = b"<still open>"
    finally:
        writer.close()
    return time.monotonic() - started, answer


async def slow_clients(port: int, read_timeout_s: float) -> list[tuple[str, bool, str]]:
    bound = read_timeout_s + 3
    body = dumps(order())
    head = http("POST", "/webhooks/shopify", shopify_headers("orders/create", body), body)
    head = head[:head.index(b"\r\n\r\n") + 4]
    openings = {"idle connection": b"", "half-sent headers": b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\n",
                "body never finished": head + body[:10]}
    results = await asyncio.gather(*(answered_within(port, opening, bound + 5)
                                     for opening in list(openings.values()) * 5))
    verdicts = []
    for index, name in enumerate(openings):
        mine = results[index::len(openings)]
        slowest = max(elapsed for elapsed, _ in mine)
        answers = {answer.split(b"\r\n", 1)[0].decode(errors="replace") or "closed" for _, answer in mine}
        ok = slowest <= bound and (name != "body never finished" or answers == {"HTTP/1.1 408 Request Timeout"})
        verdicts.append((f"slow client: {name} answered or closed within {bound:g} s", ok,
                         f"slowest {slowest:.1f} s, answers {sorted(answers)}"))
    return verdicts


# --- the run -------------------------------------------------------------------------------------------------


@dataclass
class Report:
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    unexpected: list[tuple[str, str, int]] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    dead_letters: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.unexpected and all(ok for _, ok, _ in self.checks)

    def lines(self) -> list[str]:
        out = [f"{kind}: {dict(sorted(counts.items()))}" for kind, counts in sorted(self.statuses.items())]
        out += [f"dead letters {where}: {count:g}" for where, count in sorted(self.dead_letters.items())]
        out += [f"UNEXPECTED {status} for {kind}: {what}" for kind, what, status in self.unexpected[:20]]
        out += [f"{'ok  ' if ok else 'FAIL'} {name} ({detail})" for name, ok, detail in self.checks]
        return out


async def send_all(port: int, batch: list[Case], report: Report, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(case: Case) -> None:
        async with gate:
            status = await exchange(port, case.request)
        report.statuses.setdefault(case.kind, Counter())[status] += 1
        if status not in case.expected:
            report.unexpected.append((case.kind, case.what, status))

    await asyncio.gather(*(one(case) for case in batch))


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def total(samples: dict, name: str, **labels: str) -> float:
    return sum(value for (sample, sample_labels), value in samples.items()
               if sample == name and all(dict(sample_labels).get(k) == v for k, v in labels.items()))


def accounting(samples: dict) -> dict[str, tuple[float, float]]:
    """What came in against what the agents made of it: (in, out) per stage; equal when nothing is skipped."""
    return {
        "webhooks accepted vs normalised + dead-lettered by the normaliser": (
            total(samples, "editsync_webhook_requests_total", outcome="accepted"),
            total(samples, "editsync_events_normalised_total")
            + total(samples, "editsync_dead_letters_total", source="shopify.webhooks.raw")),
        "webhooks dead-lettered at ingress vs dead letters written": (
            total(samples, "editsync_webhook_requests_total", outcome="dead_lettered"),
            total(samples, "editsync_dead_letters_total", source="http:/webhooks/shopify")),
        "callbacks accepted vs re-read, not owned, failed or dead-lettered": (
            total(samples, "editsync_peoplevox_callbacks_total", outcome="accepted"),
            total(samples, "editsync_peoplevox_statuses_total")
            + total(samples, "editsync_dead_letters_total", source="peoplevox.events.raw")),
    }


def settle(url: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape(url)
        if all(came == went for came, went in accounting(samples).values()) or time.monotonic() > deadline:
            return samples
        time.sleep(1.0)


def drive_one_order(url: str, data_dir: Path, timeout_s: float = 90.0) -> str:
    """One order through Shopify, Peoplevox and the ERP, and a Peoplevox status callback for it (carrying the
    callback token): every configured credential is used at least once. Returns its sales order number."""
    urls = json.loads((data_dir / "sandboxes.json").read_text())
    shopify = urls["shopify"] + "/_sandbox"
    peoplevox = urls["peoplevox"].split("/resources/")[0].rsplit("/", 1)[0] + "/_sandbox"
    with httpx.Client(timeout=10) as client:
        variants = client.get(f"{shopify}/state").json()["variants"]
        created = client.post(f"{shopify}/scenario/create_order", json={
            "items": [[variants["TEE-M"]["id"], 1]],
            "address": {"name": "Ann Smith", "address1": "1 High Street", "city": "Leeds"}}).json()
        deadline = time.monotonic() + timeout_s
        while not any(so["reference"] == str(created["id"])
                      for so in client.get(f"{peoplevox}/state").json()["sales_orders"].values()):
            if time.monotonic() > deadline:
                raise AssertionError(f"order {created['name']} did not reach Peoplevox in {timeout_s:g} s")
            time.sleep(0.5)
        number = created["name"].lstrip("#")
        client.post(f"{peoplevox}/status/{number}", json={"status": "Picking"}).raise_for_status()
        while total(scrape(url), "editsync_peoplevox_statuses_total", outcome="forwarded") < 1:
            if time.monotonic() > deadline:
                raise AssertionError("the status callback was not forwarded")
            time.sleep(0.5)
    return number


def probe_env(tmp: Path, read_timeout_s: float, log_level: str) -> dict[str, str]:
    from sandboxes.testkit.service import service_env

    env = service_env(tmp, EDITSYNC_SHOPIFY_WEBHOOK_SECRET=SECRET, EDITSYNC_PEOPLEVOX_CALLBACK_TOKEN=CALLBACK_TOKEN,
                      EDITSYNC_LOG_LEVEL=log_level, EDITSYNC_WEB_READ_TIMEOUT_S=str(read_timeout_s),
                      EDITSYNC_WEB_PORT=str(free_port()))
    del env["EDITSYNC_WEBHOOK_MAX_BODY_BYTES"]  # the defaults, as make run has them
    return env


@contextmanager
def running(tmp: Path, read_timeout_s: float = 10.0, log_level: str = "debug") -> Iterator[Service]:
    service = Service(probe_env(tmp, read_timeout_s, log_level), tmp / "editsync.log")
    try:
        service.wait_ready(90)
        yield service
    finally:
        service.stop()


def served_routes(log: str) -> list[str]:
    """The routes the running service logged when its web server started (streams/web/server.py)."""
    line = next(line for line in log.splitlines() if "web routes: " in line)
    return line.split("web routes: ", 1)[1].strip().split(", ")


def probe(service: Service, requests: int, seed: int = 1, concurrency: int = 32,
          settle_s: float = 120.0) -> Report:
    port = int(service.env["EDITSYNC_WEB_PORT"])
    read_timeout_s = float(service.env["EDITSYNC_WEB_READ_TIMEOUT_S"])
    from streams.runtime.settings import Settings

    limit = Settings.model_fields["webhook_max_body_bytes"].default
    report = Report()
    started = time.monotonic()
    drive_one_order(service.url, Path(service.env["EDITSYNC_DATA_DIR"]))

    async def attack() -> list[tuple[str, bool, str]]:
        slow = asyncio.ensure_future(slow_clients(port, read_timeout_s))
        await send_all(port, cases(requests, limit, seed), report, concurrency)
        return await slow

    report.checks += asyncio.run(attack())
    report.seconds = time.monotonic() - started
    samples = settle(service.url, settle_s)
    report.dead_letters = {f"{dict(labels)['source']} {dict(labels)['error_type']}": value
                           for (name, labels), value in samples.items() if name == "editsync_dead_letters_total"}
    for name, (came, went) in accounting(samples).items():
        report.checks.append((f"nothing skipped: {name}", came == went, f"{came:g} in, {went:g} out"))
    crashes = total(samples, "editsync_agent_crashes_total")
    report.checks.append(("no agent crashed", crashes == 0, f"editsync_agent_crashes_total {crashes:g}"))
    report.checks.append(("no 5xx answered", not any(status >= 500 for counts in report.statuses.values()
                                                        for status in counts), "all requests"))
    service.stop()
    log = service.log_path.read_text(errors="replace")
    secrets = secrets_of_the_run(Path(service.env["EDITSYNC_DATA_DIR"]))
    found = [secret for secret in secrets if secret in log]
    report.checks.append(("no secret in the log", not found,
                          f"{len(log.splitlines())} lines scanned for {len(secrets)} secrets; "
                          f"found {len(found)}; {log.count('[redacted]')} redactions"))
    documented = documented_endpoints((ROOT / "docs" / "operating" / "service-port.md").read_text())
    undocumented = sorted(set(served_routes(log)) - documented)
    report.checks.append(("no undocumented route", not undocumented, f"served {served_routes(log)}"))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.testkit.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--log-level", default="debug")
    parser.add_argument("--dir", type=Path, default=ROOT / ".editsync-probe")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    with running(args.dir, log_level=args.log_level) as service:
        report = probe(service, args.requests, args.seed, args.concurrency)
    print(f"{args.requests} requests in {report.seconds:.1f} s; log: {service.log_path}")
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

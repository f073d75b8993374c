"""Records of editsync's topics as rows of the exception store (pure).

Every record keyed by an order becomes at most one timeline entry (what
happened to the order, in plain words), an ``exceptions.v1`` record also the
exception's latest state, and anything naming the order its name. Rows carry
the record's identity, so projecting a record twice changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from streams.core.model import opening
from streams.inbox import words
from streams.kafka import topics
from streams.runtime.clock import epoch_ms


class Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class RecordIn(Row):
    """One decoded record and where it was read."""

    record_id: str  # a digest of topic, partition, timestamp, key and value: the same record, the same id
    topic: str
    partition: int
    offset: int
    timestamp: int  # epoch ms, the broker's record timestamp
    key: str | None
    value: dict[str, Any]


class ExceptionRow(Row):
    exception_id: str
    order_id: str
    order_name: str | None
    type: str
    owner: str
    severity: str
    state: str
    first_seen: int
    last_seen: int
    summary: str
    detail: dict[str, Any]
    suggested_action: str | None
    actor: str | None = None
    note: str | None = None
    record_at: int = 0  # the record this row reflects: a newer record wins, an older one never
    record_offset: int = 0


class TimelineEntry(Row):
    record_id: str
    order_id: str
    at: int
    seq: int  # the record's offset: orders entries written in the same millisecond
    kind: str  # event, read, status, command, result, exception, action, heal
    source: str
    title: str
    detail: dict[str, Any] = {}


class OrderSeen(Row):
    order_id: str
    order_name: str | None
    at: int


class Projected(Row):
    exception: ExceptionRow | None = None
    entry: TimelineEntry | None = None
    order: OrderSeen | None = None


COMMAND_TOPICS = frozenset(topics.COMMANDS_BY_TARGET.values())
#: What the store follows: everything an order's timeline shows.
PROJECTED_TOPICS = (topics.ORDERS_EVENTS, *sorted(COMMAND_TOPICS), topics.COMMANDS_RESULTS, topics.EXCEPTIONS,
                    topics.ORDER_INPUTS)


def project(record: RecordIn) -> Projected:
    if not record.key:
        return Projected()
    if record.topic == topics.EXCEPTIONS:
        return _exception(record)
    if record.topic == topics.ORDERS_EVENTS:
        return _event(record)
    if record.topic in COMMAND_TOPICS:
        return _command(record)
    if record.topic == topics.COMMANDS_RESULTS:
        return _result(record)
    if record.topic == topics.ORDER_INPUTS:
        return _order_input(record)
    return Projected()


def _entry(record: RecordIn, kind: str, title: str, detail: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(record_id=record.record_id, order_id=record.key or "", at=record.timestamp,
                         seq=record.offset, kind=kind, source=record.topic, title=title, detail=detail)


def exception_row(value: dict[str, Any], record_at: int = 0, record_offset: int = 0) -> ExceptionRow:
    """An ``exceptions.v1`` record (as the Avro codec decodes it) as the row it becomes."""
    return ExceptionRow(exception_id=value["exception_id"], order_id=value["order_id"],
                        order_name=value.get("order_name"), type=value["type"], owner=value["owner"],
                        severity=value["severity"], state=value["state"],
                        first_seen=epoch_ms(value["first_seen"]) or 0, last_seen=epoch_ms(value["last_seen"]) or 0,
                        summary=value["summary"], detail=_loads(value.get("detail_json")),
                        suggested_action=value.get("suggested_action"), actor=value.get("actor"),
                        note=value.get("note"), record_at=record_at, record_offset=record_offset)


def _exception(record: RecordIn) -> Projected:
    row = exception_row(record.value, record.timestamp, record.offset)
    by = f" by {row.actor}" if row.actor else ""
    note = f": “{row.note}”" if row.note else ""
    title = (f"Exception {row.type} {words.STATES.get(row.state, row.state.lower())}{by}{note} "
             f"({words.TEAMS.get(row.owner, row.owner)})")
    entry = _entry(record, "exception", title, {"exception_id": row.exception_id, "state": row.state,
                                                "summary": row.summary})
    return Projected(exception=row, entry=entry, order=_seen(record, row.order_name))


def _event(record: RecordIn) -> Projected:
    value = record.value
    order = value.get("order") or {}
    event_type = value.get("event_type", "")
    title = f"Shopify: {words.EVENTS.get(event_type, event_type.replace('_', ' ').lower())}"
    entry = _entry(record, "event", title, {"event_id": value.get("event_id"), "event_type": event_type,
                                            "payload_complete": value.get("payload_complete")})
    return Projected(entry=entry, order=_seen(record, order.get("name")))


def _command(record: RecordIn) -> Projected:
    value = record.value
    attempt = value.get("attempt") or 0
    retry = f" (attempt {attempt + 1})" if attempt else ""
    title = f"Sent to {words.target_words(value['target'])}: {words.action(value['kind'])}{retry}"
    detail = {"command_id": value["command_id"], "order_version": value["order_version"],
              "payload": _loads(value.get("payload_json"))}
    return Projected(entry=_entry(record, "command", title, detail))


def _result(record: RecordIn) -> Projected:
    value = record.value
    outcome = value["outcome"]
    reason = f": {value['reason']}" if value.get("reason") and outcome != "APPLIED" else ""
    title = (f"{opening(words.target_words(value['target']))}: {words.action(value['kind'])} "
             f"{words.OUTCOMES.get(outcome, outcome.lower())}{reason}")
    detail = {"command_id": value["command_id"], "outcome": outcome, "reason": value.get("reason"),
              "attempts": value.get("attempts"), "detail": _loads(value.get("detail_json"))}
    return Projected(entry=_entry(record, "result", title, detail))


def _order_input(record: RecordIn) -> Projected:
    value = record.value
    kind = value.get("kind")
    if kind == "snapshot":
        snapshot = value.get("snapshot") or {}
        lines = [line for line in snapshot.get("lines", []) if line.get("quantity", 0) > 0]
        title = f"Read the order from Shopify: {len(lines)} line{'s' if len(lines) != 1 else ''}" + (
            " (cancelled)" if snapshot.get("cancelled_at") else "")
        detail = {"version": snapshot.get("version"),
                  "lines": {line.get("sku") or line.get("line_id"): line.get("quantity") for line in lines}}
        return Projected(entry=_entry(record, "read", title, detail), order=_seen(record, snapshot.get("name")))
    if kind == "status":
        title = f"Peoplevox: sales order {value.get('number') or ''} is {value.get('status')}".replace("  ", " ")
        return Projected(entry=_entry(record, "status", title, {"status": value.get("status")}))
    if kind == "action":
        note = f": “{value['note']}”" if value.get("note") else ""
        title = f"{value.get('actor')} asked to {value.get('action')} {value.get('exception_id')}{note}"
        return Projected(entry=_entry(record, "action", title, {k: v for k, v in value.items() if k != "kind"}))
    if kind == "read_denied":
        title = f"Shopify refused to show the order: {value.get('reason')}"
        return Projected(entry=_entry(record, "read", title, {"required_access": value.get("required_access")}))
    if kind == "missing":
        return Projected(entry=_entry(record, "read", "Shopify has no such order", {}))
    if kind in HEALS:
        return Projected(entry=_entry(record, "heal", HEALS[kind], {}))
    if kind == "answering":
        system = opening(words.target_words(value.get("target")))
        title = f"{system} answers again: what it did not answer for this order is sent again"
        return Projected(entry=_entry(record, "heal", title, {"target": value.get("target")}))
    if kind == "notice":
        message = value.get("message") or {}
        if message.get("type") == "SuccessorLinked":
            title = f"Recreated as order {message.get('successor_id')}: its sales order must go first"
        else:
            title = f"The original order answered: {message.get('reason')}"
        return Projected(entry=_entry(record, "recreate", title, message))
    return Projected()  # timer ticks and sweep listings: plumbing, not history (a read they cause is)


HEALS = {"heal": "Re-checked after a restart: the order is read again",
         "rebuild": "Local state was lost: the order is rebuilt from Shopify",
         "replay": "Replay requested: the order is read and reconciled again",
         "recheck": "Peoplevox now knows the held items: the order is reconciled again"}


def _seen(record: RecordIn, name: str | None) -> OrderSeen:
    return OrderSeen(order_id=record.key or "", order_name=name, at=record.timestamp)


def _loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}

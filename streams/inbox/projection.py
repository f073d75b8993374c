"""Records of editsync's topics as rows of the exception store (pure).

Every record keyed by an order becomes at most one timeline entry (what
happened to the order, in plain words), an ``exceptions.v1`` record also the
exception's latest state, and anything naming the order its name. Rows carry
the record's identity, so projecting a record twice changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from streams.core import inputs
from streams.core.details import OrderException, Outcome
from streams.core.inputs import (
    FetchedSnapshot,
    Heal,
    NoticeIn,
    OrderMissing,
    PeoplevoxStatus,
    PersonAction,
    PredecessorAnswer,
    ReadDenied,
    Rebuild,
    Recheck,
    ReleaseNow,
    Replay,
    SuccessorLinked,
    SystemAnswering,
)
from streams.core.model import opening
from streams.inbox import words
from streams.kafka import topics
from streams.kafka.records import exception_from_record


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


class ExceptionRow(OrderException):
    """An exception as the store holds it: as the order-state agent wrote it, and the record it was read from."""

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
    exception = exception_from_record(value)
    return ExceptionRow(**dict(exception), record_at=record_at, record_offset=record_offset)


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
    reason = f": {value['reason']}" if value.get("reason") and outcome != Outcome.APPLIED else ""
    title = (f"{opening(words.target_words(value['target']))}: {words.action(value['kind'])} "
             f"{words.OUTCOMES.get(outcome, outcome.lower())}{reason}")
    detail = {"command_id": value["command_id"], "outcome": outcome, "reason": value.get("reason"),
              "attempts": value.get("attempts"), "detail": _loads(value.get("detail_json"))}
    return Projected(entry=_entry(record, "result", title, detail))


def _order_input(record: RecordIn) -> Projected:
    try:
        message = inputs.from_value(record.value)
    except ValidationError:  # a kind a later release added: the order agent, not the timeline, must know it
        return Projected()
    match message:
        case FetchedSnapshot(snapshot=snapshot):
            lines = [line for line in snapshot.lines if line.quantity > 0]
            title = f"Read the order from Shopify: {len(lines)} line{'s' if len(lines) != 1 else ''}" + (
                " (cancelled)" if snapshot.cancelled else "")
            detail = {"version": snapshot.version, "lines": {line.sku or line.line_id: line.quantity for line in lines}}
            return Projected(entry=_entry(record, "read", title, detail), order=_seen(record, snapshot.name))
        case PeoplevoxStatus(status=status, number=number):
            title = f"Peoplevox: sales order {number or ''} is {status}".replace("  ", " ")
            return Projected(entry=_entry(record, "status", title, {"status": status}))
        case PersonAction(action=action, exception_id=exception_id, actor=actor, note=note):
            said = f": “{note}”" if note else ""
            return Projected(entry=_entry(record, "action", f"{actor} asked to {action} {exception_id}{said}",
                                          message.model_dump(mode="json", exclude={"kind"})))
        case ReleaseNow(actor=actor):
            title = f"{actor} released the order to the warehouse before its edit window closed"
            return Projected(entry=_entry(record, "action", title, {"actor": actor}))
        case ReadDenied(reason=reason, required_access=required_access):
            title = f"Shopify refused to show the order: {reason}"
            return Projected(entry=_entry(record, "read", title, {"required_access": required_access}))
        case OrderMissing():
            return Projected(entry=_entry(record, "read", "Shopify has no such order", {}))
        case Heal() | Rebuild() | Replay() | Recheck():
            return Projected(entry=_entry(record, "heal", HEALS[message.kind], {}))
        case SystemAnswering(target=target):
            system = opening(words.target_words(target.value))
            title = f"{system} answers again: what it did not answer for this order is sent again"
            return Projected(entry=_entry(record, "heal", title, {"target": target.value}))
        case NoticeIn(message=SuccessorLinked(successor_id=successor_id) as link):
            title = f"Recreated as order {successor_id}: its sales order must go first"
            return Projected(entry=_entry(record, "recreate", title, link.model_dump(mode="json")))
        case NoticeIn(message=PredecessorAnswer(reason=reason) as link):
            title = f"The original order answered: {reason}"
            return Projected(entry=_entry(record, "recreate", title, link.model_dump(mode="json")))
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

"""Core values to Avro records and back: commands, results, exceptions.

The one place that knows how ``schemas/command*.avsc`` and
``order_exception.avsc`` spell the core's ``Command``, ``ResultIn`` and ``OrderException``.
"""

from __future__ import annotations

import json
from typing import Any

from streams.core.commands import Command
from streams.core.details import OrderException, Outcome, ResultDetail
from streams.core.inputs import ResultIn
from streams.core.model import Target
from streams.runtime.clock import epoch_ms


def _command_fields(command: Command) -> dict[str, Any]:
    """The fields a Command and a CommandResult record share."""
    return {"command_id": command.command_id, "order_id": command.order_id, "order_version": command.order_version,
            "target": command.target.value, "kind": command.kind, "idempotency_key": command.idempotency_key,
            "payload_json": _json(command.payload.wire() if command.payload is not None else {})}


def command_record(command: Command, issued_at: int, attempt: int = 0, not_before: int | None = None) -> dict[str, Any]:
    return {**_command_fields(command), "issued_at": issued_at, "attempt": attempt, "not_before": not_before}


def command_from_record(record: dict[str, Any]) -> Command:
    """From a Command record, or a CommandResult written before v1.1 carried the key and payload."""
    return Command(command_id=record["command_id"], order_id=record["order_id"],
                   order_version=record["order_version"], target=Target(record["target"]), kind=record["kind"],
                   idempotency_key=record.get("idempotency_key") or record["command_id"],
                   # Absent (null) only on a result before v1.1; "{}" is a payload without fields
                   payload=json.loads(record["payload_json"]) if record.get("payload_json") else None)


def result_record(command: Command, outcome: Outcome, reason: str | None, detail: ResultDetail, attempts: int,
                  completed_at: int) -> dict[str, Any]:
    wire = detail.wire()
    return {**_command_fields(command), "outcome": outcome.value, "reason": reason,
            "detail_json": _json(wire) if wire else None, "attempts": attempts, "completed_at": completed_at}


def result_from_record(record: dict[str, Any]) -> ResultIn:
    detail = json.loads(record["detail_json"]) if record.get("detail_json") else {}
    return ResultIn(command=command_from_record(record), outcome=Outcome(record["outcome"]),
                    reason=record.get("reason"), detail=ResultDetail.from_wire(detail),
                    completed_at=epoch_ms(record.get("completed_at")))


def exception_record(exception: OrderException) -> dict[str, Any]:
    return {"exception_id": exception.exception_id, "order_id": exception.order_id,
            "order_name": exception.order_name, "type": exception.type, "owner": exception.owner.value,
            "severity": exception.severity.value, "state": exception.state.value, "first_seen": exception.first_seen,
            "last_seen": exception.last_seen, "summary": exception.summary,
            "detail_json": _json(exception.detail.wire()),
            "suggested_action": exception.suggested_action, "actor": exception.actor, "note": exception.note}


def exception_from_record(record: dict[str, Any]) -> OrderException:
    """An ``exceptions.v1`` record as the Avro codec decodes it (timestamps as datetimes), of any release."""
    # The detail is validated by the exception's type (``streams.core.details.exception_detail``).
    return OrderException.model_validate({
        "exception_id": record["exception_id"], "order_id": record["order_id"], "order_name": record.get("order_name"),
        "type": record["type"], "owner": record["owner"], "severity": record["severity"], "state": record["state"],
        "first_seen": epoch_ms(record["first_seen"]) or 0, "last_seen": epoch_ms(record["last_seen"]) or 0,
        "summary": record["summary"], "detail": json.loads(record.get("detail_json") or "{}"),
        "suggested_action": record.get("suggested_action") or "", "actor": record.get("actor"),
        "note": record.get("note")})


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)

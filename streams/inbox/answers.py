"""What the exceptions API answers (streams/inbox/api.py builds every body from these models).

The models are the answers' one description: the OpenAPI document the server serves
(streams/wiring/openapi.py) is generated from their JSON schemas, so it cannot drift from what is sent.
Times are ISO 8601 in UTC with a ``Z``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ExceptionView(BaseModel):
    exception_id: str
    order_id: str = Field(description="The Shopify order id (numeric, as a string).")
    order_name: str | None = Field(description="The order's name in Shopify, such as #1001, once known.")
    type: str = Field(description="The exception type, such as ERP_SYNC_FAILED (the runbook has one section each).")
    title: str = Field(description="The type in plain words.")
    owner: str = Field(description="The team that owns it: FINANCE, OPS or CX.")
    team: str = Field(description="The owner in plain words.")
    severity: str
    state: str = Field(description="OPEN, RETRYING, RESOLVED or IGNORED.")
    first_seen: str
    last_seen: str
    age_s: int = Field(ge=0, description="Seconds since first seen.")
    summary: str
    what_changed: list[str] = Field(description="The detail as sentences.")
    detail: dict[str, Any] = Field(description="What the exception is about, as its type records it.")
    suggested_action: str | None
    actor: str | None = Field(description="Who acted on it last.")
    note: str | None = Field(description="Their note.")
    runbook: str = Field(description="Link to the runbook's section on this type.")


class ExceptionPage(BaseModel):
    items: list[ExceptionView]
    total: int = Field(ge=0, description="How many exceptions match, over all pages.")
    limit: int
    offset: int
    next: str | None = Field(description="The next page's path and query, or null on the last page.")


class ActionAccepted(BaseModel):
    status: Literal["accepted"]
    action: Literal["retry", "resolve", "ignore"]
    exception: ExceptionView = Field(description="The exception as it was when the action was sent.")


class OrderChanged(BaseModel):
    order_id: str
    order_name: str | None
    last_changed: str


class OrderList(BaseModel):
    items: list[OrderChanged]


class TimelineView(BaseModel):
    at: str
    kind: str = Field(description="event, read, status, command, result, exception, action, heal or recreate.")
    title: str
    source: str = Field(description="The topic the entry was read from.")
    detail: dict[str, Any]


class OrderHistory(BaseModel):
    order_id: str
    order_name: str | None
    exceptions: list[ExceptionView]
    timeline: list[TimelineView] = Field(description="Everything that happened to the order, in time order.")


class ReplayAccepted(BaseModel):
    status: Literal["accepted"]
    order_id: str

"""What the webhook and health routes answer (streams/web/views.py builds those bodies from these models).

The OpenAPI document the server serves (streams/wiring/openapi.py) is generated from their JSON schemas.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class WebhookTaken(BaseModel):
    status: Literal["accepted", "dead_lettered"] = Field(
        description="accepted: on shopify.webhooks.raw; dead_lettered: signed but not keyed by an order, on dlq.v1.")


class CallbackTaken(BaseModel):
    status: Literal["accepted"]


class Alive(BaseModel):
    status: Literal["alive"]


class AgentCrashed(BaseModel):
    status: Literal["agent crashed"]
    agents: dict[str, str] = Field(description="Each agent that crashed, with why; the worker exits soon after.")


class Readiness(BaseModel):
    ready: bool
    broker: bool = Field(description="Whether the broker answered a metadata request.")
    agents: dict[str, bool] = Field(description="Every agent by name: started and not crashed.")

"""Tells the owning team about a new exception: a Slack-compatible incoming-webhook message per team.

Fed from ``exceptions.v1`` by its own agent in the consumer group, so each
record is offered once across the workers and the order-state agent never
waits for it. Offering only queues (a full queue drops the message with a
warning: the inbox still shows the exception); a sender task posts with
retries and backoff. The webhook URLs are secrets and never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Any

import httpx

from streams.core.details import ExceptionState, Severity
from streams.inbox import words
from streams.inbox.projection import ExceptionRow
from streams.runtime.backoff import backoff_ms

log = logging.getLogger(__name__)


def worth_notifying(row: ExceptionRow, min_severity: str) -> bool:
    """New, open, and serious enough: not a reopened, retried or closed one."""
    return (row.state is ExceptionState.OPEN and row.actor is None and row.first_seen == row.last_seen
            and row.severity.rank >= Severity(min_severity).rank)


def slack_message(row: ExceptionRow, public_url: str) -> dict[str, Any]:
    """Slack's incoming-webhook payload: ``text`` (shown in notifications) and ``blocks`` (the message)."""
    team = words.TEAMS.get(row.owner, row.owner)
    link = f"{public_url.rstrip('/')}/inbox/exceptions/{row.exception_id}"
    text = f"[{team}] {words.title(row.type)} on {row.order_name or row.order_id}: {row.summary}"
    return {"text": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{words.title(row.type)}* · {row.summary}"}},
        {"type": "section",
         "text": {"type": "mrkdwn", "text": f"What to do: {row.suggested_action or 'see the runbook'}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"{team} · {row.type} · {row.severity.lower()} · <{link}|Open in the inbox>")}]}]}


class Notifier:
    def __init__(self, urls: Mapping[str, str], min_severity: str, public_url: str, max_attempts: int = 6,
                 backoff_s: float = 1.0, queue_size: int = 1000, timeout_s: float = 10.0) -> None:
        self._urls = {owner: url for owner, url in urls.items() if url}
        self._min_severity = min_severity
        self._public_url = public_url
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._queue: asyncio.Queue[ExceptionRow] = asyncio.Queue(queue_size)
        self._rng = random.Random()
        self.sent = 0
        self.dropped = 0

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def offer(self, row: ExceptionRow) -> bool:
        """Queue a notification if the exception deserves one; never waits."""
        if row.owner not in self._urls or not worth_notifying(row, self._min_severity):
            return False
        try:
            self._queue.put_nowait(row)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("notification for %s dropped: %d already waiting", row.exception_id, self._queue.qsize())
            return False
        return True

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            while True:
                row = await self._queue.get()
                await self._send(client, row)

    async def _send(self, client: httpx.AsyncClient, row: ExceptionRow) -> None:
        message = slack_message(row, self._public_url)
        for attempt in range(self._max_attempts):
            try:
                response = await client.post(self._urls[row.owner], json=message)
                if response.is_success:
                    self.sent += 1
                    return
                if response.status_code != 429 and response.status_code < 500:
                    log.error("notification for %s refused with %d: not retried", row.exception_id,
                              response.status_code)
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                reason = type(error).__name__
            if attempt + 1 < self._max_attempts:
                await asyncio.sleep(backoff_ms(attempt, self._backoff_s, self._rng) / 1000)
        log.error("notification for %s not delivered after %d attempts (%s)", row.exception_id,
                  self._max_attempts, reason)

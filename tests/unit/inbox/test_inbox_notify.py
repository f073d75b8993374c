"""Notifications to each team's Slack-compatible webhook, against a local receiver over real HTTP."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from streams.inbox.notify import Notifier, slack_message, worth_notifying
from streams.inbox.projection import ExceptionRow

NOW = 1_800_000_000_000


def row(owner: str = "OPS", severity: str = "HIGH", state: str = "OPEN", **fields) -> ExceptionRow:
    values = dict(exception_id=f"1001:UNKNOWN_SKU:{owner}", order_id="1001", order_name="#1001", type="UNKNOWN_SKU",
                  owner=owner, severity=severity, state=state, first_seen=NOW, last_seen=NOW,
                  summary="#1001 is held: POSTER has no Peoplevox ItemCode.", detail={"skus": ["POSTER"]},
                  suggested_action="Add the item to Peoplevox, then retry the order.")
    return ExceptionRow(**(values | fields))


class Receiver:
    """A team's incoming webhook: answers the given statuses first, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[str, dict, float]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.path, await request.json(), time.monotonic()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status == 200 else "no")


async def serve(receiver: Receiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/{team}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


def test_only_new_open_exceptions_at_or_above_the_severity_are_worth_a_message():
    assert worth_notifying(row(), "HIGH") and worth_notifying(row(severity="CRITICAL"), "HIGH")
    assert not worth_notifying(row(severity="MEDIUM"), "HIGH") and worth_notifying(row(severity="MEDIUM"), "MEDIUM")
    assert not worth_notifying(row(state="RESOLVED"), "LOW")
    assert not worth_notifying(row(last_seen=NOW + 5), "LOW"), "reopened, not new"
    assert not worth_notifying(row(actor="ann"), "LOW")


def test_the_message_is_slack_incoming_webhook_json_with_a_link_to_the_inbox():
    message = slack_message(row(), "https://editsync.example.com/")
    assert message["text"].startswith("[Operations] Product not set up in the warehouse on #1001")
    assert {block["type"] for block in message["blocks"]} == {"section", "context"}
    assert "<https://editsync.example.com/inbox/exceptions/1001:UNKNOWN_SKU:OPS|Open in the inbox>" in \
        message["blocks"][-1]["elements"][0]["text"]


def test_each_team_gets_its_own_and_failures_are_retried_with_backoff():
    async def scenario() -> None:
        receiver = Receiver([503, 429])
        runner, base = await serve(receiver)
        notifier = Notifier({"OPS": f"{base}/ops", "FINANCE": f"{base}/finance"}, "HIGH", "http://inbox",
                            backoff_s=0.2)
        sender = asyncio.create_task(notifier.run())
        try:
            assert notifier.offer(row("OPS"))
            assert notifier.offer(row("FINANCE", exception_id="1002:ERP_SYNC_FAILED", type="ERP_SYNC_FAILED"))
            assert not notifier.offer(row("CX")), "no webhook for customer service"
            assert not notifier.offer(row("OPS", severity="LOW"))
            await wait_for(lambda: notifier.sent == 2)
            paths = [path for path, _, _ in receiver.received]
            assert paths == ["/ops", "/ops", "/ops", "/finance"], "two refusals, then delivered; then finance"
            times = [at for _, _, at in receiver.received]
            assert times[1] - times[0] >= 0.1 and times[2] - times[1] >= 0.2, "equal-jitter backoff between tries"
            assert receiver.received[3][1]["text"].startswith("[Finance] The ERP refused")
        finally:
            sender.cancel()
            await runner.cleanup()

    asyncio.run(scenario())


def test_offering_never_waits_even_when_the_receiver_is_down():
    async def scenario() -> None:
        notifier = Notifier({"OPS": "http://127.0.0.1:9/down"}, "LOW", "http://inbox", queue_size=3, max_attempts=2,
                            backoff_s=0.05)
        started = time.monotonic()
        offered = [notifier.offer(row(exception_id=f"{n}:UNKNOWN_SKU")) for n in range(10)]
        assert time.monotonic() - started < 0.05
        assert offered.count(True) == 3 and notifier.dropped == 7
        sender = asyncio.create_task(notifier.run())
        await wait_for(lambda: notifier.waiting == 0)
        sender.cancel()
        assert notifier.sent == 0

    asyncio.run(scenario())

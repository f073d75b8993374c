"""Wires the people's side into one worker: store, its feed, API, inbox pages, notifications."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streams.context import Context
from streams.core import inputs
from streams.core.inputs import OrderInput
from streams.inbox import api, pages
from streams.inbox.api import MIN_SECRET_LENGTH, Inbox
from streams.inbox.notify import Notifier
from streams.inbox.projection import exception_row
from streams.inbox.store import Store
from streams.inbox.tailer import Tailer
from streams.kafka import topics
from streams.kafka.avro_codec import DecodeError
from streams.runtime.logs import KnownSecrets
from streams.runtime.settings import given

log = logging.getLogger(__name__)


def register(ctx: Context) -> Notifier | None:
    app, settings = ctx.app, ctx.settings
    store = Store(settings.store_url())
    tailer = Tailer(ctx.bootstrap, ctx.codec, store)
    order_inputs = ctx.topic(topics.ORDER_INPUTS)

    async def publish(order_id: str, message: OrderInput) -> None:
        pending = await order_inputs.send(key=order_id.encode(), value=inputs.encode(message))
        await asyncio.wait_for(pending, settings.ingress_ack_timeout_s)

    inbox = Inbox(store, publish, KnownSecrets(settings.secret_values(), min_length=MIN_SECRET_LENGTH))
    api.register(ctx, inbox)
    pages.register(ctx, inbox)

    @app.task
    async def follow_topics() -> None:
        tailer.start()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # faust types receivers as (sender, *args, signal=...)
    async def stop_following(sender: Any, **_: Any) -> None:
        await asyncio.to_thread(tailer.stop)
        store.close()

    return _notifications(ctx)


def _notifications(ctx: Context) -> Notifier | None:
    settings = ctx.settings
    urls = {owner: given(url) for owner, url in (
        ("FINANCE", settings.notify_finance_url), ("OPS", settings.notify_ops_url), ("CX", settings.notify_cx_url))
        if given(url)}
    if not urls:
        return None
    public_url = settings.public_url or settings.api_base_url()
    notifier = Notifier(urls, settings.notify_min_severity, public_url)

    @ctx.app.agent(ctx.topic(topics.EXCEPTIONS), name="exception_notifier")
    async def exception_notifier(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            try:
                notifier.offer(exception_row(ctx.codec.decode(topics.EXCEPTIONS, event.message.value)))
            except (DecodeError, KeyError, ValueError) as error:
                log.warning("exception record not notified: %s", error)

    @ctx.app.task
    async def send_notifications() -> None:
        await notifier.run()

    return notifier

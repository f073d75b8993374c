"""Faust's aiokafka transport with the consumers' fetch wait as a setting.

A fetch asks the broker for records and waits up to ``fetch.max.wait.ms`` for some to arrive. Apache Kafka
answers the moment a record lands, so there the wait only paces an idle consumer; the embedded Tansu broker
answers only when the wait is over, so each hop of an edit (webhook → normaliser → order state → sink) waits
out whatever is left of it. Faust fixes the wait at 1,500 ms (``AIOKafkaConsumerThread._create_worker_consumer``):
on Tansu the lock tag then landed 2.3 s after Peoplevox's Picking callback, with an idle worker.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver


def transport_with_fetch_wait(fetch_max_wait_ms: int) -> type[driver.Transport]:
    """Faust's aiokafka ``Transport`` whose worker consumers wait at most ``fetch_max_wait_ms`` per fetch."""

    class ConsumerThread(driver.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            # aiokafka hands this to its fetcher only in start(), so it still counts here.
            consumer._fetch_max_wait_ms = fetch_max_wait_ms
            return consumer

    class Consumer(driver.Consumer):
        def _new_consumer_thread(self) -> ConsumerThread:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    class Transport(driver.Transport):
        pass

    Transport.Consumer = Consumer
    return Transport

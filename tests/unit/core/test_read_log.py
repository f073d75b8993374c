"""A Shopify read answers every request for that order queued before it started, and only an answered one."""

from __future__ import annotations

from streams.agents.shopify_reads import ReadLog
from streams.core.inputs import FetchOrder


def test_a_request_queued_before_an_answered_read_is_already_answered():
    reads = ReadLog()
    reads.answered_at("1001", at=500)
    assert reads.answered(FetchOrder(order_id="1001", requested_at=400))
    assert reads.answered(FetchOrder(order_id="1001", requested_at=500))
    assert not reads.answered(FetchOrder(order_id="1001", requested_at=501)), "asked after the read began"
    assert not reads.answered(FetchOrder(order_id="1002", requested_at=1)), "another order"


def test_a_read_that_failed_answers_nothing():
    reads = ReadLog()
    # fetch() records a read only after its answer was sent: a failure leaves the log as it was.
    assert not reads.answered(FetchOrder(order_id="1001", requested_at=1))


def test_requests_without_a_time_are_always_read():
    reads = ReadLog()
    reads.answered_at("1001", at=10**15)
    assert not reads.answered(FetchOrder(order_id="1001"))


def test_the_log_is_bounded():
    reads = ReadLog(size=2)
    for order_id in ("1", "2", "3"):
        reads.answered_at(order_id, at=100)
    assert not reads.answered(FetchOrder(order_id="1", requested_at=50))
    assert reads.answered(FetchOrder(order_id="3", requested_at=50))

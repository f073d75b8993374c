"""Results and exception details are typed models that read the JSON every release wrote.

Every exception the scenarios raise already crosses the real Avro wire in
``tests/core_harness.py``; these are the forms older releases wrote, and the
mistakes a typed detail must refuse where they are made.
"""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from streams.core.details import (
    EditAfterPickDetail,
    FailureDetail,
    OrderException,
    Outcome,
    ResultDetail,
    SalesOrderDiff,
    Severity,
    SystemMessage,
    UnknownDetail,
    UnknownSkuDetail,
)
from streams.core.model import Owner, Target
from streams.runtime.clock import epoch_ms
from tests.core_harness import exception_over_the_wire


def exception(exception_type: str, detail: object) -> OrderException:
    return OrderException(exception_id=f"1:{exception_type}", order_id="1", order_name="#1", type=exception_type,
                          owner=Owner.OPS, severity=Severity.HIGH, summary="s", detail=detail,
                          suggested_action="a", first_seen=1_036_003, last_seen=1_036_003)


def test_an_http_status_written_as_status_before_v1_6_is_read_as_http_status():
    detail = ResultDetail.from_wire({"status": 400})
    assert detail.http_status == 400 and detail.status is None
    assert ResultDetail.from_wire({"status": "PICKING"}).status == "PICKING"  # a Peoplevox status stays one


def test_a_single_cancelled_sales_order_written_as_a_string_is_a_tuple_of_one():
    assert ResultDetail.from_wire({"cancelled": "1001"}).cancelled == ("1001",)


def test_errors_as_shopify_and_netsuite_spelled_them_become_system_messages():
    detail = ResultDetail.from_wire({"errors": ["Throttled", {"detail": "Invalid field", "o:errorCode": "USER_ERROR"}]})
    assert detail.errors == (SystemMessage(message="Throttled"),
                             SystemMessage(message="Invalid field", code="USER_ERROR"))


def test_what_a_later_release_adds_to_a_result_is_kept_and_written_back_as_it_came():
    wire = {"erp_id": "7", "payout_id": "p1"}
    detail = ResultDetail.from_wire(wire)
    assert detail.other == {"payout_id": "p1"} and detail.wire() == wire


def test_a_misspelt_field_is_refused_where_it_is_written():
    with pytest.raises(ValidationError):
        ResultDetail(erpid="7")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        UnknownSkuDetail(sku=("A",))  # type: ignore[call-arg]


def test_the_wire_leaves_out_what_is_unset_also_in_a_nested_result():
    failure = FailureDetail(command_id="c", target=Target.ERP, outcome=Outcome.FAILED, reason="down",
                            detail=ResultDetail(gave_up=True))
    assert failure.wire() == {"command_id": "c", "target": "ERP", "outcome": "FAILED", "reason": "down",
                              "detail": {"gave_up": True}}


def test_each_exception_type_reads_its_own_detail_back():
    diff = SalesOrderDiff(lines_added={"A": 1}, lines_changed={"B": (1, 2)})
    picked = exception_over_the_wire(exception("EDIT_AFTER_PICK", EditAfterPickDetail(status="PICKING",
                                                                                      change="update", diff=diff)))
    assert isinstance(picked.detail, EditAfterPickDetail) and picked.detail.diff.touches_lines
    failed = exception_over_the_wire(exception("ERP_SYNC_FAILED", {"command_id": "c", "target": "ERP",
                                                                   "outcome": "FAILED", "detail": {"status": 503}}))
    assert isinstance(failed.detail, FailureDetail) and failed.detail.detail.http_status == 503


def test_a_detail_of_a_shape_this_release_does_not_know_is_kept_to_be_shown():
    later = exception("UNKNOWN_SKU", {"skus": ["A"], "channel": "web"})  # a field a later release added
    assert isinstance(later.detail, UnknownDetail) and later.detail.wire() == {"skus": ["A"], "channel": "web"}
    assert exception_over_the_wire(later) == later
    assert isinstance(exception("PAYMENT_OUTSTANDING", {"amount": "5.00"}).detail, UnknownDetail)


def test_a_time_read_from_avro_is_the_exact_millisecond():
    # 1036.003 s is 1036002.999... ms as a float: the millisecond before.
    assert epoch_ms(datetime.fromtimestamp(1036.003, tz=UTC).replace(microsecond=3000)) == 1_036_003
    assert epoch_ms(datetime(2026, 12, 7, 10, 0, 0, 123000)) == 1_796_637_600_123  # naive is UTC

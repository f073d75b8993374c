"""The core's typed contracts keep reading what earlier versions stored and sent."""

from __future__ import annotations

from streams.core.state import OrderState

STORED_BEFORE_THE_RENAMES = """{"order_id": "1001", "pvx_status": "Picking", "pvx_status_at": 5, "pvx_revision": 2,
  "pvx": {"number": "1001-R2", "lines": [["TEE-M", 1]]},
  "issues": {"1001:UNKNOWN_SKU": {"exception_id": "1001:UNKNOWN_SKU", "order_id": "1001", "order_name": "#1001",
             "type": "UNKNOWN_SKU", "owner": "OPS", "severity": "HIGH", "summary": "held", "detail": {},
             "suggested_action": "add it"}}}"""


def test_order_state_stored_with_the_old_field_names_still_loads():
    state = OrderState.model_validate_json(STORED_BEFORE_THE_RENAMES)
    assert (state.peoplevox_status, state.peoplevox_status_at, state.peoplevox_revision) == ("Picking", 5, 2)
    assert state.peoplevox_sales_order.number == "1001-R2"
    assert list(state.exceptions) == ["1001:UNKNOWN_SKU"]
    assert OrderState.model_validate_json(state.model_dump_json()) == state

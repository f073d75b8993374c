"""The ERP in memory, as NetSuite's REST record API behaves for editsync (see connectors/erp.py).

Rules kept: every write is an upsert by external id, so a repeat never makes a
second record; a payment or credit memo created from a sales order the ERP does
not hold is refused (400, invalid reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.errors import PermanentError
from streams.core.commands import ErpSalesOrder


@dataclass
class FakeErp:
    sales_orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by external id (Shopify order id)
    payments: dict[str, Decimal] = field(default_factory=dict)  # by Shopify transaction id
    credit_memos: dict[str, Decimal] = field(default_factory=dict)  # by Shopify refund id
    upserts: int = 0

    async def upsert_sales_order(self, order: ErpSalesOrder) -> str:
        self.upserts += 1
        self.sales_orders[order.external_id] = order.model_dump(mode="json")
        return order.external_id

    async def record_payment(self, order_external_id: str, transaction_id: str, amount: str, currency: str) -> str:
        self._require(order_external_id)
        self.payments[transaction_id] = Decimal(amount)
        return f"shopify-txn-{transaction_id}"

    async def create_credit_memo(self, order_external_id: str, refund_id: str, amount: str, currency: str,
                                 lines: list[dict[str, Any]]) -> str:
        self._require(order_external_id)
        self.credit_memos[refund_id] = Decimal(amount)
        return f"shopify-refund-{refund_id}"

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def _require(self, external_id: str) -> None:
        if external_id not in self.sales_orders:
            raise PermanentError(f"ERP refused: invalid reference {external_id}", {"status": 400})

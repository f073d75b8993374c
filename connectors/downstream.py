"""The three systems editsync writes to, built once per worker from settings.

When none is configured ``editsync run`` starts the sandboxes and fills the
settings in first, so this module only ever sees URLs and credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx

from connectors import erp, peoplevox, ports, shopify
from connectors.metered_http import MeteredTransport
from streams.core.model import System
from streams.core.peoplevox import CutOff
from streams.core.reference import Catalogue, PriceLists, Reference
from streams.runtime.settings import ConfigError, Settings
from streams.supervision.metrics import Metrics


@dataclass
class Downstream:
    shopify: ports.Shop
    peoplevox: ports.Warehouse
    erp: ports.Erp
    cutoff: CutOff
    peoplevox_events: ports.WarehouseEvents | None = None  # None: no status callbacks, only the sinks' checks
    overrides: dict[str, str] = field(default_factory=dict)
    bundles: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    price_lists: PriceLists = field(default_factory=PriceLists)
    item_codes: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics | None = None) -> Downstream:
        """With ``metrics``, every request each connector makes is counted (connectors/metered_http.py)."""
        def metered(system: System) -> MeteredTransport | None:
            return MeteredTransport(system, metrics) if metrics is not None else None

        def metered_client(system: System, timeout_s: float) -> httpx.AsyncClient | None:
            transport = metered(system)
            return httpx.AsyncClient(timeout=timeout_s, transport=transport) if transport is not None else None

        def secret(value: object) -> str:
            return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]

        cutoff = CutOff(settings.peoplevox_cutoff_status)
        client = peoplevox.PeoplevoxClient(settings.peoplevox_url or "", settings.peoplevox_client_id or "",
                                           settings.peoplevox_username or "", secret(settings.peoplevox_password),
                                           settings.peoplevox_timeout_s, http=metered_client(System.PEOPLEVOX,
                                                                                            settings.peoplevox_timeout_s))
        downstream = cls(
            shopify=shopify.ShopifyAdmin(settings.shopify_admin_url or "", secret(settings.shopify_access_token),
                                         settings.shopify_api_version, transport=metered(System.SHOPIFY)),
            peoplevox=peoplevox.PeoplevoxWarehouse(client, cutoff, settings.peoplevox_columns),
            peoplevox_events=client, erp=_netsuite(settings, metered(System.ERP)), cutoff=cutoff)
        if settings.reference_file is not None:
            downstream.load_reference_file(settings.reference_file)
        return downstream

    def load_reference_file(self, path: Path) -> None:
        """``{"sku_overrides": {sku: item code}, "bundles": {sku: [[sku, qty]]},
        "b2b_prices": {company location id: {variant id: "price"}}}``: all optional."""
        try:
            data = json.loads(path.read_text())
            self.overrides = dict(data.get("sku_overrides", {}))
            self.bundles = {sku: tuple((c, int(q)) for c, q in parts) for sku, parts in data.get("bundles", {}).items()}
            self.price_lists = PriceLists({(location, variant): Decimal(price)
                                           for location, prices in data.get("b2b_prices", {}).items()
                                           for variant, price in prices.items()})
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise ConfigError(f"EDITSYNC_REFERENCE_FILE {path} cannot be used: {error}") from error

    def reference(self) -> Reference:
        return Reference(Catalogue(self.item_codes, self.overrides, self.bundles), self.price_lists)

    async def refresh_item_codes(self) -> None:
        self.item_codes = await self.peoplevox.item_codes()


def _netsuite(settings: Settings, transport: MeteredTransport | None) -> erp.NetSuiteRest:
    try:
        return erp.NetSuiteRest.connect(settings.erp_url or "", settings.erp_client_id or "",
                                    settings.erp_certificate_id or "", settings.erp_private_key(),
                                    settings.erp_default_customer_id, settings.erp_adjustment_item,
                                    transport=transport)
    except ValueError as error:  # not a PEM key, or a key type NetSuite does not take
        raise ConfigError(f"EDITSYNC_ERP_PRIVATE_KEY_FILE cannot be used: {error}") from error

"""Reference data the core decides with: item catalogue, SKU overrides, bundles, price lists.

Loaded by adapters (Peoplevox item types, configuration, Shopify B2B price
lists) and passed in; the core only reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Catalogue:
    item_codes: frozenset[str] = frozenset()  # ItemCodes Peoplevox knows
    overrides: Mapping[str, str] = field(default_factory=dict)  # Shopify SKU -> Peoplevox ItemCode
    bundles: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)  # SKU -> (component SKU, qty)

    def item_code(self, sku: str | None) -> str | None:
        """The Peoplevox ItemCode for a Shopify SKU, or None when Peoplevox would refuse it."""
        if not sku:
            return None
        code = self.overrides.get(sku, sku)
        return code if code in self.item_codes else None

    def expand(self, sku: str, quantity: int) -> list[tuple[str, int]]:
        """A bundle SKU becomes its components (each × quantity); anything else stays itself."""
        components = self.bundles.get(sku)
        if not components:
            return [(sku, quantity)]
        return [(component, per_bundle * quantity) for component, per_bundle in components]


@dataclass(frozen=True)
class PriceLists:
    """B2B: the agreed unit price per (company location, variant)."""

    prices: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)

    def agreed_price(self, company_location_id: str | None, variant_id: str | None) -> Decimal | None:
        if company_location_id is None or variant_id is None:
            return None
        return self.prices.get((company_location_id, variant_id))

    def has_catalog(self, company_location_id: str | None) -> bool:
        """The company location buys from a price list: an item outside it was never agreed."""
        return company_location_id is not None and any(location == company_location_id for location, _ in self.prices)


@dataclass(frozen=True)
class Reference:
    catalogue: Catalogue = Catalogue()
    price_lists: PriceLists = PriceLists()

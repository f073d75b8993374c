"""Starts the three sandboxes on free loopback ports, on their own event loop in a background thread.

Used by ``editsync run`` when no Shopify, Peoplevox or ERP URL is configured,
by ``editsync sandboxes`` and by the tests. The sandboxes' Python objects stay
reachable for inspection; everything editsync does goes over HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sandboxes.erp.oauth import Integration
from sandboxes.erp.server import ErpSandbox, Seed
from sandboxes.peoplevox.server import PeoplevoxSandbox
from sandboxes.peoplevox.warehouse import Warehouse
from sandboxes.shopify.cost import Bucket
from sandboxes.shopify.server import ShopifySandbox
from sandboxes.shopify.store import Shop
from sandboxes.shopify.webhooks import DeliveryPlan, WebhookEmitter

T = TypeVar("T")

#: The sandbox merchant: what a small apparel shop sells, and what its warehouse knows.
CATALOGUE = {"TEE-S": "25.00", "TEE-M": "25.00", "TEE-L": "25.00", "HOODIE-M": "60.00", "HOODIE-L": "60.00",
             "MUG": "12.00", "SOCK": "8.00", "CAP": "18.00", "POSTER": "15.00", "BEANIE": "14.00",
             "TEE-PACK": "55.00"}
NOT_IN_WAREHOUSE = frozenset({"POSTER"})  # sold in Shopify, never set up in Peoplevox: UNKNOWN_SKU
#: The warehouse codes the beanie differently; the merchant maps it in editsync's reference file.
SKU_OVERRIDES = {"BEANIE": "HAT-BEANIE"}
#: Sold as one plain variant in Shopify, shipped as its parts: only editsync's reference file knows them.
REFERENCE_BUNDLES = {"TEE-PACK": (("TEE-M", 2), ("SOCK", 1))}
BUNDLE_SKU = "GIFT-BOX"
B2B_PRICES = {"TEE-M": "18.00", "HOODIE-M": "45.00"}


def _certificate_key() -> bytes:
    """A fresh EC P-256 key for the sandbox integration's certificate (ES256), as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class Credentials:
    shopify_token: str = "shpat_sandbox"
    peoplevox_client_id: str = "editsync"
    peoplevox_username: str = "integration"
    peoplevox_password: str = "sandbox-password"
    erp_client_id: str = "editsync-sandbox-integration"
    erp_certificate_id: str = "editsync-sandbox-certificate"
    erp_private_key_pem: bytes = field(default_factory=_certificate_key, repr=False)

    def erp_public_key_pem(self) -> bytes:
        key = serialization.load_pem_private_key(self.erp_private_key_pem, password=None)
        return key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


#: The NetSuite customer that takes orders from shoppers NetSuite does not know.
ERP_GUEST_CUSTOMER = "Shopify web orders"
ERP_ADJUSTMENT_ITEM = "Shopify refund adjustment"  # an Other Charge item, as a merchant would set one up


def seed_merchant(shop: Shop, warehouse: Warehouse, stock: int = 500) -> dict[str, Any]:
    """Locations, variants, a bundle and a B2B price list in Shopify; item types in Peoplevox."""
    shop.add_location("Main warehouse")
    variants = {sku: shop.add_variant(sku, price, stock=stock) for sku, price in CATALOGUE.items()}
    bundle = shop.add_variant(BUNDLE_SKU, "30.00", title="Gift box",
                              bundle_of=((variants["MUG"].id, 1), (variants["SOCK"].id, 2)))
    company_id, company_location_id = shop.add_company_location(
        {variants[sku].id: price for sku, price in B2B_PRICES.items()})
    warehouse.item_types.update({SKU_OVERRIDES.get(sku, sku): sku.title() for sku in CATALOGUE
                                 if sku not in NOT_IN_WAREHOUSE and sku not in REFERENCE_BUNDLES})
    return {"variants": {sku: v.id for sku, v in variants.items()} | {BUNDLE_SKU: bundle.id},
            "company_location_id": company_location_id, "company_id": company_id,
            "b2b_prices": {variants[sku].id: Decimal(p) for sku, p in B2B_PRICES.items()}}


@dataclass
class SandboxStack:
    webhook_url: str
    webhook_secret: bytes
    credentials: Credentials = field(default_factory=Credentials)
    pick_delay_s: tuple[float, float] = (30.0, 60.0)
    delivery: DeliveryPlan = field(default_factory=DeliveryPlan)
    bucket: Bucket = field(default_factory=Bucket)
    host: str = "127.0.0.1"
    seed: int | None = None

    def __post_init__(self) -> None:
        c = self.credentials
        self.shop = Shop()
        self.warehouse = Warehouse(client_id=c.peoplevox_client_id, username=c.peoplevox_username,
                                   password=c.peoplevox_password, pick_delay_s=self.pick_delay_s, seed=self.seed)
        self.merchant = seed_merchant(self.shop, self.warehouse)
        self.shopify = ShopifySandbox(self.shop, c.shopify_token, self.bucket, self.seed)
        self.peoplevox = PeoplevoxSandbox(self.warehouse, self.seed)
        self.erp = ErpSandbox(Integration(c.erp_client_id, c.erp_certificate_id, c.erp_public_key_pem()),
                              Seed(items={sku: "" for sku in (*CATALOGUE, BUNDLE_SKU)},
                                   customers=[{"entityId": ERP_GUEST_CUSTOMER}],
                                   other_charge_items=(ERP_ADJUSTMENT_ITEM,)), random_seed=self.seed)
        self.erp_default_customer_id = self.erp.customer_id(ERP_GUEST_CUSTOMER)
        self.emitter = WebhookEmitter(self.shop, self.webhook_url, self.webhook_secret, plan=self.delivery,
                                      seed=self.seed)
        self.shopify.emitter = self.emitter
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sandboxes", daemon=True)
        self._runners: list[web.AppRunner] = []
        self.ports: dict[str, int] = {}

    @property
    def shopify_url(self) -> str:
        return f"http://{self.host}:{self.ports['shopify']}"

    @property
    def peoplevox_url(self) -> str:
        return (f"http://{self.host}:{self.ports['peoplevox']}/{self.credentials.peoplevox_client_id}"
                "/resources/integrationservicev4.asmx")

    @property
    def erp_url(self) -> str:
        return f"http://{self.host}:{self.ports['erp']}/services/rest"

    def control_url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}/_sandbox"

    def start(self) -> SandboxStack:
        self._thread.start()
        self.call(self._start())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> SandboxStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the sandboxes' loop from any other thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _start(self) -> None:
        await self.emitter.start()
        for name, sandbox in (("shopify", self.shopify), ("peoplevox", self.peoplevox), ("erp", self.erp)):
            runner = web.AppRunner(sandbox.app(), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self.host, 0)
            await site.start()
            self.ports[name] = runner.addresses[0][1]
            self._runners.append(runner)

    async def _stop(self) -> None:
        await self.emitter.close()
        for runner in self._runners:
            await runner.cleanup()


def sandbox_reference(stack: SandboxStack) -> dict[str, Any]:
    """The sandbox merchant's editsync reference file: SKU overrides, bundles only it knows, its B2B price list
    (item codes come from Peoplevox)."""
    return {"sku_overrides": dict(SKU_OVERRIDES),
            "bundles": {sku: [list(part) for part in parts] for sku, parts in REFERENCE_BUNDLES.items()},
            "b2b_prices": {str(stack.merchant["company_location_id"]):
                           {str(variant): str(price) for variant, price in stack.merchant["b2b_prices"].items()}}}

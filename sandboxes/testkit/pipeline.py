"""The whole service on the real broker against sandboxes it does not own, so it can be restarted.

The sandboxes run in the test process (their own loop thread); ``editsync
run`` runs as a subprocess pointed at them and at the test's Tansu broker,
exactly as production points it at Shopify, Peoplevox and NetSuite. Tests act
as the merchant and the warehouse through the sandboxes' HTTP control
surfaces and judge the end state with the demo's own judge (``sandboxes/judge``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient

from sandboxes.demo import Demo
from sandboxes.judge import adapters
from sandboxes.judge.models import OpenException, OrderVerdict, Plan, Verdict
from sandboxes.shopify.cost import Bucket
from sandboxes.shopify.webhooks import DeliveryPlan
from sandboxes.stack import ERP_ADJUSTMENT_ITEM, SandboxStack, sandbox_reference
from sandboxes.testkit.kafka_reader import read_topic
from sandboxes.testkit.service import SECRET, Service, service_env
from sandboxes.testkit.support import wait_for
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.broker import EmbeddedBroker, free_port

CODEC = AvroCodec()


#: Sets up more of the merchant before editsync starts (locations, items in every system); answers what
#: editsync's reference file should hold besides the sandbox merchant's (e.g. ``{"bundles": {…}}``).
MerchantSetUp = Callable[[SandboxStack], dict[str, dict[str, Any]]]


@contextmanager
def pipeline_on_own_broker(tmp: Path, merchant: MerchantSetUp | None = None, **env: str) -> Iterator[Pipeline]:
    """A broker of its own: no other module's records or consumer groups in the way."""
    with EmbeddedBroker(log_path=tmp / "tansu.log") as broker:
        pipeline = Pipeline(broker.bootstrap, tmp, merchant, **env)
        try:
            yield pipeline
        finally:
            pipeline.close()


class Pipeline:
    def __init__(self, bootstrap: str, tmp: Path, merchant: MerchantSetUp | None = None, **env: str) -> None:
        self.bootstrap = bootstrap
        self.tmp = tmp
        port = free_port()
        # Shopify retries an unanswered webhook for hours; a restart here must not outlast the retries.
        self.sandboxes = SandboxStack(f"http://127.0.0.1:{port}/webhooks/shopify", SECRET.encode(),
                                      pick_delay_s=(3600, 3600), bucket=Bucket(maximum=4000, restore_rate=1000),
                                      delivery=DeliveryPlan(max_attempts=10, retry_base_s=1.0), seed=7).start()
        reference = tmp / "reference.json"
        merchant_reference = sandbox_reference(self.sandboxes)
        # Item types are read when editsync starts: the whole merchant must be set up before.
        for section, entries in (merchant(self.sandboxes) if merchant else {}).items():
            merchant_reference[section] = {**merchant_reference.get(section, {}), **entries}
        reference.write_text(json.dumps(merchant_reference))
        c = self.sandboxes.credentials
        erp_key = tmp / "netsuite-certificate.pem"
        erp_key.write_bytes(c.erp_private_key_pem)
        self.env = service_env(tmp, **{"EDITSYNC_KAFKA_BOOTSTRAP": bootstrap, "EDITSYNC_WEB_PORT": str(port),
                                       "EDITSYNC_SHOPIFY_ADMIN_URL": self.sandboxes.shopify_url,
                                       "EDITSYNC_SHOPIFY_ACCESS_TOKEN": c.shopify_token,
                                       "EDITSYNC_PEOPLEVOX_URL": self.sandboxes.peoplevox_url,
                                       "EDITSYNC_PEOPLEVOX_CLIENT_ID": c.peoplevox_client_id,
                                       "EDITSYNC_PEOPLEVOX_USERNAME": c.peoplevox_username,
                                       "EDITSYNC_PEOPLEVOX_PASSWORD": c.peoplevox_password,
                                       # Required with a real Peoplevox: one value for every worker.
                                       "EDITSYNC_PEOPLEVOX_CALLBACK_TOKEN": "pipeline-callback-token",
                                       "EDITSYNC_ERP_URL": self.sandboxes.erp_url,
                                       "EDITSYNC_ERP_CLIENT_ID": c.erp_client_id,
                                       "EDITSYNC_ERP_CERTIFICATE_ID": c.erp_certificate_id,
                                       "EDITSYNC_ERP_PRIVATE_KEY_FILE": str(erp_key),
                                       "EDITSYNC_ERP_DEFAULT_CUSTOMER_ID": self.sandboxes.erp_default_customer_id,
                                       "EDITSYNC_ERP_ADJUSTMENT_ITEM": ERP_ADJUSTMENT_ITEM,
                                       "EDITSYNC_REFERENCE_FILE": str(reference), "EDITSYNC_DEBOUNCE_MS": "300",
                                       # An admin edit's upsell is finance's within the judge's patience.
                                       "EDITSYNC_PAYMENT_GRACE_S": "2", **env})
        self.demo = Demo({"shopify": self.sandboxes.shopify_url, "peoplevox": self.sandboxes.peoplevox_url,
                          "erp": self.sandboxes.erp_url}, seed=7, reference=adapters.reference(merchant_reference))
        self.variants = self.sandboxes.merchant["variants"]
        self.starts = 0
        self.service = self._start()

    def _start(self) -> Service:
        self.starts += 1
        service = Service(self.env, self.tmp / f"editsync-{self.starts}.log")
        try:
            service.wait_ready()
        except BaseException:
            service.stop()  # never leave a worker that did not become ready running
            raise
        return service

    def restart(self, kill: bool, wipe: bool, while_down: Callable[[], None] | None = None) -> None:
        """Stop the worker (SIGKILL when ``kill``), optionally lose its local state, run ``while_down``, start."""
        if kill:
            self.service.process.kill()
        self.service.stop()
        if wipe:
            shutil.rmtree(self.env["EDITSYNC_DATA_DIR"])
        if while_down:
            while_down()
        self.service = self._start()

    def delete_changelogs(self) -> None:
        """Delete the tables' changelog topics, as an operator recreating a topic does: the worker's local state
        then describes a history the broker no longer holds, and is discarded at its next start."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        changelogs = [name for name in admin.list_topics(timeout=10).topics if name.endswith("-changelog")]
        assert changelogs, "no changelog topic to delete"
        for future in admin.delete_topics(changelogs).values():
            future.result(timeout=10)

    def close(self) -> None:
        try:
            self.service.stop()
        finally:
            self.sandboxes.stop()

    # --- acting as the merchant and the warehouse -------------------------------------------

    def create(self, items: dict[str, int], **arguments: Any) -> Plan:
        order = self.demo.op("create_order", items=[[self.variants[sku], n] for sku, n in items.items()],
                             address={"name": "Ann Smith", "address1": "1 High Street", "city": "Leeds"},
                             **arguments)
        plan = Plan.of(order, ["create"])
        self.demo.plans[order["id"]] = plan
        return plan

    def edit(self, plan: Plan, operation: str, **arguments: Any) -> dict[str, Any]:
        return self.demo.edit(plan, operation, operation, **arguments)

    def set_delivery(self, **plan: Any) -> None:
        """Change how the Shopify sandbox delivers webhooks (``sandboxes.shopify.webhooks.DeliveryPlan``)."""
        httpx.put(f"{self.sandboxes.shopify_url}/_sandbox/webhooks", json=plan, timeout=10).raise_for_status()

    def set_faults(self, system: str, **faults: Any) -> None:
        httpx.put(f"{self.sandboxes.control_url(system)}/faults", json=faults, timeout=10).raise_for_status()

    def calls_to(self, system: str, operation: str) -> int:
        """How many requests of one operation a sandbox has received."""
        calls = httpx.get(f"{self.sandboxes.control_url(system)}/calls", timeout=10).json()
        return sum(1 for call in calls if call["operation"] == operation)

    def force_status(self, plan: Plan, status: str) -> None:
        self.demo.set_status(plan, status)

    def recreate(self, original: Plan, items: dict[str, int], marker: str, cancel_original: bool) -> Plan:
        return self.demo.recreate(original, [[self.variants[sku], n] for sku, n in items.items()], marker,
                                  cancel_original)

    # --- judging ------------------------------------------------------------------------------

    def sales_orders(self, plan: Plan) -> dict[str, dict[str, Any]]:
        state = self.demo.state(self.demo.peoplevox)["sales_orders"]
        return {number: so for number, so in state.items() if so["reference"] == str(plan.order_id)}

    def live_sales_orders(self, plan: Plan) -> list[dict[str, Any]]:
        return [so for so in self.sales_orders(plan).values() if so["status"] != "Cancelled"]

    def records(self, plan: Plan, topic: str = topics.COMMANDS_PEOPLEVOX) -> list[dict[str, Any]]:
        """One order's records on a topic (keyed by order id), decoded, oldest first."""
        return [CODEC.decode(topic, m.value()) for m in read_topic(self.bootstrap, topic, idle_s=1.0)
                if m.key() == str(plan.order_id).encode()]

    def exceptions(self) -> tuple[OpenException, ...]:
        return adapters.open_exceptions(CODEC.decode(topics.EXCEPTIONS, m.value())
                                        for m in read_topic(self.bootstrap, topics.EXCEPTIONS, idle_s=1.0))

    def verdict(self) -> Verdict:
        return self.demo.verdict(self.exceptions())

    def settled(self, plans: list[Plan], timeout_s: float = 60.0,
                done: Callable[[OrderVerdict], bool] | None = None) -> Verdict:
        """Wait until the judge finds every plan's order in sync (or ``done`` holds for each), then return it."""
        done = done or (lambda order: order.in_sync)
        deadline = time.monotonic() + timeout_s
        while True:
            verdict = self.verdict()
            if all(done(verdict.order(plan.order_id)) for plan in plans):
                return verdict
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled in {timeout_s}s: "
                                     f"{[verdict.order(p.order_id) for p in plans]}\n{self.service.log()}")
            time.sleep(1.0)

    def wait_for(self, what: str, condition: Callable[[], Any], timeout_s: float = 30.0) -> Any:
        return wait_for(what, condition, timeout_s, detail=self.service.log)

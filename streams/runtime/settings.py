"""Settings, read once from ``EDITSYNC_*`` environment variables.

Every knob is documented here, in its field's description: docs/configuration.md is generated from
them (docs/gen_configuration.py), and a test fails while the page and the code differ
(tests/unit/project/test_docs.py).
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.core.peoplevox import CutOff, PeoplevoxColumns
from streams.core.recreate import RecreatePolicy

#: Room a record needs besides the webhook body it carries: Shopify's headers (each at most
#: streams.ingress.webhooks.MAX_HEADER_CHARS), a dead letter's reason (at most
#: streams.kafka.dead_letters.MAX_REASON_CHARS) and context, Avro and Kafka record framing.
RECORD_RESERVE_BYTES = 16 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EDITSYNC_", extra="ignore")

    # Kafka
    kafka_bootstrap: str | None = Field(
        None,
        description="Comma-separated bootstrap servers (Apache Kafka in docker-compose and Kubernetes). Unset: start "
                    "the embedded Tansu broker.",
    )
    topic_partitions: int = Field(
        8, ge=1,
        description="Partitions for each editsync topic created at start-up (existing topics are left alone).",
    )
    topic_replication_factor: int = Field(
        1, ge=1, description="Replication factor for created topics (3 on a production cluster)."
    )
    kafka_session_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Consumer group session timeout. Short keeps fail-over fast; on Tansu the first group join takes "
                    "about half of it.",
    )
    kafka_fetch_max_wait_ms: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Longest a consumer's fetch waits at the broker for records. Apache Kafka answers as soon as "
                    "records arrive, so there it only paces idle polling; the embedded Tansu broker answers when the "
                    "wait is over, so every hop of an edit (webhook, order state, sink) waits out what is left of it.",
    )
    schema_registry_url: str | None = Field(
        None, description="Confluent Schema Registry; unset uses Avro single-object encoding."
    )
    kafka_max_message_bytes: int = Field(
        1_000_000, ge=64 * 1024,
        description="Largest record editsync produces: the producer's max request size, and `max.message.bytes` of "
                    "the topics it creates. On a cluster whose topics exist already, their `max.message.bytes` (and "
                    "the brokers' `message.max.bytes`) must be at least this.",
    )
    app_id: str = Field("editsync", description="Faust app id: consumer group id and internal topic prefix.")
    data_dir: Path = Field(
        Path(".editsync-data"), description="Local state: table stores, the embedded broker's log and address."
    )

    # Web server: webhook ingress, health, metrics
    web_host: str = Field("127.0.0.1", description="Address the web server binds (`0.0.0.0` in containers).")
    web_port: int = Field(6066, ge=1, le=65535, description="Port of the web server.")
    shopify_webhook_secret: SecretStr | None = Field(
        None,
        description="Your Shopify app's client secret, which signs webhooks (at least 16 characters; a shorter value "
                    "stops the start with a configuration error). Never logged. `make run` sets "
                    "`editsync-dev-secret` when unset.",
        json_schema_extra={"shown_default": "required"},
    )
    webhook_max_body_bytes: int = Field(
        960 * 1024, ge=1024,
        description="Larger webhook bodies are refused with 413. At most `EDITSYNC_KAFKA_MAX_MESSAGE_BYTES` − 16 KiB "
                    "(checked at start): a body accepted must fit, with Shopify's headers and framing, in the record "
                    "that carries it, raw envelope or dead letter.",
        json_schema_extra={"shown_default": "`983040` (960 KiB)"},
    )
    web_read_timeout_s: float = Field(
        10.0, gt=0,
        description="A connection that sends no complete request headers within this time, or stays idle this long "
                    "between requests, is closed; a webhook body not received within it is answered 408. Shopify "
                    "itself gives up on a webhook after 5 s.",
    )
    ingress_ack_timeout_s: float = Field(
        10.0, gt=0,
        description="How long a webhook waits for the broker's acknowledgement before answering 503.",
    )

    # Downstream systems: all unset starts the sandboxes (Shopify, Peoplevox, ERP) on loopback
    shopify_admin_url: str | None = Field(
        None,
        description="Shop base URL (`https://<shop>.myshopify.com`). Unset together with the Peoplevox and ERP URLs: "
                    "`editsync run` starts the sandboxes. Set one, set all.",
    )
    shopify_access_token: SecretStr | None = Field(
        None, description="Admin API access token (`X-Shopify-Access-Token`). Never logged."
    )
    shopify_api_version: str = Field(
        "2026-10", description="Admin GraphQL version; the order query is validated against this schema in the tests."
    )
    peoplevox_url: str | None = Field(
        None, description="`https://<host>/<ClientId>/resources/integrationservicev4.asmx`."
    )
    peoplevox_client_id: str | None = Field(None, description="Peoplevox client id.")
    peoplevox_username: str | None = Field(None, description="Integration user.")
    peoplevox_password: SecretStr | None = Field(
        None, description="Its password (sent base64, as the service requires). Never logged."
    )
    peoplevox_cutoff_status: str = Field(
        "Picking",
        description="From this pick-cycle status on (`New`, `Picking`, `Packed`, `Despatched`) no update is sent; the "
                    "edit becomes `EDIT_AFTER_PICK`.",
    )
    edit_lock_tag: str = Field(
        "editsync-locked",
        description="Tag editsync adds to the Shopify order (`tagsAdd`) once Peoplevox holds it at or past the "
                    "cut-off, and removes when the warehouse lets go; set your order-editing app to stop edits on it. "
                    "Needs the `write_orders` scope. Empty: no lock.",
    )
    release_hold_s: float = Field(
        0.0, ge=0,
        description="The edit window: a new order goes to Peoplevox only this long after checkout, so the edits "
                    "customers make in the first minutes reach the warehouse as the order's first version, never as "
                    "an update or a cancel-and-replace. Stock and the ERP do not wait. 0: no window.",
    )
    release_hold_bypass_tags: str = Field(
        "express",
        description="Comma-separated order tags (any case) that skip the edit window: the order goes to the "
                    "warehouse at once.",
    )
    release_hold_bypass_shipping: str = Field(
        "express",
        description="Comma-separated words (any case): an order whose shipping method's title or code holds one "
                    "skips the edit window.",
    )
    release_hold_bypass_b2b: bool = Field(True, description="Companies' (B2B) orders skip the edit window.")
    shopify_fulfillment_orders: bool = Field(
        True,
        description="Mirror the warehouse on the order's merchant-managed fulfillment orders: in progress while "
                    "Peoplevox picks (`fulfillmentOrderReportProgress`, undone with `fulfillmentOrderOpen`) and on "
                    "editsync's own hold while the edit window is open (`fulfillmentOrderHold`). Needs "
                    "`write_merchant_managed_fulfillment_orders`.",
    )
    fulfil_despatches: bool = Field(
        True,
        description="Post each Peoplevox despatch to Shopify as a fulfillment of the despatched lines, with carrier "
                    "and tracking number (`fulfillmentCreate`; needs `write_merchant_managed_fulfillment_orders`). "
                    "Turn off where another connector already posts the warehouse's fulfillments.",
    )
    fulfillment_notify_customer: bool = Field(
        True, description="Those fulfillments ask Shopify to send the customer its shipping confirmation.",
    )
    peoplevox_columns: PeoplevoxColumns = Field(
        default_factory=PeoplevoxColumns,
        description="JSON object: which column of your Peoplevox import templates holds each value, e.g. "
                    '`{"gift_message": "", "line_notes": "PersonalisationText"}`; `""` sends nothing. Keys and '
                    "defaults under [Connecting Peoplevox](connecting/peoplevox.md#templates).",
        json_schema_extra={"shown_default": "default templates"},
    )
    peoplevox_timeout_s: float = Field(
        15.0, gt=0,
        description="Seconds before a Peoplevox call counts as timed out (then retried: the import may have happened, "
                    "and repeating it is safe).",
    )
    peoplevox_callback_token: SecretStr | None = Field(
        None,
        description="Token Peoplevox callbacks must carry (`?token=`): one value for the whole fleet, since a "
                    "callback reaches any worker and each refuses (401) another token; unset with "
                    "`EDITSYNC_PEOPLEVOX_URL` set stops the start with a configuration error. With the sandboxes "
                    "(`make run`), generated once per data dir when unset. Never logged.",
        json_schema_extra={"shown_default": "required with a real Peoplevox"},
    )
    public_url: str | None = Field(
        None,
        description="How Peoplevox reaches `/webhooks/peoplevox` (given to `SubscribeEvent` by the leader): with "
                    "several workers, the address of the fleet's load balancer.",
        json_schema_extra={"shown_default": "`http://<web host>:<web port>`"},
    )
    erp_url: str | None = Field(
        None, description="NetSuite REST base, `https://<account>.suitetalk.api.netsuite.com/services/rest`."
    )
    erp_client_id: str | None = Field(
        None,
        description="Client ID of the NetSuite integration record (client credentials grant). See "
                    "[Connecting NetSuite](connecting/netsuite.md).",
    )
    erp_certificate_id: str | None = Field(
        None,
        description="Certificate ID NetSuite shows for the certificate mapped to that integration (the JWT `kid`).",
    )
    erp_private_key_file: Path | None = Field(
        None,
        description="PEM private key of that certificate (RSA signs PS256, EC signs ES256/384/512). Never logged.",
    )
    erp_default_customer_id: str | None = Field(
        None,
        description="Internal id of the NetSuite customer for orders whose customer NetSuite does not know (guests). "
                    "Unset: such orders become `ERP_SYNC_FAILED`.",
    )
    erp_adjustment_item: str | None = Field(
        None,
        description="Item Name/Number of a NetSuite Other Charge item. A credit memo must total what Shopify "
                    "refunded, which is rarely the refunded lines' value (a size swap refunds the removed lines less "
                    "the added one; shipping and goodwill refunds have no lines): the difference goes on one line of "
                    "this item. Unset: such refunds become `REFUND_NOT_POSTED`.",
        json_schema_extra={"shown_default": "unset (sandbox: `Shopify refund adjustment`)"},
    )
    shopify_sweep_s: float = Field(
        300.0, ge=0,
        description="How often one worker (the Faust leader) lists the orders Shopify updated since its last sweep "
                    "(id and `updatedAt` only) so that a change whose webhook never came is read anyway; `0` turns "
                    "the sweep off. See [The decision core](architecture.md#the-decision-core).",
    )
    shopify_sweep_lookback_s: float = Field(
        21600.0, gt=0,
        description="How far back a worker's first sweep looks (the since-time lives in the sweeping worker's "
                    "memory: after a start or a change of leader). Longer than Shopify's 4 hours of webhook retries, "
                    "so an outage up to this long loses nothing.",
        json_schema_extra={"shown_default": "`21600` (6 h)"},
    )
    reference_file: Path | None = Field(
        None,
        description="JSON: `sku_overrides` (SKU → ItemCode), `bundles` (SKU → [[component SKU, qty]]), `b2b_prices` "
                    "(company location id → variant id → price); see [Reference "
                    "data](connecting/index.md#reference-data-sku-overrides-kits-b2b-prices). ItemCodes themselves "
                    "are read from Peoplevox's Item Types (every `EDITSYNC_ITEM_CODES_REFRESH_S`).",
    )

    # Decisions and sinks
    debounce_ms: int = Field(
        2000, ge=0,
        description="Events for one order within this window give one Shopify read and one set of commands.",
    )
    payment_grace_s: float = Field(
        300.0, gt=0,
        description="How long an edited order may show a balance in Shopify (`totalOutstandingSet`: to collect, or "
                    "a refund owed) before it is finance's: `PAYMENT_OUTSTANDING` or `REFUND_OWED`, resolved by "
                    "itself once Shopify shows nothing owed. Long enough for the customer's editing app to charge or "
                    "refund the difference.",
    )
    hold_bound_s: float = Field(
        300.0, gt=0,
        description="An order waiting longer than this for a Shopify read, a despatch Peoplevox could not report, its "
                    "original order's answer (recreate) or "
                    "its commands' results gets an owned exception (`ORDER_STALLED`, `RECREATE_UNRESOLVED`, owner "
                    "ops) that resolves itself when the wait ends.",
    )
    recreate_markers: RecreatePolicy = Field(
        default_factory=RecreatePolicy,
        description="JSON object: how your order-editing app marks an order it recreated from another. "
                    "`note_attributes` (names, any case; default `edited_from`, `original_order`, `replaces_order`, "
                    "`_original_order`), `tag_prefixes` (default `edited-from-`, `replaces-`, `recreated-from-`), "
                    "`note_patterns` (regular expressions, each with one group capturing the original's name or id; "
                    r"default `edited from (?:order )?(#?[\w-]+)` and `replaces (?:order )?(#?[\w-]+)`). A key given "
                    "replaces that list; an unknown key, an empty name or a pattern without exactly one group is a "
                    'configuration error. Example: `{"tag_prefixes": ["ordereditor:orig-"]}`.',
        json_schema_extra={"shown_default": "built in (listed here)"},
    )
    sink_concurrency: int = Field(
        4, ge=1,
        description="Commands executed at once per target (per worker); also Peoplevox re-reads. One order never has "
                    "two warehouse commands at once (the engine keeps one in flight), so this only lets a slow or "
                    "timing-out system serve several orders at a time.",
    )
    sink_rate_per_s: float = Field(20.0, gt=0, description="Requests per second per target (per worker).")
    sink_max_attempts: int = Field(
        8, ge=1,
        description="Attempts before a command becomes a FAILED result and an exception with an owner. With the "
                    "default backoff the retries span at least 63 s, so a target down for a minute loses nothing.",
    )
    sink_backoff_s: float = Field(
        1.0, gt=0,
        description="Retry delay scale: retry *n* waits between half and all of this × 2^(n-1), capped at 5 minutes; "
                    "a longer `Retry-After` wins.",
    )

    # Operations
    lag_interval_s: float = Field(
        5.0, gt=0,
        description="How often each worker's lag monitor measures high watermarks (from fetch responses) and the "
                    "group's committed offsets.",
    )
    agent_crash_exit_s: float = Field(
        30.0, ge=0,
        description="After an agent crashes, `/healthz` answers 503 at once and the worker exits with code 70 this "
                    "many seconds later (time for Prometheus to scrape the crash).",
    )
    partition_stall_s: float = Field(
        120.0, gt=0,
        description="A partition this worker owns whose lag is not committed for this long (the group's committed "
                    "offset does not move; waits the retry agent makes on purpose do not count) is resumed in the "
                    "consumer and fetched again from its committed offset; still stalled as long again, the worker "
                    "exits with code 75 so that a fresh one takes over. At least 4 × `EDITSYNC_LAG_INTERVAL_S`. See "
                    "[Stalled partitions](operating/restarts.md#stalled-partitions).",
    )
    fault_injection: bool = Field(
        False,
        description='Tests only: enables `PUT /_faults` (`{"crash_agent": name}` makes that agent raise on its next '
                    'record; `{"pause_partition": {"topic": t, "partition": p}}` pauses a partition in the consumer, '
                    "as Faust can leave one after a rebalance). Never set in production.",
    )

    log_level: str = Field(
        "info",
        description="`debug`, `info`, `warning` or `error`. At every level, third-party loggers included, configured "
                    "secrets and credentials in URLs, headers and SOAP envelopes are written as `[redacted]`.",
    )

    # Exceptions: store, API, inbox, notifications
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token of the exceptions API, the inbox's sign-in and the CLI. Unset: generated once per "
                    "data dir (`<data dir>/api-token`) and printed by the start that made it (later starts print "
                    "where it is kept). Never logged.",
        json_schema_extra={"shown_default": "generated"},
    )
    api_url: str | None = Field(
        None,
        description="Where `editsync exceptions`, `order`, `replay` and `release` reach the API (loopback when the "
                    "host is `0.0.0.0`).",
        json_schema_extra={"shown_default": "`http://<web host>:<web port>`"},
    )
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL of the exception store, e.g. `postgresql+psycopg://user:password@host/editsync` "
                    "so that workers share one. Never logged.",
        json_schema_extra={"shown_default": "SQLite in the data dir"},
    )
    item_codes_refresh_s: float = Field(
        300.0, gt=0,
        description="How often Peoplevox's item codes are re-read; orders held for SKUs that now exist are reconciled "
                    "then.",
    )
    system_probe_s: float = Field(
        30.0, gt=0,
        description="While commands that the ERP or Shopify's inventory never answered wait (their exceptions open), "
                    "how often each worker asks that system one cheap question (a SuiteQL look-up; an "
                    "`orders(first: 1)` read); when it answers, they are sent again without anyone pressing retry. "
                    "Peoplevox is asked by the item-code refresh anyway.",
    )
    notify_min_severity: str = Field(
        "HIGH", pattern="^(LOW|MEDIUM|HIGH|CRITICAL)$",
        description="New exceptions at or above this (`LOW`, `MEDIUM`, `HIGH`, `CRITICAL`) are notified.",
    )
    notify_finance_url: SecretStr | None = Field(
        None, description="Slack-compatible incoming webhook for the finance team's new exceptions. Never logged."
    )
    notify_ops_url: SecretStr | None = Field(None, description="The same for operations.")
    notify_cx_url: SecretStr | None = Field(None, description="The same for customer service.")

    @model_validator(mode="after")
    def _bodies_fit_in_a_record(self) -> Settings:
        # A body accepted at the door must fit in the record that carries it (envelope or dead
        # letter), or it is answered 503 forever and neither published nor dead-lettered.
        if self.webhook_max_body_bytes + RECORD_RESERVE_BYTES > self.kafka_max_message_bytes:
            raise ValueError(
                f"EDITSYNC_WEBHOOK_MAX_BODY_BYTES ({self.webhook_max_body_bytes}) must be at most "
                f"EDITSYNC_KAFKA_MAX_MESSAGE_BYTES ({self.kafka_max_message_bytes}) - {RECORD_RESERVE_BYTES}")
        return self

    @model_validator(mode="after")
    def _stalls_measured_in_time(self) -> Settings:
        # The stall guard judges the lag monitor's figures: it needs several of them within its bound.
        if self.partition_stall_s < 4 * self.lag_interval_s:
            raise ValueError(f"EDITSYNC_PARTITION_STALL_S ({self.partition_stall_s}) must be at least 4 x "
                             f"EDITSYNC_LAG_INTERVAL_S ({self.lag_interval_s})")
        return self

    @property
    def uses_sandboxes(self) -> bool:
        return not (self.shopify_admin_url or self.peoplevox_url or self.erp_url)

    def require_downstream(self) -> None:
        """Either all three systems are configured, or none (then the sandboxes start); configured, the fleet
        shares one Peoplevox callback token."""
        if self.uses_sandboxes:
            return
        missing = [name for name, value in (
            ("EDITSYNC_SHOPIFY_ADMIN_URL", self.shopify_admin_url),
            ("EDITSYNC_SHOPIFY_ACCESS_TOKEN", self.shopify_access_token),
            ("EDITSYNC_PEOPLEVOX_URL", self.peoplevox_url), ("EDITSYNC_PEOPLEVOX_CLIENT_ID", self.peoplevox_client_id),
            ("EDITSYNC_PEOPLEVOX_USERNAME", self.peoplevox_username),
            ("EDITSYNC_PEOPLEVOX_PASSWORD", self.peoplevox_password),
            ("EDITSYNC_ERP_URL", self.erp_url), ("EDITSYNC_ERP_CLIENT_ID", self.erp_client_id),
            ("EDITSYNC_ERP_CERTIFICATE_ID", self.erp_certificate_id),
            ("EDITSYNC_ERP_PRIVATE_KEY_FILE", self.erp_private_key_file)) if not value]
        if missing:
            raise ConfigError("Set all downstream systems or none (none starts the sandboxes); missing: "
                              + ", ".join(missing))
        if not given(self.peoplevox_callback_token):
            # Peoplevox calls one address and the fleet's load balancer hands each callback to any worker: a
            # token made in one worker's data dir is refused (401) by every other worker.
            raise ConfigError("EDITSYNC_PEOPLEVOX_CALLBACK_TOKEN is required with a real Peoplevox: set one value, "
                              "the same on every worker (each worker refuses callbacks carrying another token)")

    @field_validator("peoplevox_cutoff_status")
    @classmethod
    def _a_pick_cycle_status(cls, value: str) -> str:
        CutOff(value)  # refuses a status outside the pick cycle, at start rather than when the sinks are built
        return value

    @field_validator("log_level")
    @classmethod
    def _a_log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
        return value.lower()

    @field_validator("kafka_bootstrap", "schema_registry_url", "shopify_admin_url", "peoplevox_url", "erp_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def erp_private_key(self) -> bytes:
        """The NetSuite certificate's private key, or a clear start-up error."""
        try:
            return self.erp_private_key_file.read_bytes() if self.erp_private_key_file else b""
        except OSError as error:
            raise ConfigError(f"EDITSYNC_ERP_PRIVATE_KEY_FILE cannot be read: {error}") from error

    @property
    def embedded_bootstrap_file(self) -> Path:
        """Where a running ``editsync run`` records its embedded broker's address, for ``editsync tail``."""
        return self.data_dir / "embedded-bootstrap"

    def callback_token(self) -> str:
        """The token Peoplevox callbacks must carry: configured, or made once and kept in the data dir."""
        return self._token(self.peoplevox_callback_token, "peoplevox-callback-token")

    def api_token_value(self) -> str:
        """The exceptions API's bearer token: configured, or made once and kept in the data dir."""
        return self._token(self.api_token, "api-token")

    @property
    def api_token_file(self) -> Path:
        return self.data_dir / "api-token"

    def client_api_token(self) -> tuple[str, str]:
        """The token the CLI sends, and where it came from. Only read, never made: a token made here could
        only be refused by the server, which keeps its own."""
        if given(self.api_token):
            return given(self.api_token), "EDITSYNC_API_TOKEN"
        try:
            token = self.api_token_file.read_text().strip()
        except OSError:
            token = ""
        if not token:
            raise ConfigError(
                f"no API token: set EDITSYNC_API_TOKEN to the token `editsync run` printed, or run this where "
                f"{self.api_token_file} (the server's data dir, EDITSYNC_DATA_DIR) holds it")
        return token, str(self.api_token_file)

    def _token(self, configured: SecretStr | None, file_name: str) -> str:
        if given(configured):
            return given(configured)
        path = self.data_dir / file_name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def store_url(self) -> str:
        """The exception store: the configured database, else SQLite in the data dir."""
        if given(self.database_url):
            return given(self.database_url)
        return f"sqlite:///{(self.data_dir / 'exceptions.sqlite3').resolve()}"

    def api_base_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        host = "127.0.0.1" if self.web_host in ("0.0.0.0", "::") else self.web_host
        return f"http://{host}:{self.web_port}"

    def callback_url(self) -> str:
        """The URL template given to Peoplevox's SubscribeEvent; Peoplevox fills the placeholders."""
        base = self.public_url or f"http://{self.web_host}:{self.web_port}"
        return (f"{base.rstrip('/')}/webhooks/peoplevox?token={self.callback_token()}&event=SalesOrderStatusChanges"
                "&order={SalesOrderNumber}&status={SalesOrderStatus.Name}&at={LastModificationTime}")

    def secret_values(self) -> list[str]:
        """Every secret configured, in each form it travels in: kept out of the logs."""
        values = [secret.get_secret_value() for secret in (
            self.shopify_webhook_secret, self.shopify_access_token, self.peoplevox_password) if secret is not None]
        if self.peoplevox_password is not None:
            # Peoplevox's Authenticate takes the password base64-encoded.
            values.append(base64.b64encode(self.peoplevox_password.get_secret_value().encode()).decode())
        values.append(self.callback_token())
        values.append(self.api_token_value())
        values += [secret.get_secret_value() for secret in (
            self.database_url, self.notify_finance_url, self.notify_ops_url, self.notify_cx_url) if secret is not None]
        key = self.erp_private_key().decode(errors="replace")
        # The PEM whole, and each line of its body: a log line would rather show one than the file.
        values += [key.strip(), *(line for line in key.splitlines() if len(line) >= 32 and "-----" not in line)]
        return [value for value in values if value]

    def require_webhook_secret(self) -> bytes:
        """The secret as bytes, or a clear start-up error when it is missing."""
        secret = given(self.shopify_webhook_secret)
        if not secret:
            raise ConfigError(
                "EDITSYNC_SHOPIFY_WEBHOOK_SECRET is required: set it to your Shopify app's client secret "
                "(make run sets a development value)."
            )
        if len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
            # A Shopify app's client secret is 32 characters or more. A short value is a weak signing key, and
            # the log redactor would replace every occurrence of it, garbling every line it appears in.
            raise ConfigError(
                f"EDITSYNC_SHOPIFY_WEBHOOK_SECRET is {len(secret)} characters long: it must be your Shopify app's "
                f"client secret (at least {MIN_WEBHOOK_SECRET_LENGTH} characters)."
            )
        return secret.encode()


MIN_WEBHOOK_SECRET_LENGTH = 16


def given(secret: SecretStr | None) -> str:
    """A secret setting's value; "" when it is unset or set empty (both mean: not given)."""
    return secret.get_secret_value() if secret is not None else ""


class ConfigError(RuntimeError):
    """Configuration that cannot work; raised at start-up, never mid-stream."""

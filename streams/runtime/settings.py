"""Settings, read once from ``EDITSYNC_*`` environment variables.

Every knob the README documents lives here, so the table in the README and
the code cannot drift apart without a test noticing (tests/unit/test_docs.py).
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
        None, description="Comma-separated bootstrap servers; unset starts the embedded Tansu broker."
    )
    topic_partitions: int = Field(8, ge=1, description="Partitions for every editsync topic created at start-up.")
    topic_replication_factor: int = Field(1, ge=1, description="Replication factor for created topics.")
    kafka_session_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Consumer group session timeout. Short keeps fail-over fast; Tansu's first join takes about half "
                    "of it.",
    )
    schema_registry_url: str | None = Field(
        None, description="Confluent Schema Registry URL; unset uses Avro single-object encoding."
    )
    kafka_max_message_bytes: int = Field(
        1_000_000, ge=64 * 1024,
        description="Largest record editsync produces (producer max request size; max.message.bytes of created "
                    "topics).",
    )
    app_id: str = Field("editsync", description="Faust app id: consumer group and internal topic prefix.")
    data_dir: Path = Field(Path(".editsync-data"), description="Local state (table stores) directory.")

    # Web server: webhook ingress, health, metrics
    web_host: str = Field("127.0.0.1", description="Address the web server binds; 0.0.0.0 in containers.")
    web_port: int = Field(6066, ge=1, le=65535, description="Port of the web server.")
    shopify_webhook_secret: SecretStr | None = Field(
        None, description="Shopify app client secret that signs webhooks (required)."
    )
    webhook_max_body_bytes: int = Field(
        960 * 1024, ge=1024,
        description="Larger webhook bodies are refused with 413; at most kafka_max_message_bytes - 16 KiB.",
    )
    web_read_timeout_s: float = Field(
        10.0, gt=0,
        description="A connection idle this long, or whose request headers or body take longer, is closed (408 for a "
                    "body).",
    )
    ingress_ack_timeout_s: float = Field(
        10.0, gt=0, description="How long a webhook waits for the broker's ack before answering 503."
    )

    # Downstream systems: all unset starts the sandboxes (Shopify, Peoplevox, ERP) on loopback
    shopify_admin_url: str | None = Field(None, description="Shop base URL, e.g. https://<shop>.myshopify.com.")
    shopify_access_token: SecretStr | None = Field(None, description="Admin API access token.")
    shopify_api_version: str = Field("2026-10", description="Admin GraphQL API version.")
    peoplevox_url: str | None = Field(
        None, description="Integration service URL: https://<host>/<ClientId>/resources/integrationservicev4.asmx."
    )
    peoplevox_client_id: str | None = Field(None, description="Peoplevox client id.")
    peoplevox_username: str | None = Field(None, description="Peoplevox integration user.")
    peoplevox_password: SecretStr | None = Field(None, description="Peoplevox password (sent base64, as required).")
    peoplevox_cutoff_status: str = Field(
        "Picking", description="From this pick-cycle status on, edits are not sent: New, Picking, Packed, Despatched."
    )
    peoplevox_columns: PeoplevoxColumns = Field(
        default_factory=PeoplevoxColumns,
        description="JSON object: which column of your Peoplevox import templates holds each value (see README).",
    )
    peoplevox_timeout_s: float = Field(15.0, gt=0, description="Seconds before a Peoplevox call counts as timed out.")
    peoplevox_callback_token: SecretStr | None = Field(
        None, description="Token Peoplevox callbacks must carry (?token=): one value for the whole fleet, required "
        "with a real Peoplevox; with the sandboxes, unset generates one per data dir."
    )
    public_url: str | None = Field(
        None, description="How Peoplevox reaches this service for callbacks; default http://<web_host>:<web_port>."
    )
    erp_url: str | None = Field(None, description="NetSuite REST base, e.g. https://<account>.suitetalk.api.netsuite.com/services/rest.")
    erp_client_id: str | None = Field(
        None, description="Client ID of the NetSuite integration record (OAuth 2.0 client credentials grant)."
    )
    erp_certificate_id: str | None = Field(
        None, description="Certificate ID from NetSuite's OAuth 2.0 Client Credentials (M2M) Setup: the JWT's kid."
    )
    erp_private_key_file: Path | None = Field(
        None, description="PEM private key of that certificate (RSA: PS256, EC: ES256/384/512); never logged."
    )
    erp_default_customer_id: str | None = Field(
        None, description="NetSuite customer internal id for orders whose customer NetSuite does not know (guests)."
    )
    erp_adjustment_item: str | None = Field(
        None, description="NetSuite item name (an Other Charge item) for the part of a refund its lines do not "
        "explain, so a credit memo totals what Shopify refunded."
    )
    shopify_sweep_s: float = Field(
        300.0, ge=0, description="How often the leader lists orders Shopify updated lately (id and updatedAt only), "
        "so an edit whose webhook never came is read anyway; 0 turns the sweep off."
    )
    shopify_sweep_lookback_s: float = Field(
        21600.0, gt=0, description="How far back a worker's first sweep (after a start, or on becoming leader) looks."
    )
    reference_file: Path | None = Field(
        None, description="JSON with sku_overrides, bundles and b2b_prices (see README); item codes come from "
                          "Peoplevox."
    )

    # Decisions and sinks
    debounce_ms: int = Field(2000, ge=0, description="Events for one order within this window give one fetch.")
    hold_bound_s: float = Field(300.0, gt=0, description="A wait longer than this becomes an owned exception.")
    recreate_markers: RecreatePolicy = Field(
        default_factory=RecreatePolicy,
        description="JSON object: how your order-editing app marks an order recreated from another "
        "(note_attributes, tag_prefixes, note_patterns; see README).",
    )
    sink_concurrency: int = Field(
        4, ge=1, description="Commands executed at once per target (per worker); one order has one at a time."
    )
    sink_rate_per_s: float = Field(20.0, gt=0, description="Requests per second per target (per worker).")
    sink_max_attempts: int = Field(8, ge=1, description="Attempts before a command becomes an exception.")
    sink_backoff_s: float = Field(1.0, gt=0, description="First retry delay; doubles per attempt, with jitter.")

    # Operations
    lag_interval_s: float = Field(
        5.0, gt=0, description="How often the lag monitor measures high watermarks and committed offsets."
    )
    agent_crash_exit_s: float = Field(
        30.0, ge=0, description="After an agent crashes, /healthz fails at once and the worker exits (code 70) this "
                                "much later."
    )
    partition_stall_s: float = Field(
        120.0, gt=0,
        description="An owned partition whose lag is not committed for this long is resumed and fetched again; "
        "still stalled as long again, the worker exits (code 75) for a fresh one.",
    )
    fault_injection: bool = Field(
        False, description="Tests only: PUT /_faults can make an agent raise or pause a partition. Never set in "
                           "production."
    )

    log_level: str = Field("info", description="Log level: debug, info, warning, error.")

    # Exceptions: store, API, inbox, notifications
    api_token: SecretStr | None = Field(
        None, description="Bearer token for the exceptions API, the inbox and the CLI; unset generates one per data "
                          "dir."
    )
    api_url: str | None = Field(
        None, description="Where the CLI reaches the API; default http://<web_host>:<web_port> (loopback for 0.0.0.0)."
    )
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL of the exception store (postgresql+psycopg://...); unset: SQLite in the "
                          "data dir."
    )
    item_codes_refresh_s: float = Field(
        300.0, gt=0, description="How often Peoplevox item codes are re-read; orders held for a now-known SKU heal "
                                 "then."
    )
    system_probe_s: float = Field(
        30.0, gt=0, description="While commands wait for a system that stopped answering, how often the ERP or "
                                "Shopify is "
                                "asked whether it answers again; when it does, they are sent again."
    )
    notify_min_severity: str = Field(
        "HIGH", pattern="^(LOW|MEDIUM|HIGH|CRITICAL)$", description="New exceptions at or above this are notified."
    )
    notify_finance_url: SecretStr | None = Field(None, description="Slack-compatible incoming webhook for finance.")
    notify_ops_url: SecretStr | None = Field(None, description="Slack-compatible incoming webhook for operations.")
    notify_cx_url: SecretStr | None = Field(None, description="Slack-compatible incoming webhook for customer service.")

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

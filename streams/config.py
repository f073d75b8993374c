"""Settings, read once from ``EDITSYNC_*`` environment variables.

Every knob the README documents lives here, so the table in the README and
the code cannot drift apart without a test noticing (tests/unit/test_config.py).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        description="Consumer group session timeout. Short keeps fail-over fast; Tansu's first join takes about half of it.",
    )
    schema_registry_url: str | None = Field(
        None, description="Confluent Schema Registry URL; unset uses Avro single-object encoding."
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
        2 * 1024 * 1024, ge=1024, description="Larger webhook bodies are refused with 413."
    )
    ingress_ack_timeout_s: float = Field(
        10.0, gt=0, description="How long a webhook waits for the broker's ack before answering 503."
    )

    log_level: str = Field("info", description="Log level: debug, info, warning, error.")

    @field_validator("kafka_bootstrap", "schema_registry_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @property
    def embedded_bootstrap_file(self) -> Path:
        """Where a running ``editsync run`` records its embedded broker's address, for ``editsync tail``."""
        return self.data_dir / "embedded-bootstrap"

    def require_webhook_secret(self) -> bytes:
        """The secret as bytes, or a clear start-up error when it is missing."""
        if self.shopify_webhook_secret is None or not self.shopify_webhook_secret.get_secret_value():
            raise ConfigError(
                "EDITSYNC_SHOPIFY_WEBHOOK_SECRET is required: set it to your Shopify app's client secret "
                "(make run sets a development value)."
            )
        return self.shopify_webhook_secret.get_secret_value().encode()


class ConfigError(RuntimeError):
    """Configuration that cannot work; raised at start-up, never mid-stream."""

"""Runtime settings, read from `TIDINGS_*` environment variables (or a `.env` file)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".tidings")
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATA_DIR / 'tidings.db'}"


class Settings(BaseSettings):
    """Everything an operator can set; each field is `TIDINGS_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TIDINGS_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the store: sqlite:///path or postgresql+psycopg://...",
    )
    rate_limit_per_minute: int = Field(
        default=1000,
        ge=1,
        description="API requests allowed per key (or client IP) per minute, and at once "
        "after a quiet minute (a token bucket; at least 1).",
    )
    sqlite_synchronous: str = Field(
        default="NORMAL",
        pattern="^(OFF|NORMAL|FULL|EXTRA)$",
        description="SQLite's synchronous pragma; NORMAL with WAL survives process crashes.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description="Pooled store connections per process (and as many more at peaks).",
    )
    inline_read_ms: int = Field(
        default=25,
        ge=0,
        le=1000,
        description="SQLite: how long an API read may run on the event loop before it moves to "
        "a reader thread (kit/reads.py); 0 reads on the threads only.",
    )
    retention_days: int = Field(
        default=30,
        ge=1,
        description="Whole UTC days logs, runs and events are kept before the purge.",
    )
    content_retention_days: int = Field(
        default=14, ge=1, description="Whole UTC days rendered message contents are kept."
    )
    schedule_tick_seconds: float = Field(
        default=60, gt=0, description="How often the time-driven notifications are checked."
    )

    # Workers (the distributed runner, PostgreSQL only) ----------------------------------------
    worker_concurrency: int = Field(
        default=8, ge=1, description="Runs a `tidings worker` process works on at once."
    )
    worker_heartbeat_seconds: float = Field(
        default=10, gt=0, description="How often a worker tells the database it is alive."
    )
    worker_stalled_seconds: float = Field(
        default=30,
        gt=0,
        description="Silence after which a worker counts as dead and its jobs are re-queued.",
    )
    worker_shutdown_seconds: float = Field(
        default=30,
        ge=0,
        description="On SIGTERM, how long a worker lets its runs finish their turn before it "
        "stops them (their unfinished logs are taken up again by another worker).",
    )
    maintenance_seconds: float = Field(
        default=60,
        gt=0,
        description="How often the cluster re-queues jobs of dead workers and runs without a job.",
    )

    backstage_base_url: str | None = Field(
        default=None,
        description="Base URL of Backstage; messages about entities imported from Backstage "
        "link there (without it they fail with BACKSTAGE_BASE_URL_MISSING).",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL of the developer portal; links in messages point under it.",
    )

    # Delivery: retries -----------------------------------------------------------------------
    retry_attempts: int = Field(
        default=8, ge=1, description="Tries per message before it is FAILED / CLIENT_ERROR."
    )
    retry_base_seconds: float = Field(
        default=30, gt=0, description="Backoff before the 2nd try; doubles each try (jittered)."
    )
    retry_max_delay_seconds: float = Field(
        default=600, gt=0, description="The longest backoff between two tries."
    )

    # Slack -------------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(
        default=None, description="Bot token (xoxb-...); without it Slack goes to the outbox."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL."
    )
    slack_per_channel_per_second: float = Field(
        default=1.0, ge=0, description="Messages per second to one Slack channel (0: unpaced)."
    )
    slack_concurrency: int = Field(default=16, ge=1, description="Slack requests at once.")

    # Microsoft Teams ---------------------------------------------------------------------------
    teams_enabled: bool = Field(
        default=False,
        description="Post Teams messages to channels' Workflows webhooks (webhookUrl in the "
        "catalog); off: Teams goes to the outbox.",
    )
    teams_direct_webhook_url: SecretStr | None = Field(
        default=None,
        description="A Workflows webhook that posts a card to the person named in the "
        "payload's `recipient`: how Teams messages reach people.",
    )
    teams_per_webhook_per_second: float = Field(
        default=4.0, ge=0, description="Messages per second to one Teams webhook (0: unpaced)."
    )
    teams_concurrency: int = Field(default=16, ge=1, description="Teams requests at once.")

    # Email -------------------------------------------------------------------------------------
    smtp_host: str | None = Field(
        default=None, description="SMTP server; without it email goes to the outbox."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    smtp_security: str = Field(
        default="starttls",
        pattern="^(starttls|tls|none)$",
        description="starttls, tls (implicit, usually port 465) or none.",
    )
    smtp_ca_file: str | None = Field(
        default=None,
        description="PEM file of the CAs to trust for the SMTP server's certificate (an "
        "internal CA); default: the system's.",
    )
    smtp_username: str | None = Field(default=None, description="SMTP user name.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(
        default="tidings <tidings@localhost>", description="The From: of every email."
    )
    smtp_concurrency: int = Field(default=8, ge=1, description="SMTP connections at once.")

    # Webhooks ----------------------------------------------------------------------------------
    webhook_signing_secret: SecretStr | None = Field(
        default=None,
        description="Standard Webhooks secret (whsec_...); without it webhooks go to the outbox.",
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, description="How long a webhook receiver has to answer."
    )
    webhook_allowed_networks: str = Field(
        default="",
        description="Comma-separated networks (CIDR) webhooks may reach although private, "
        "loopback or link-local, e.g. 127.0.0.0/8.",
    )
    webhook_concurrency: int = Field(default=64, ge=1, description="Webhook requests at once.")

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        from tidings.channels.http import parse_networks

        parse_networks(value)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()

"""Runtime settings, read from `TIDINGS_*` environment variables (or a `.env` file)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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
        default=1000, ge=1, description="API requests allowed per key (or client IP) per minute."
    )
    sqlite_synchronous: str = Field(
        default="NORMAL",
        pattern="^(OFF|NORMAL|FULL|EXTRA)$",
        description="SQLite's synchronous pragma; NORMAL with WAL survives process crashes.",
    )
    database_pool_size: int = Field(default=10, ge=1, description="Connections per process.")
    retention_days: int = Field(
        default=30, ge=1, description="Days logs, runs and events are kept before the purge."
    )
    content_retention_days: int = Field(
        default=14, ge=1, description="Days rendered message contents are kept."
    )
    schedule_tick_seconds: float = Field(
        default=60, gt=0, description="How often the time-driven notifications are checked."
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()

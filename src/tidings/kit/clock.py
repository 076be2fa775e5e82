"""The one source of the current time, so tests can move time without sleeping."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)

"""Per-client request budgets, enforced with the `limits` library."""

import time

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from tidings.kit.errors import RateLimitExceededError


class RateLimiter:
    """A moving one-minute window per client: no double burst at a window boundary."""

    def __init__(self, per_minute: int, storage_uri: str = "memory://") -> None:
        self._limit = RateLimitItemPerMinute(per_minute)
        self._strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def spend(self, client: str) -> None:
        """Count one request by `client`, or raise with the seconds until it may retry."""
        if self._strategy.hit(self._limit, client):
            return
        reset_at, _remaining = self._strategy.get_window_stats(self._limit, client)
        raise RateLimitExceededError(retry_after=reset_at - time.time())

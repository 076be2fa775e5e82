"""Per-client request budgets, enforced with the `limits` library."""

import time

from limits import RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from tidings.kit.errors import RateLimitExceededError


class RateLimiter:
    """A sliding one-minute window per client: no double burst at a window boundary.

    The asyncio flavour of `limits`, with its sliding-window counter: two counters a client
    instead of a timestamp a request. The threaded flavour started a timer thread for nearly
    every request, and the moving window sorted its timestamps on a worker thread after each
    one, both costing more than answering a cheap request.
    """

    def __init__(self, per_minute: int, storage_uri: str = "async+memory://") -> None:
        self._limit = RateLimitItemPerMinute(per_minute)
        self._strategy = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))

    async def spend(self, client: str) -> None:
        """Count one request by `client`, or raise with the seconds until it may retry."""
        if await self._strategy.hit(self._limit, client):
            return
        reset_at, _remaining = await self._strategy.get_window_stats(self._limit, client)
        raise RateLimitExceededError(retry_after=reset_at - time.time())

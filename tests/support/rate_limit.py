"""Counting what a rate limiter lets through, for the rate-limit tests."""

from tidings.kit.errors import RateLimitExceededError
from tidings.kit.ratelimit import RateLimiter


async def admitted(limiter: RateLimiter, client: str, times: int) -> int:
    """How many of `times` requests by `client` `limiter` lets through."""
    count = 0
    for _ in range(times):
        try:
            await limiter.spend(client)
            count += 1
        except RateLimitExceededError:
            pass
    return count

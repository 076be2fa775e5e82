"""The sliding-window counter: a budget per sliding minute, without a burst at the boundary."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tidings.kit.errors import RateLimitExceededError
from tidings.kit.ratelimit import Counts, MemoryWindowStore, RateLimiter, seconds_until_admitted

MINUTE_START = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def admitted(limiter: RateLimiter, client: str, times: int) -> int:
    """How many of `times` requests by `client` are let through."""

    async def spend_all() -> int:
        count = 0
        for _ in range(times):
            try:
                await limiter.spend(client)
                count += 1
            except RateLimitExceededError:
                pass
        return count

    return asyncio.run(spend_all())


def test_a_budget_is_spent_and_then_refused_with_the_seconds_to_wait() -> None:
    clock = Clock(MINUTE_START + timedelta(seconds=10))
    limiter = RateLimiter(4, MemoryWindowStore(), clock)
    assert admitted(limiter, "key:1", 4) == 4

    with pytest.raises(RateLimitExceededError) as refused:
        asyncio.run(limiter.spend("key:1"))

    # The four requests only slide out with the next minute: 50 s away and then, weighted by
    # the part of this minute still inside the window, a quarter of a minute more.
    assert refused.value.retry_after == 65


def test_the_end_of_a_minute_gives_no_second_burst() -> None:
    clock = Clock(MINUTE_START + timedelta(seconds=59))
    limiter = RateLimiter(10, MemoryWindowStore(), clock)
    assert admitted(limiter, "key:1", 10) == 10

    clock.now = MINUTE_START + timedelta(seconds=61)

    # A fixed window would allow ten more; the sliding minute still holds most of the ten.
    assert admitted(limiter, "key:1", 10) == 0


def test_the_budget_comes_back_as_the_previous_minute_slides_out() -> None:
    clock = Clock(MINUTE_START + timedelta(seconds=59))
    limiter = RateLimiter(10, MemoryWindowStore(), clock)
    admitted(limiter, "key:1", 10)

    clock.now = MINUTE_START + timedelta(seconds=60 + 30)

    assert admitted(limiter, "key:1", 10) == 5


def test_a_quiet_minute_restores_the_whole_budget() -> None:
    clock = Clock(MINUTE_START)
    limiter = RateLimiter(3, MemoryWindowStore(), clock)
    admitted(limiter, "key:1", 3)

    clock.now = MINUTE_START + timedelta(minutes=2)

    assert admitted(limiter, "key:1", 5) == 3


def test_clients_have_their_own_budgets() -> None:
    limiter = RateLimiter(2, MemoryWindowStore(), Clock(MINUTE_START))

    assert [admitted(limiter, client, 3) for client in ("key:1", "key:2", "ip:1")] == [2, 2, 2]


@pytest.mark.parametrize(
    ("counts", "elapsed", "limit", "wait"),
    [
        pytest.param(
            Counts(0, 10), 0.0, 10, 6.0, id="room once a tenth of the last minute slid out"
        ),
        pytest.param(Counts(0, 10), 30.0, 10, 0.0, id="half of the last minute slid out: room now"),
        pytest.param(Counts(10, 0), 30.0, 10, 30.0 + 6.0, id="only the next minute has room"),
        # The counter spreads last minute's requests evenly over it, so a single one counts
        # until that minute has slid out whole.
        pytest.param(Counts(1, 0), 0.0, 1, 120.0, id="a budget of one: two minutes"),
        pytest.param(Counts(3, 0), 0.0, 10, 0.0, id="room now"),
    ],
)
def test_seconds_until_admitted(counts: Counts, elapsed: float, limit: int, wait: float) -> None:
    assert seconds_until_admitted(counts, elapsed, limit) == pytest.approx(wait)

"""A client's budget is a token bucket decided by pyrate-limiter: `per_minute` requests at
once, refilling at `per_minute` a minute (one process: buckets in memory)."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.support.rate_limit import admitted as admitted_async
from tidings.kit.errors import RateLimitExceededError
from tidings.kit.ratelimit import (
    FORGET_EVERY_MS,
    Lease,
    LocalBudgets,
    MillisecondClock,
    RateLimiter,
    minute_rates,
)
from tidings.settings import Settings

START = datetime(2026, 3, 2, 12, 0, 0, 250_000, tzinfo=UTC)


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


def limiter(per_minute: int, clock: Clock) -> RateLimiter:
    """A one-process limiter allowing `per_minute` requests a minute."""
    return RateLimiter(LocalBudgets(per_minute), clock)


def admitted(limiter: RateLimiter, client: str, times: int) -> int:
    """How many of `times` requests by `client` are let through."""
    return asyncio.run(admitted_async(limiter, client, times))


def refusal(limiter: RateLimiter, client: str) -> RateLimitExceededError:
    """The error refusing one more request by `client`."""
    with pytest.raises(RateLimitExceededError) as refused:
        asyncio.run(limiter.spend(client))
    return refused.value


class TestBudget:
    def test_the_budget_passes_at_once_and_the_next_request_is_refused(self) -> None:
        clock = Clock()
        rate_limiter = limiter(4, clock)

        assert admitted(rate_limiter, "key:1", 4) == 4
        # One request refills every 60 / 4 = 15 seconds.
        assert refusal(rate_limiter, "key:1").retry_after == 15

    def test_the_retry_after_is_the_time_until_one_request_has_refilled(self) -> None:
        clock = Clock()
        rate_limiter = limiter(4, clock)
        admitted(rate_limiter, "key:1", 4)

        clock.advance(seconds=10.5)

        assert refusal(rate_limiter, "key:1").retry_after == 5  # 4.5 s, in whole seconds up

    def test_a_wait_under_a_second_is_announced_as_one_second(self) -> None:
        clock = Clock()
        rate_limiter = limiter(1000, clock)
        admitted(rate_limiter, "key:1", 1000)

        assert refusal(rate_limiter, "key:1").retry_after == 1  # 60 ms

    def test_the_budget_refills_at_per_minute_a_minute(self) -> None:
        clock = Clock()
        rate_limiter = limiter(60, clock)
        assert admitted(rate_limiter, "key:1", 61) == 60

        clock.advance(seconds=1)
        assert admitted(rate_limiter, "key:1", 2) == 1
        clock.advance(seconds=30)
        assert admitted(rate_limiter, "key:1", 40) == 30

    def test_a_quiet_client_saves_no_more_than_one_budget(self) -> None:
        clock = Clock()
        rate_limiter = limiter(3, clock)
        admitted(rate_limiter, "key:1", 3)

        clock.advance(minutes=10)

        assert admitted(rate_limiter, "key:1", 10) == 3

    def test_a_clock_set_back_forgives_rather_than_locks_clients_out(self) -> None:
        clock = Clock(START + timedelta(days=3))
        rate_limiter = limiter(3, clock)
        admitted(rate_limiter, "key:1", 3)

        clock.now = START

        assert admitted(rate_limiter, "key:1", 4) == 3

    def test_clients_have_their_own_budgets(self) -> None:
        rate_limiter = limiter(2, Clock())

        counts = [admitted(rate_limiter, client, 3) for client in ("key:1", "key:2", "ip:1")]

        assert counts == [2, 2, 2]

    def test_a_client_pacing_itself_with_the_same_token_bucket_is_never_refused(self) -> None:
        # The client keeps its own bucket of 1000 refilling at 1000 a minute, in exact
        # integers (a token is 60,000 units; each millisecond adds 1000), and sends whenever
        # it holds a token: first its whole bucket, then as fast as it refills.
        per_minute, token = 1000, 60_000
        clock = Clock()
        rate_limiter = limiter(per_minute, clock)
        tokens, sent = per_minute * token, 0

        async def pace(milliseconds: int, step: int) -> None:
            nonlocal tokens, sent
            for _ in range(0, milliseconds, step):
                while tokens >= token:
                    await rate_limiter.spend("key:cli")  # raises if refused
                    tokens -= token
                    sent += 1
                clock.advance(milliseconds=step)
                tokens = min(per_minute * token, tokens + per_minute * step)

        asyncio.run(pace(180_000, 7))

        assert sent == per_minute + 3 * per_minute - 1


class TestMemory:
    """One process keeps the buckets of recent clients only."""

    def test_clients_whose_bucket_is_full_again_are_forgotten(self) -> None:
        clock = Clock()
        budgets = LocalBudgets(60)
        rate_limiter = RateLimiter(budgets, clock)
        for n in range(1000):
            admitted(rate_limiter, f"ip:{n}", 1)

        clock.advance(milliseconds=FORGET_EVERY_MS)
        admitted(rate_limiter, "ip:new", 1)

        assert len(budgets) == 1

    def test_a_client_still_owing_is_remembered(self) -> None:
        clock = Clock()
        budgets = LocalBudgets(60)
        rate_limiter = RateLimiter(budgets, clock)
        admitted(rate_limiter, "key:busy", 60)
        admitted(rate_limiter, "key:quiet", 1)
        clock.advance(seconds=30)
        admitted(rate_limiter, "key:busy", 30)  # refilled by then, owed until 90 s

        clock.advance(milliseconds=FORGET_EVERY_MS - 30_000)
        admitted(rate_limiter, "ip:new", 1)

        assert len(budgets) == 2
        assert admitted(rate_limiter, "key:busy", 60) == 30


class TestTime:
    def test_the_library_reads_our_clock_in_epoch_milliseconds(self) -> None:
        clock = Clock(datetime(1970, 1, 1, 0, 0, 1, 2_999, tzinfo=UTC))

        assert MillisecondClock(clock).now() == 1_002


class TestLeaseSize:
    """A process leases what the demand it saw asks for, within the largest lease."""

    @pytest.mark.parametrize(
        ("lease", "now", "size"),
        [
            pytest.param(Lease(), 0, 1, id="first lease: one unit"),
            pytest.param(Lease(4, 0, 1000), 500, 8, id="spent while valid: twice as many"),
            pytest.param(Lease(16, 0, 1000), 500, 20, id="never more than the largest"),
            pytest.param(Lease(8, 5, 1000), 1000, 3, id="expired: what it served"),
            pytest.param(Lease(8, 0, 1000), 1500, 8, id="expired all spent: as many again"),
            pytest.param(Lease(8, 8, 1000), 1000, 1, id="expired unspent: one unit"),
        ],
    )
    def test_next_size(self, lease: Lease, now: int, size: int) -> None:
        assert lease.next_size(now, largest=20) == size

    def test_a_unit_is_spendable_until_the_lease_expires(self) -> None:
        lease = Lease(2, 2, 1000)

        assert [lease.spend(999), lease.spend(1000), lease.spend(999), lease.spend(999)] == [
            True,
            False,
            True,
            False,
        ]


class TestSettings:
    """A budget below one request a minute is refused when the process starts."""

    @pytest.mark.parametrize("value", ["0", "-5"])
    def test_the_setting_is_refused(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        monkeypatch.setenv("TIDINGS_RATE_LIMIT_PER_MINUTE", value)

        with pytest.raises(ValidationError, match="rate_limit_per_minute"):
            Settings(_env_file=None)

    @pytest.mark.parametrize("per_minute", [0, -5])
    def test_the_limiter_refuses_it_too(self, per_minute: int) -> None:
        with pytest.raises(ValueError, match="at least 1 request per minute"):
            minute_rates(per_minute)

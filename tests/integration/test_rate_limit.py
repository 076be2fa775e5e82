"""A budget of requests per minute per API key (per client IP without one); over it, 429.

The budget is a token bucket: `TIDINGS_RATE_LIMIT_PER_MINUTE` requests at once, refilling
at as many a minute. One store per backend serves the HTTP tests of the module; each builds
its own app with a small budget and a clock that moves only when told, so no budget carries
over from one test to the next and none depends on the wall clock. On PostgreSQL several
API processes spend from one budget per client.
"""

import asyncio
import bisect
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, text

from tests.support.engine_harness import MovableClock
from tests.support.rate_limit import admitted
from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.kit.db import create_db_engine
from tidings.kit.errors import RateLimitExceededError
from tidings.kit.orm import EPOCH, ONE_MILLISECOND
from tidings.kit.ratelimit import (
    ALGORITHM,
    FORGET_EVERY_MS,
    LEASE_SECONDS,
    PostgresStateStore,
    RateLimitBucket,
    RateLimiter,
    SharedBudgets,
    minute_rates,
)
from tidings.runtime import Runtime
from tidings.settings import Settings

LOGS = "/api/v1/notifications/logs"
RUNS = "/api/v1/notifications/logs/run"
ENDPOINTS = [pytest.param(LOGS, id="logs"), pytest.param(RUNS, id="runs")]
BUDGET = 3  # one request refills every 20 seconds
NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "retryAfter"}


@dataclass(frozen=True)
class Limited:
    """An app with a small budget, its clock, a client per address, and a way to make keys."""

    runtime: Runtime
    clock: MovableClock
    connect: Callable[[str], TestClient]

    def key(self) -> dict[str, str]:
        """Headers of a new key that may view logs."""
        with self.runtime.sessions.begin() as session:
            created = keys.create_key(
                session, "limited", [Permission.VIEW_NOTIFICATION_LOGS], datetime.now(UTC)
            )
        return {"Authorization": f"Bearer {created.secret}"}


@pytest.fixture
def limited(module_database_url: str) -> Iterator[Limited]:
    """An app over the module's store allowing BUDGET requests per minute per client."""
    with ExitStack() as stack:
        clock = MovableClock(NOW)
        runtime = Runtime.from_settings(
            Settings(database_url=module_database_url, rate_limit_per_minute=BUDGET),
            clock=clock,
        )
        stack.callback(runtime.close)
        with runtime.engine.begin() as connection:  # on PostgreSQL budgets live in the store
            connection.execute(delete(RateLimitBucket))
        app = create_app(runtime)

        def connect(address: str) -> TestClient:
            client = TestClient(app, raise_server_exceptions=False, client=(address, 50000))
            return stack.enter_context(client)

        yield Limited(runtime, clock, connect)


def spend(client: TestClient, path: str, headers: dict[str, str], times: int) -> list[int]:
    """The statuses of `times` requests."""
    return [client.get(path, headers=headers).status_code for _ in range(times)]


def assert_too_many_requests(response: httpx.Response, path: str) -> None:
    """A 429 problem+json whose retryAfter and Retry-After agree, in 1..60 seconds."""
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == PROBLEM_FIELDS
    assert body["status"] == 429
    assert body["instance"] == path
    assert isinstance(body["type"], str)
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert isinstance(body["retryAfter"], int)
    assert 1 <= body["retryAfter"] <= 60
    assert response.headers["Retry-After"] == str(body["retryAfter"])


class TestBudgetPerKey:
    """Each key has its own budget, shared by both endpoints."""

    @pytest.mark.parametrize("path", ENDPOINTS)
    def test_request_over_the_budget_is_a_429_problem(self, limited: Limited, path: str) -> None:
        client, headers = limited.connect("198.51.100.1"), limited.key()

        allowed = spend(client, path, headers, BUDGET)
        refused = client.get(path, headers=headers)

        assert allowed == [200] * BUDGET
        assert_too_many_requests(refused, path)

    def test_429_carries_a_request_id(self, limited: Limited) -> None:
        client, headers = limited.connect("198.51.100.1"), limited.key()
        spend(client, LOGS, headers, BUDGET)

        response = client.get(LOGS, headers=headers | {"X-Request-Id": "over-budget-1"})

        assert response.status_code == 429
        assert response.headers["X-Request-Id"] == "over-budget-1"

    def test_both_endpoints_spend_the_same_budget(self, limited: Limited) -> None:
        client, headers = limited.connect("198.51.100.1"), limited.key()

        statuses = [client.get(path, headers=headers).status_code for path in (LOGS, RUNS) * 2]

        assert statuses == [200] * BUDGET + [429]

    def test_another_key_keeps_its_own_budget(self, limited: Limited) -> None:
        client, spent, fresh = limited.connect("198.51.100.1"), limited.key(), limited.key()
        spend(client, LOGS, spent, BUDGET + 1)

        assert spend(client, LOGS, fresh, BUDGET) == [200] * BUDGET
        assert client.get(LOGS, headers=spent).status_code == 429

    def test_a_key_keeps_its_budget_across_client_addresses(self, limited: Limited) -> None:
        headers = limited.key()
        spend(limited.connect("198.51.100.1"), LOGS, headers, BUDGET)

        response = limited.connect("198.51.100.2").get(LOGS, headers=headers)

        assert_too_many_requests(response, LOGS)


class TestBudgetRefills:
    """The bucket refills with the clock, BUDGET requests a minute, and says when."""

    def test_retry_after_is_when_the_next_request_has_refilled(self, limited: Limited) -> None:
        client, headers = limited.connect("198.51.100.1"), limited.key()
        spend(client, LOGS, headers, BUDGET)
        limited.clock.advance(timedelta(seconds=5))

        refused = client.get(LOGS, headers=headers)

        assert_too_many_requests(refused, LOGS)
        assert refused.headers["Retry-After"] == "15"

    def test_a_request_refills_every_twentieth_of_a_minute(self, limited: Limited) -> None:
        client, headers = limited.connect("198.51.100.1"), limited.key()
        spend(client, LOGS, headers, BUDGET + 1)

        limited.clock.advance(timedelta(seconds=20))
        after_one_refill = spend(client, LOGS, headers, 2)
        limited.clock.advance(timedelta(minutes=5))
        after_a_long_pause = spend(client, LOGS, headers, BUDGET + 1)

        assert after_one_refill == [200, 429]
        assert after_a_long_pause == [200] * BUDGET + [429]


class TestBudgetPerAddress:
    """Requests without a valid key are counted per client IP."""

    def test_unauthenticated_requests_over_the_budget_are_a_429(self, limited: Limited) -> None:
        client = limited.connect("198.51.100.7")

        allowed = spend(client, RUNS, {}, BUDGET)
        refused = client.get(RUNS)

        assert allowed == [401] * BUDGET
        assert_too_many_requests(refused, RUNS)

    def test_unknown_keys_share_their_address_budget(self, limited: Limited) -> None:
        client = limited.connect("198.51.100.7")
        unknown = [{"Authorization": f"Bearer tdg_unknown{n}"} for n in range(BUDGET + 1)]

        statuses = [client.get(LOGS, headers=headers).status_code for headers in unknown]

        assert statuses == [401] * BUDGET + [429]

    def test_another_address_keeps_its_own_budget(self, limited: Limited) -> None:
        spend(limited.connect("198.51.100.7"), LOGS, {}, BUDGET + 1)

        assert spend(limited.connect("203.0.113.9"), LOGS, {}, BUDGET) == [401] * BUDGET

    def test_a_key_is_not_limited_by_its_address_budget(self, limited: Limited) -> None:
        client = limited.connect("198.51.100.7")
        spend(client, LOGS, {}, BUDGET + 1)

        assert spend(client, LOGS, limited.key(), BUDGET) == [200] * BUDGET


class TestDefaultBudget:
    """Without configuration the budget is 1000 requests per minute."""

    def test_the_1001st_request_of_a_client_at_one_instant_is_refused(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("TIDINGS_RATE_LIMIT_PER_MINUTE", raising=False)
        monkeypatch.chdir(tmp_path)
        runtime = Runtime.from_settings(
            Settings(database_url=f"sqlite:///{tmp_path}/t.db"), clock=lambda: NOW
        )
        limiter = runtime.rate_limiter

        async def spend_budget_then_one_more() -> None:
            for _ in range(1000):
                await limiter.spend("key:1")
            with pytest.raises(RateLimitExceededError):
                await limiter.spend("key:1")
            await limiter.spend("key:2")

        asyncio.run(spend_budget_then_one_more())
        runtime.close()


# Several API processes on one PostgreSQL database --------------------------------------------


def epoch_ms(instant: datetime) -> int:
    """`instant` in milliseconds since the epoch."""
    return (instant - EPOCH) // ONE_MILLISECOND


@pytest.fixture
def engines(postgres_url: str) -> Iterator[list[Engine]]:
    """The database engines of two API processes on one PostgreSQL database."""
    opened = [create_db_engine(postgres_url) for _ in range(2)]
    yield opened
    for engine in opened:
        engine.dispose()


@pytest.mark.postgres
class TestBudgetSharedByApiProcesses:
    """On PostgreSQL every API process spends from the same budget, kept in the store."""

    def test_a_key_spending_through_two_processes_has_one_budget(self, postgres_url: str) -> None:
        settings = Settings(database_url=postgres_url, rate_limit_per_minute=BUDGET)
        first, second = (Runtime.from_settings(settings, clock=lambda: NOW) for _ in range(2))
        try:
            first_client, second_client = (
                TestClient(create_app(first)),
                TestClient(create_app(second)),
            )
            headers = Limited(first, MovableClock(NOW), lambda _: first_client).key()

            statuses = [
                client.get(LOGS, headers=headers).status_code
                for client in (first_client, second_client) * 2
            ]

            assert statuses == [200] * BUDGET + [429]
        finally:
            first.close()
            second.close()

    def test_concurrent_spending_never_exceeds_the_budget(self, postgres_url: str) -> None:
        runtimes = [
            Runtime.from_settings(
                Settings(database_url=postgres_url, rate_limit_per_minute=25), clock=lambda: NOW
            )
            for _ in range(3)
        ]

        async def spend_once(runtime: Runtime) -> bool:
            try:
                await runtime.rate_limiter.spend("key:1")
            except RateLimitExceededError:
                return False
            return True

        async def race() -> list[bool]:
            return await asyncio.gather(*(spend_once(runtimes[n % 3]) for n in range(60)))

        try:
            assert sum(asyncio.run(race())) == 25
        finally:
            for runtime in runtimes:
                runtime.close()

    def test_concurrent_leases_never_exceed_the_budget_and_waste_at_most_one_lease_each(
        self, engines: list[Engine]
    ) -> None:
        limiters = [RateLimiter(SharedBudgets(engine, 1000), lambda: NOW) for engine in engines]

        async def spend_once(limiter: RateLimiter) -> bool:
            return await admitted(limiter, "key:1", 1) == 1

        async def race() -> list[bool]:
            return await asyncio.gather(*(spend_once(limiters[n % 2]) for n in range(1200)))

        through = sum(asyncio.run(race()))

        assert 1000 - 2 * 20 <= through <= 1000

    def test_two_processes_at_one_instant_let_through_exactly_the_budget(
        self, engines: list[Engine]
    ) -> None:
        first, second = (
            RateLimiter(SharedBudgets(engine, 1000), lambda: NOW) for engine in engines
        )

        async def spend_alternately(times: int) -> int:
            count = 0
            for _ in range(times):
                count += await admitted(first, "key:1", 1) + await admitted(second, "key:1", 1)
            return count

        # Every unit leased at one instant is spent there: nothing expires.
        assert asyncio.run(spend_alternately(550)) == 1000

    def test_processes_never_exceed_the_token_bucket_by_more_than_a_lease_lifetime(
        self, engines: list[Engine]
    ) -> None:
        per_minute, refill_ms = 600, 100  # leases of up to 12 requests
        clock = MovableClock(NOW)
        processes = [RateLimiter(SharedBudgets(engine, per_minute), clock) for engine in engines]
        through: dict[str, list[int]] = {"key:1": [], "key:2": [], "key:3": []}

        async def each(client: str, requests: int) -> int:
            """Both processes in turn try `requests` requests; how many got through."""
            count = 0
            for _ in range(requests):
                for limiter in processes:
                    if await admitted(limiter, client, 1):
                        through[client].append(epoch_ms(clock.now))
                        count += 1
            return count

        async def burst_with_leases_in_hand(client: str, pause: timedelta) -> int:
            """Both processes take a lease of 12, spend 1, and `pause` later burst."""
            await each(client, 27)  # leases of 1, 2, 4, 8 and 12, all spent
            clock.advance(timedelta(seconds=6))  # the bucket is full again
            await each(client, 1)  # a lease of 12 each: 11 units in hand
            clock.advance(pause)
            return await each(client, 330)

        async def taking_turns(client: str) -> None:
            """4 s in steps of 50 ms: the processes take turns at bursting while the other
            trickles, with a lull in the middle that lets leases expire half spent."""
            for step in range(80):
                loads = (30, 2) if step % 8 < 4 else (2, 30)
                if not 36 <= step < 44:
                    for limiter, requests in zip(processes, loads, strict=True):
                        for _ in range(requests):
                            if await admitted(limiter, client, 1):
                                through[client].append(epoch_ms(clock.now))
                clock.advance(timedelta(milliseconds=50))

        async def traffic() -> list[int]:
            lifetime = timedelta(seconds=LEASE_SECONDS)
            bursts = [
                await burst_with_leases_in_hand("key:1", lifetime - timedelta(milliseconds=1)),
                await burst_with_leases_in_hand("key:2", lifetime + timedelta(seconds=2)),
            ]
            await taking_turns("key:3")
            return bursts

        just_before_expiry, after_expiry = asyncio.run(traffic())

        # The bucket alone lets through 600 at one instant; leased units add at most 10.
        assert per_minute < just_before_expiry <= per_minute + 10
        assert after_expiry == per_minute
        for times in through.values():
            for window_ms in (0, 250, 1000, 2000, 4000, 10_000):
                most = max(
                    bisect.bisect_right(times, start + window_ms) - n
                    for n, start in enumerate(times)
                )
                token_bucket = per_minute + window_ms // refill_ms
                assert most <= token_bucket + LEASE_SECONDS * 1000 // refill_ms, window_ms

    def test_units_of_an_expired_lease_are_lost(self, engines: list[Engine]) -> None:
        clock = MovableClock(NOW)
        first, second = (RateLimiter(SharedBudgets(engine, 600), clock) for engine in engines)

        async def spend_then_expire() -> list[int]:
            # First leases 1, 2, 4, 8, then 12 units: it holds 11 after 16 requests.
            taken = [await admitted(first, "key:1", 16)]
            taken.append(await admitted(second, "key:1", 600))  # the rest of the 600
            taken.append(await admitted(first, "key:1", 5))  # from its lease: still valid
            clock.advance(timedelta(seconds=LEASE_SECONDS))  # 10 refilled, 6 leased expired
            taken.append(await admitted(first, "key:1", 20))
            return taken

        assert asyncio.run(spend_then_expire()) == [16, 600 - 27, 5, 10]

    def test_a_client_polling_then_bursting_gets_its_whole_budget(
        self, engines: list[Engine]
    ) -> None:
        clock = MovableClock(NOW)
        limiter = RateLimiter(SharedBudgets(engines[0], 1000), clock)

        async def poll_then_burst() -> list[int]:
            polls = 0
            for _ in range(120):
                polls += await admitted(limiter, "key:1", 1)
                clock.advance(timedelta(seconds=1))
            return [polls, await admitted(limiter, "key:1", 1100)]

        # Leases sized by demand: a poll a second leases one unit, so none is wasted.
        assert asyncio.run(poll_then_burst()) == [120, 1000]

    def test_a_clock_set_back_forgives_rather_than_locks_clients_out(
        self, engines: list[Engine]
    ) -> None:
        clock = MovableClock(NOW + timedelta(days=3))
        first, second = (RateLimiter(SharedBudgets(engine, 60), clock) for engine in engines)

        async def spend_then_set_the_clock_back() -> list[int]:
            spent = [await admitted(first, "key:1", 61)]
            clock.now = NOW
            return [*spent, await admitted(second, "key:1", 61)]

        assert asyncio.run(spend_then_set_the_clock_back()) == [60, 60]

    def test_buckets_full_again_leave_the_table(self, engines: list[Engine]) -> None:
        clock = MovableClock(NOW)
        limiter = RateLimiter(SharedBudgets(engines[0], 60), clock)

        async def old_then_new() -> None:
            await admitted(limiter, "ip:old", 1)
            clock.advance(timedelta(milliseconds=3 * FORGET_EVERY_MS))
            await admitted(limiter, "ip:new", 1)

        asyncio.run(old_then_new())

        with engines[0].connect() as connection:
            assert connection.scalars(select(RateLimitBucket.client)).all() == ["ip:new"]

    def test_the_buckets_table_is_unlogged(self, engines: list[Engine]) -> None:
        with engines[0].connect() as connection:
            persistence = connection.scalar(
                text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit_buckets'")
            )

        assert persistence == "u"  # no WAL: a crash empties it, which only forgives budgets

    def test_the_state_store_reads_and_forgets_a_clients_state(self, engines: list[Engine]) -> None:
        store, rates = PostgresStateStore(engines[0], "key:1"), minute_rates(60)
        now = epoch_ms(NOW)

        granted, decision = store.check_any(ALGORITHM, rates, now, (100, 5))
        owed = ALGORITHM.consumed(rates, store.read(ALGORITHM, rates), now)
        store.reset()

        assert (granted, decision.allowed, owed) == (5, True, 5)
        assert store.read(ALGORITHM, rates) == ALGORITHM.initial(rates)

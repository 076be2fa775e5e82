"""A budget of requests per minute per API key (per client IP without one); over it, 429.

One store per backend serves the whole module; each test builds its own app with a small
budget, so no budget carries over from one test to the next.
"""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.kit.errors import RateLimitExceededError
from tidings.kit.ratelimit import RateLimitWindow
from tidings.runtime import Runtime
from tidings.settings import Settings

LOGS = "/api/v1/notifications/logs"
RUNS = "/api/v1/notifications/logs/run"
ENDPOINTS = [pytest.param(LOGS, id="logs"), pytest.param(RUNS, id="runs")]
BUDGET = 3
# Mid-minute, so a test's requests never straddle two windows of the sliding-window counter.
NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "retryAfter"}


@dataclass(frozen=True)
class Limited:
    """An app with a small budget, a client per address, and a way to make keys."""

    runtime: Runtime
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
        runtime = Runtime.from_settings(
            Settings(database_url=module_database_url, rate_limit_per_minute=BUDGET),
            clock=lambda: NOW,
        )
        stack.callback(runtime.close)
        with runtime.engine.begin() as connection:  # on PostgreSQL budgets live in the store
            connection.execute(delete(RateLimitWindow))
        app = create_app(runtime)

        def connect(address: str) -> TestClient:
            client = TestClient(app, raise_server_exceptions=False, client=(address, 50000))
            return stack.enter_context(client)

        yield Limited(runtime, connect)


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

    def test_the_1001st_request_of_a_client_in_a_minute_is_refused(
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
            headers = Limited(first, first_client).key()

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

    def test_leases_of_a_large_budget_add_up_to_exactly_the_budget(self, postgres_url: str) -> None:
        settings = Settings(database_url=postgres_url, rate_limit_per_minute=1000)
        processes = [Runtime.from_settings(settings, clock=lambda: NOW) for _ in range(2)]

        async def spend_alternately(times: int) -> list[bool]:
            admitted = []
            for n in range(times):
                try:
                    await processes[n % 2].rate_limiter.spend("key:1")
                    admitted.append(True)
                except RateLimitExceededError:
                    admitted.append(False)
            return admitted

        try:
            admitted = asyncio.run(spend_alternately(1002))
        finally:
            for runtime in processes:
                runtime.close()

        assert admitted == [True] * 1000 + [False] * 2

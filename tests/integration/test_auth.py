"""Bearer keys, the permission, hashed storage, and X-Request-Id on every response.

One store per backend serves the whole module; every test makes the keys it needs. The
runtime's clock is one the tests move, so expiry is tested without sleeping.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.dependencies import AuthenticationCache
from tidings.auth.permissions import Permission
from tidings.kit.errors import ErrorType
from tidings.runtime import Runtime
from tidings.settings import Settings

LOGS = "/api/v1/notifications/logs"
RUNS = "/api/v1/notifications/logs/run"
ENDPOINTS = [pytest.param(LOGS, id="logs"), pytest.param(RUNS, id="runs")]
START = datetime(2026, 11, 1, 12, tzinfo=UTC)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
VIEW = Permission.VIEW_NOTIFICATION_LOGS


@dataclass
class MovableClock:
    """A clock that stands still until a test moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Service:
    """The app over one store, its runtime and the clock it reads."""

    client: TestClient
    runtime: Runtime
    clock: MovableClock

    def key(self, *permissions: Permission, expires_at: datetime | None = None) -> keys.CreatedKey:
        """A new key with `permissions`, created at the clock's time."""
        with self.runtime.sessions.begin() as session:
            return keys.create_key(session, "test key", permissions, self.clock(), expires_at)

    def revoke(self, key_id: int) -> None:
        """Revoke a key at the clock's time."""
        with self.runtime.sessions.begin() as session:
            keys.revoke_key(session, key_id, self.clock())


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header for `secret`."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def module_service(module_database_url: str) -> Iterator[Service]:
    """The app over a store shared by this module's tests, on a movable clock."""
    clock = MovableClock()
    runtime = Runtime.from_settings(
        Settings(database_url=module_database_url, rate_limit_per_minute=1_000_000), clock=clock
    )
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield Service(client, runtime, clock)
    runtime.close()


@pytest.fixture
def service(module_service: Service) -> Service:
    """The shared app with its clock back at the start."""
    module_service.clock.now = START
    return module_service


@pytest.fixture
def uncached(service: Service) -> Iterator[Service]:
    """A second app over the same store that asks the store about the key on every request."""
    app = create_app(service.runtime)
    app.state.auth_cache = AuthenticationCache(ttl_seconds=0)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Service(client, service.runtime, service.clock)


def assert_error_response(response: httpx.Response, status: int, error_type: str) -> None:
    """An ErrorResponse with this status and type that repeats the request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["type"] == error_type
    assert body["httpStatus"] == status
    assert body["message"]
    assert body["requestId"] == response.headers["X-Request-Id"]


def assert_unauthorized(response: httpx.Response) -> None:
    """A 401 FORBIDDEN ErrorResponse that asks for a bearer token."""
    assert_error_response(response, 401, ErrorType.FORBIDDEN)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# Authorization headers that do not carry a usable key; {secret} is a valid key's secret.
UNUSABLE_AUTHORIZATION = [
    pytest.param(None, id="no header"),
    pytest.param("", id="empty header"),
    pytest.param("Basic dXNlcjpwYXNzd29yZA==", id="basic scheme"),
    pytest.param("Token {secret}", id="other scheme with a good secret"),
    pytest.param("{secret}", id="secret without a scheme"),
    pytest.param("Bearer", id="bearer without a token"),
    pytest.param("Bearer    ", id="bearer with blanks"),
    pytest.param("Bearer tdg_unknownunknownunknownunknownunknownunkno", id="unknown key"),
    pytest.param("Bearer {secret}x", id="tampered key"),
]


class TestUnauthenticated:
    """No usable bearer token: 401, WWW-Authenticate: Bearer, ErrorResponse FORBIDDEN."""

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize("authorization", UNUSABLE_AUTHORIZATION)
    def test_unusable_authorization_is_a_401(
        self, service: Service, path: str, authorization: str | None
    ) -> None:
        secret = service.key(VIEW).secret
        headers = (
            {} if authorization is None else {"Authorization": authorization.format(secret=secret)}
        )

        assert_unauthorized(service.client.get(path, headers=headers))

    @pytest.mark.parametrize("path", ENDPOINTS)
    def test_key_revoked_before_its_first_use_is_a_401(self, service: Service, path: str) -> None:
        created = service.key(VIEW)
        service.revoke(created.key.id)

        assert_unauthorized(service.client.get(path, headers=bearer(created.secret)))

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize(
        "past_expiry", [timedelta(0), timedelta(milliseconds=1), timedelta(days=3)]
    )
    def test_expired_key_is_a_401(
        self, service: Service, path: str, past_expiry: timedelta
    ) -> None:
        expiry = START + timedelta(hours=1)
        created = service.key(VIEW, expires_at=expiry)
        service.clock.now = expiry + past_expiry

        assert_unauthorized(service.client.get(path, headers=bearer(created.secret)))

    def test_key_before_its_expiry_is_accepted(self, service: Service) -> None:
        created = service.key(VIEW, expires_at=START + timedelta(hours=1))
        service.clock.now = START + timedelta(minutes=59, seconds=59, milliseconds=999)

        assert service.client.get(LOGS, headers=bearer(created.secret)).status_code == 200


class TestKeysThatStopWorking:
    """Revocation and expiry reach a key that has already been used (cache not in the way)."""

    def test_revoked_key_is_refused_after_having_worked(self, uncached: Service) -> None:
        created = uncached.key(VIEW)
        assert uncached.client.get(LOGS, headers=bearer(created.secret)).status_code == 200

        uncached.revoke(created.key.id)

        assert_unauthorized(uncached.client.get(LOGS, headers=bearer(created.secret)))

    def test_key_is_refused_once_it_expires(self, uncached: Service) -> None:
        created = uncached.key(VIEW, expires_at=START + timedelta(hours=1))
        assert uncached.client.get(RUNS, headers=bearer(created.secret)).status_code == 200

        uncached.clock.now = START + timedelta(hours=1)

        assert_unauthorized(uncached.client.get(RUNS, headers=bearer(created.secret)))


class TestPermission:
    """VIEW_NOTIFICATION_LOGS guards both endpoints."""

    @pytest.mark.parametrize("path", ENDPOINTS)
    def test_key_without_the_permission_is_a_403_naming_it(
        self, service: Service, path: str
    ) -> None:
        created = service.key()

        response = service.client.get(path, headers=bearer(created.secret))

        assert_error_response(response, 403, ErrorType.FORBIDDEN)
        assert "VIEW_NOTIFICATION_LOGS" in response.json()["details"]

    @pytest.mark.parametrize("path", ENDPOINTS)
    def test_key_with_the_permission_is_served(self, service: Service, path: str) -> None:
        created = service.key(VIEW)

        response = service.client.get(path, headers=bearer(created.secret))

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"


class TestKeyStorage:
    """Only a hash of a secret is stored."""

    def test_secret_never_appears_in_the_api_keys_table(self, service: Service) -> None:
        created = service.key(VIEW)
        hidden_part = created.secret[keys.SHOWN_PREFIX_LENGTH :]

        with service.runtime.engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM api_keys")).all()
        stored = " ".join(str(value) for row in rows for value in row)

        assert created.secret not in stored
        assert hidden_part not in stored
        assert keys.hash_secret(created.secret) in stored


class TestRequestId:
    """Every response carries X-Request-Id; error bodies repeat it; a sane one is kept."""

    @pytest.fixture
    def requests(self, service: Service) -> dict[str, tuple[str, dict[str, str]]]:
        """A request per status: path with query, and headers."""
        viewer = bearer(service.key(VIEW).secret)
        return {
            "200": (LOGS, viewer),
            "200 runs": (RUNS, viewer),
            "400": (f"{LOGS}?pageSize=0", viewer),
            "401": (RUNS, {}),
            "403": (LOGS, bearer(service.key().secret)),
            "404": ("/api/v1/notifications/nothing-here", viewer),
            "health": ("/healthz", {}),
        }

    STATUSES: ClassVar[dict[str, int]] = {
        "200": 200,
        "200 runs": 200,
        "400": 400,
        "401": 401,
        "403": 403,
        "404": 404,
        "health": 200,
    }

    @pytest.mark.parametrize("case", ["200", "200 runs", "400", "401", "403", "404", "health"])
    def test_every_response_carries_a_request_id(
        self, service: Service, requests: dict[str, tuple[str, dict[str, str]]], case: str
    ) -> None:
        url, headers = requests[case]

        response = service.client.get(url, headers=headers)

        assert response.status_code == self.STATUSES[case]
        assert REQUEST_ID.match(response.headers["X-Request-Id"])

    @pytest.mark.parametrize("case", ["400", "401", "403", "404"])
    @pytest.mark.parametrize(
        "given",
        [
            pytest.param({}, id="generated id"),
            pytest.param({"X-Request-Id": "c0ffee-42"}, id="given id"),
        ],
    )
    def test_error_body_repeats_the_request_id(
        self,
        service: Service,
        requests: dict[str, tuple[str, dict[str, str]]],
        case: str,
        given: dict[str, str],
    ) -> None:
        url, headers = requests[case]

        response = service.client.get(url, headers=headers | given)

        assert response.json()["requestId"] == response.headers["X-Request-Id"]

    @pytest.mark.parametrize("case", ["200", "400", "401", "403", "404"])
    @pytest.mark.parametrize(
        "given", ["c0ffee-42", "trace.7:retry-1", pytest.param("A" * 128, id="128 characters")]
    )
    def test_sane_incoming_request_id_is_echoed(
        self,
        service: Service,
        requests: dict[str, tuple[str, dict[str, str]]],
        case: str,
        given: str,
    ) -> None:
        url, headers = requests[case]

        response = service.client.get(url, headers=headers | {"X-Request-Id": given})

        assert response.headers["X-Request-Id"] == given

    @pytest.mark.parametrize(
        "given",
        ["has space", pytest.param("A" * 129, id="129 characters"), "<script>", "semi;colon", ""],
    )
    def test_unusable_incoming_request_id_is_replaced(self, service: Service, given: str) -> None:
        response = service.client.get(RUNS, headers={"X-Request-Id": given})

        assert response.headers["X-Request-Id"] != given
        assert REQUEST_ID.match(response.headers["X-Request-Id"])
        assert response.json()["requestId"] == response.headers["X-Request-Id"]

    def test_a_server_error_carries_the_request_id_too(self, tmp_path: Path) -> None:
        # A store that was never migrated: reading the API keys fails inside the server.
        runtime = Runtime.from_settings(Settings(database_url=f"sqlite:///{tmp_path}/bare.db"))
        with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
            response = client.get(LOGS, headers=bearer("tdg_anything"))
        runtime.close()

        assert response.status_code == 500
        assert response.json()["type"] == ErrorType.UNHANDLED_EXCEPTION
        assert response.headers.get("X-Request-Id") == response.json()["requestId"]

    def test_request_ids_differ_between_requests(self, service: Service) -> None:
        ids = {service.client.get(LOGS).headers["X-Request-Id"] for _ in range(5)}

        assert len(ids) == 5

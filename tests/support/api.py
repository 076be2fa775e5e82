"""The app over a test store, seen through an HTTP client with a viewer's key."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.runtime import Runtime
from tidings.settings import Settings

LOGS = "/api/v1/notifications/logs"
RUNS = "/api/v1/notifications/logs/run"
ITEMS = {LOGS: "logs", RUNS: "runs"}
# Children first (PostgreSQL's partitioned tables have no cascading keys), and the tallies
# too: a test that leaves tallies behind would fail the next.
WIPE = (
    "DELETE FROM notification_contents",
    "DELETE FROM notification_deliveries",
    "DELETE FROM notification_attempts",
    "DELETE FROM notification_outbox",
    "DELETE FROM notification_run_destinations",
    "DELETE FROM notification_run_objects",
    "DELETE FROM notification_logs",
    "DELETE FROM notification_runs",
    "DELETE FROM notification_objects",
    "DELETE FROM notification_log_tallies",
    "DELETE FROM notification_log_hour_tallies",
    "DELETE FROM notification_log_address_tallies",
    "DELETE FROM notification_run_tallies",
    "DELETE FROM notification_run_hour_tallies",
)


@dataclass(frozen=True)
class Api:
    """The app over one store, with the headers of a key that may view logs."""

    client: TestClient
    headers: dict[str, str]
    engine: Engine

    def get(self, path: str, query: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """GET `path` with a query string sent exactly as written."""
        response: httpx.Response = self.client.get(
            f"{path}?{query}", headers=self.headers | (headers or {})
        )
        return response

    def _body(self, path: str, params: Any) -> dict[str, Any]:
        response = self.client.get(path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def logs(self, params: Any = None) -> dict[str, Any]:
        """The 200 body of /logs for `params`."""
        return self._body(LOGS, params)

    def runs(self, params: Any = None) -> dict[str, Any]:
        """The 200 body of /logs/run for `params`."""
        return self._body(RUNS, params)

    def total(self, params: dict[str, Any]) -> int:
        """The `total` /logs answers for `params`."""
        total: int = self.logs(params | {"pageSize": 1})["total"]
        return total

    def ids(self, path: str, query: str) -> list[int]:
        """Ids of every item a 200 answer lists, in its order, checking total."""
        response = self.get(path, f"{query}&pageSize=1000&orderBy=ASC")
        assert response.status_code == 200, response.text
        body = response.json()
        ids = [item["id"] for item in body[ITEMS[path]]]
        assert body["total"] == len(ids)
        return ids


@contextmanager
def serving(database_url: str) -> Iterator[Api]:
    """The app over the store at `database_url`, with a fresh viewer key."""
    runtime = Runtime.from_settings(
        Settings(database_url=database_url, rate_limit_per_minute=1_000_000)
    )
    with runtime.sessions.begin() as session:
        secret = keys.create_key(
            session, "viewer", [Permission.VIEW_NOTIFICATION_LOGS], datetime.now(UTC)
        ).secret
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield Api(client, {"Authorization": f"Bearer {secret}"}, runtime.engine)
    runtime.close()


def wipe(engine: Engine) -> None:
    """Empty the store of runs, logs, objects and tallies (keys stay)."""
    with engine.begin() as connection:
        for statement in WIPE:
            connection.execute(text(statement))

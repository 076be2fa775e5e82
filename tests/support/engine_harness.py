"""The notification engine over a test store: a movable clock, a catalog, events in, and
the runs, logs and outbox messages they made, read back as plain values."""

import asyncio
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.support.catalog_builder import Document, load_catalog
from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.engine import flows
from tidings.engine import repository as engine_repository
from tidings.engine.context import resolve_context
from tidings.engine.expansion import expand_run
from tidings.engine.schemas import EventAnswer, EventIn
from tidings.enums import Medium, NotificationType
from tidings.logs.repository import logs, runs
from tidings.runtime import Runtime
from tidings.settings import Settings

# A Wednesday, in the middle of the on-call shifts the catalogs of these tests declare.
START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
EVENTS = "/api/v1/notifications/events"
PREVIEW = "/api/v1/notifications/events/preview"
ENGINE_TABLES = (
    "notification_events",
    "notification_runs",
    "notification_logs",
    "notification_contents",
    "notification_outbox",
    "notification_run_destinations",
    "notification_objects",
    "notification_run_objects",
)


@dataclass
class MovableClock:
    """A clock that stands still until a test moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.now += delta


def entity_ref(tag: str) -> dict[str, str]:
    """An event object naming an entity by tag."""
    return {"type": "ENTITY", "tag": tag}


def scorecard_ref(tag: str) -> dict[str, str]:
    """An event object naming a scorecard by tag."""
    return {"type": "SCORECARD", "tag": tag}


def initiative_ref(tag: str) -> dict[str, str]:
    """An event object naming an initiative by tag."""
    return {"type": "INITIATIVE", "tag": tag}


def event(
    notification_type: NotificationType | str,
    *objects: Mapping[str, Any],
    recipients: Iterable[str] = (),
    data: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """An event as a client posts it (camelCase JSON)."""
    body: dict[str, Any] = {"type": str(notification_type), "objects": [dict(o) for o in objects]}
    if recipients:
        body["recipients"] = list(recipients)
    if data:
        body["data"] = dict(data)
    if key is not None:
        body["idempotencyKey"] = key
    return body


@dataclass(frozen=True)
class LogView:
    """One log as a test reads it: who, what happened, and why."""

    id: int
    run_id: int
    medium: Medium
    recipient_type: str
    who: str  # the channel, else the email
    user_id: int | None
    entity_id: int | None
    status: str
    reason: str | None  # the ignored or failed reason
    why: str | None
    explanation: str | None
    error_message: str | None

    @property
    def outcome(self) -> str:
        """The reason when there is one, else the status: `DELIVERED`, `DUPLICATE`..."""
        return self.reason or self.status


@dataclass(frozen=True)
class RunView:
    """One run as a test reads it."""

    id: int
    medium: Medium
    status: str
    ignored_reason: str | None
    failed_reason: str | None
    error_message: str | None
    delivered_count: int
    original_run_id: int | None
    seq_no: int
    expanded_at: datetime | None


@dataclass
class Harness:
    """A runtime over a test store, with a movable clock and a directory for catalog files."""

    runtime: Runtime
    clock: MovableClock
    directory: Path

    def load(self, *documents: Document) -> None:
        """Import catalog documents (later ones win where they overlap)."""
        load_catalog(self.runtime.engine, self.directory, *documents)

    def submit(self, body: Mapping[str, Any]) -> tuple[EventAnswer, list[int]]:
        """Accept an event without processing its runs."""
        return flows.submit_event(
            self.runtime.engine,
            EventIn.model_validate(body),
            self.runtime.settings.public_url,
            self.clock,
        )

    def process(self, run_ids: Sequence[int]) -> None:
        """Expand, deliver and settle runs, one after another; a run whose logs wait for
        another try is taken up again with the clock moved to when they are due."""

        async def work() -> None:
            for run_id in run_ids:
                progress = await self.runtime.process_run(run_id)
                while progress.resume_at is not None:
                    self.clock.now = max(self.clock.now, progress.resume_at)
                    progress = await self.runtime.process_run(run_id)
            await self.runtime.close_channels()

        asyncio.run(work())

    def expand_only(self, run_id: int, body: Mapping[str, Any]) -> None:
        """Write a run's logs as the runner would, then stop before delivery (a crash)."""
        with self.runtime.engine.connect() as connection:
            run = engine_repository.run_by_id(connection, run_id)
            context = resolve_context(
                connection, EventIn.model_validate(body), self.runtime.settings.public_url
            )
        assert run is not None
        expand_run(self.runtime.engine, run, context, self.clock)

    def send(self, body: Mapping[str, Any]) -> EventAnswer:
        """Accept an event and process every run it queued."""
        answer, queued = self.submit(body)
        self.process(queued)
        return answer

    def run_of(self, answer: EventAnswer, medium: Medium) -> RunView:
        """The run an event made for one medium."""
        [run_id] = [run.id for run in answer.runs if run.medium is medium]
        return self.run(run_id)

    def run(self, run_id: int) -> RunView:
        """A run as stored now."""
        with self.runtime.engine.connect() as connection:
            row = connection.execute(
                select(
                    runs.c.id,
                    runs.c.medium,
                    runs.c.status,
                    runs.c.ignored_reason,
                    runs.c.failed_reason,
                    runs.c.error_message,
                    runs.c.delivered_count,
                    runs.c.original_run_id,
                    runs.c.seq_no,
                    runs.c.expanded_at,
                ).where(runs.c.id == run_id)
            ).one()
        return RunView(
            row.id,
            Medium(row.medium),
            str(row.status),
            _text(row.ignored_reason),
            _text(row.failed_reason),
            row.error_message,
            int(row.delivered_count),
            row.original_run_id,
            int(row.seq_no),
            row.expanded_at,
        )

    def logs(self, run_id: int) -> list[LogView]:
        """A run's logs in the order they were written."""
        statement = (
            select(
                logs.c.id,
                logs.c.run_id,
                logs.c.medium,
                logs.c.recipient_type,
                logs.c.recipient_channel,
                logs.c.recipient_email,
                logs.c.recipient_user_id,
                logs.c.recipient_entity_id,
                logs.c.status,
                logs.c.ignored_reason,
                logs.c.failed_reason,
                logs.c.why,
                logs.c.explanation,
                logs.c.error_message,
            )
            .where(logs.c.run_id == run_id)
            .order_by(logs.c.id)
        )
        with self.runtime.engine.connect() as connection:
            return [
                LogView(
                    id=row.id,
                    run_id=row.run_id,
                    medium=Medium(row.medium),
                    recipient_type=str(row.recipient_type),
                    who=row.recipient_channel or row.recipient_email,
                    user_id=row.recipient_user_id,
                    entity_id=row.recipient_entity_id,
                    status=str(row.status),
                    reason=_text(row.ignored_reason or row.failed_reason),
                    why=row.why,
                    explanation=row.explanation,
                    error_message=row.error_message,
                )
                for row in connection.execute(statement)
            ]

    def outcomes(self, run_id: int) -> list[tuple[str, str]]:
        """Each log of a run as (recipient, how it ended: `DELIVERED` or the reason), in order."""
        return [(log.who, log.outcome) for log in self.logs(run_id)]

    def outbox(self) -> list[tuple[str, str]]:
        """Every message the outbox medium "sent": (medium, destination), in order."""
        with self.runtime.engine.connect() as connection:
            return [
                (str(medium), str(destination))
                for medium, destination in connection.execute(
                    text("SELECT medium, destination FROM notification_outbox ORDER BY id")
                )
            ]

    def row_counts(self) -> dict[str, int]:
        """How many rows each engine table holds."""
        with self.runtime.engine.connect() as connection:
            return {
                table: int(
                    connection.execute(select(func.count()).select_from(text(table))).scalar_one()
                )
                for table in ENGINE_TABLES
            }

    def execute(self, statement: str, **params: Any) -> None:
        """Run one SQL statement in its own transaction (to age or damage what is stored)."""
        with self.runtime.engine.begin() as connection:
            connection.execute(text(statement), params)

    def key(self, *permissions: Permission) -> dict[str, str]:
        """Authorization headers of a new key with `permissions`."""
        with self.runtime.sessions.begin() as session:
            created = keys.create_key(session, "engine tests", permissions, self.clock())
        return {"Authorization": f"Bearer {created.secret}"}

    @contextmanager
    def serving(self) -> Iterator[TestClient]:
        """The app over this runtime, its embedded runner working while the block runs."""
        with TestClient(create_app(self.runtime), raise_server_exceptions=False) as client:
            yield client

    def wait_idle(self) -> None:
        """Block until the embedded runner has processed every run it was given."""
        assert self.runtime.runner is not None
        assert self.runtime.runner.wait_idle(30), "the runner did not finish within 30 s"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@contextmanager
def open_harness(database_url: str, directory: Path, **settings: Any) -> Iterator[Harness]:
    """A harness over the store at `database_url` (with any other settings given), closed
    at the end."""
    clock = MovableClock()
    runtime = Runtime.from_settings(
        Settings(database_url=database_url, rate_limit_per_minute=1_000_000, **settings),
        clock=clock,
    )
    try:
        yield Harness(runtime, clock, directory / "catalog")
    finally:
        runtime.close()

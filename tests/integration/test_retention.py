"""Retention: contents go after 14 days; logs, runs, events and outbox messages after 30.

Retention counts whole UTC days: `purge(now)` removes a row once the whole day it was
written on is older than the limit, so at noon a 30-day limit keeps rows up to 30 days and
12 hours old (from midnight 30 days ago on). On PostgreSQL days go as whole partitions;
what no partition holds by day goes in batches of 5000 rows, each its own transaction, so
the API keeps answering while a large purge runs. The limits are the settings
`retention_days` and `content_retention_days`.
"""

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import ceil
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, Engine, Table, event, func, select, text

from tests.support.catalog import import_paths, write
from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.engine import flows
from tidings.engine.models import NotificationContent, NotificationEvent, OutboxMessage
from tidings.engine.schemas import EventIn, ObjectRef
from tidings.enums import NotificationType, ObjectType
from tidings.generator.history import HistorySpec, write_history
from tidings.kit import partitions
from tidings.kit.orm import EPOCH
from tidings.logs.models import NotificationLog, NotificationRun
from tidings.runtime import Runtime
from tidings.schedules.retention import BATCH
from tidings.settings import Settings

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
MS = timedelta(milliseconds=1)
# How far into its UTC day NOW is: a limit of N days keeps N days and this much.
INTO_THE_DAY = timedelta(hours=12)
LOGS = "/api/v1/notifications/logs"
CATALOG = """
    openapi: "3.0.1"
    info:
      title: Payments API
      x-cortex-tag: payments-api
      x-cortex-owners:
        - {type: email, email: bo@example.com}
    ---
    kind: tidings/v1
    users:
      - {email: bo@example.com, name: Bo}
"""
# Each table the purge empties, the instant its rows are aged by, and its name in `Purged`.
TABLES: dict[str, tuple[Any, str]] = {
    "notification_events": (NotificationEvent.received_at, "events"),
    "notification_runs": (NotificationRun.date_created, "runs"),
    "notification_logs": (NotificationLog.date_created, "logs"),
    "notification_contents": (NotificationContent.date_created, "contents"),
    "notification_outbox": (OutboxMessage.date_sent, "outbox"),
}
CONTENTS = "notification_contents"
logs = cast(Table, NotificationLog.__table__)
# Events sent this long before NOW, each processed at once: a run per medium, a log each.
AGES = {
    "40 d": 40 * DAY,
    "30 d 12 h + 1 ms": 30 * DAY + INTO_THE_DAY + MS,
    "30 d 12 h": 30 * DAY + INTO_THE_DAY,
    "30 d": 30 * DAY,
    "29 d": 29 * DAY,
    "14 d 12 h + 1 ms": 14 * DAY + INTO_THE_DAY + MS,
    "14 d 12 h": 14 * DAY + INTO_THE_DAY,
    "14 d": 14 * DAY,
    "7 d 12 h + 1 ms": 7 * DAY + INTO_THE_DAY + MS,
    "7 d 12 h": 7 * DAY + INTO_THE_DAY,
    "2 d 12 h + 1 ms": 2 * DAY + INTO_THE_DAY + MS,
    "2 d 12 h": 2 * DAY + INTO_THE_DAY,
    "2 d": 2 * DAY,
    "1 d": DAY,
}


def no_older_than(days: int) -> list[str]:
    """The ages of AGES a limit of `days` keeps: written on that day or later."""
    return [label for label, age in AGES.items() if age <= days * DAY + INTO_THE_DAY]


@dataclass
class FixedClock:
    """The time a test says it is."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Store:
    """A store with a one-service catalog, and the processes opened on it."""

    database_url: str
    opened: list[Runtime] = field(default_factory=list)

    def open(self, **settings: Any) -> Runtime:
        """A tidings process on the store with these settings (retention ones, say)."""
        runtime = Runtime.from_settings(
            Settings(database_url=self.database_url, rate_limit_per_minute=1_000_000, **settings),
            clock=FixedClock(),
        )
        self.opened.append(runtime)
        return runtime


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh store holding one service owned by one user."""
    opened = Store(database_url)
    setup = opened.open()
    outcomes = import_paths(setup.engine, write(tmp_path, "catalog.yaml", CATALOG))
    assert all(outcome.imported for outcome in outcomes), [o.errors for o in outcomes]
    yield opened
    for runtime in opened.opened:
        runtime.close()


def notify_at(runtime: Runtime, at: datetime) -> None:
    """An event at `at`, its runs expanded, delivered and settled at that same instant."""
    assert isinstance(runtime.clock, FixedClock)
    runtime.clock.now = at
    reminder = EventIn(
        type=NotificationType.VERIFICATION_PERIOD_REMINDER,
        objects=[ObjectRef(type=ObjectType.ENTITY, tag="payments-api")],
        data={"period": "Q1 ownership review"},
    )
    _, run_ids = flows.submit_event(
        runtime.engine, reminder, runtime.settings.public_url, runtime.clock
    )
    for run_id in run_ids:
        asyncio.run(runtime.process_run(run_id))
    runtime.clock.now = NOW


def ages_in(engine: Engine) -> dict[str, list[str]]:
    """For each table, the ages (labels of AGES) its rows have, oldest first."""
    label_of = {NOW - age: label for label, age in AGES.items()}
    found = {}
    with engine.connect() as connection:
        for table, (column, _) in TABLES.items():
            instants = set(connection.scalars(select(column)))
            found[table] = [label for label, age in AGES.items() if NOW - age in instants]
            assert {label_of.get(moment) for moment in instants} <= set(AGES)
    return found


def counts(engine: Engine) -> dict[str, int]:
    """Rows in each table the purge empties."""
    with engine.connect() as connection:
        return {
            table: int(
                connection.execute(select(func.count()).select_from(text(table))).scalar_one()
            )
            for table in TABLES
        }


class TestWhatIsKept:
    """Rows of days wholly older than a limit go; rows of the limit's day or later stay."""

    @pytest.mark.parametrize(
        ("settings", "runs_kept_days", "contents_kept_days"),
        [
            pytest.param({}, 30, 14, id="by default logs 30 days and contents 14"),
            pytest.param(
                {"retention_days": 7, "content_retention_days": 2}, 7, 2, id="as configured"
            ),
            pytest.param(
                {"retention_days": 1, "content_retention_days": 1}, 1, 1, id="one day of each"
            ),
        ],
    )
    def test_purge_keeps_exactly_what_the_limits_allow(
        self, store: Store, settings: dict[str, int], runs_kept_days: int, contents_kept_days: int
    ) -> None:
        runtime = store.open(**settings)
        for age in AGES.values():
            notify_at(runtime, NOW - age)
        assert ages_in(runtime.engine) == {table: list(AGES) for table in TABLES}

        runtime.purge(NOW)

        expected = {table: no_older_than(runs_kept_days) for table in TABLES}
        expected[CONTENTS] = no_older_than(contents_kept_days)
        assert ages_in(runtime.engine) == expected

    def test_contents_go_at_14_days_while_their_logs_stay_until_30(self, store: Store) -> None:
        runtime = store.open()
        notify_at(runtime, NOW - 20 * DAY)
        before = counts(runtime.engine)

        purged = runtime.purge(NOW)

        assert before[CONTENTS] > 0
        assert counts(runtime.engine) == before | {CONTENTS: 0}
        assert purged.counts == {name: 0 for _, name in TABLES.values()} | {
            "contents": before[CONTENTS]
        }

    def test_a_logs_attempts_go_with_it(self, store: Store) -> None:
        runtime = store.open()
        for age in AGES.values():
            notify_at(runtime, NOW - age)

        runtime.purge(NOW)

        with runtime.engine.connect() as connection:
            orphans = connection.execute(
                text(
                    "SELECT count(*) FROM notification_attempts a LEFT JOIN notification_logs l "
                    "ON l.id = a.log_id WHERE l.id IS NULL"
                )
            ).scalar_one()
            kept = connection.execute(
                text("SELECT count(*) FROM notification_attempts")
            ).scalar_one()
        assert orphans == 0
        assert kept > 0

    def test_purge_reports_what_it_deleted_and_a_second_purge_deletes_nothing(
        self, store: Store
    ) -> None:
        runtime = store.open()
        for age in AGES.values():
            notify_at(runtime, NOW - age)
        before = counts(runtime.engine)

        first = runtime.purge(NOW)
        after = counts(runtime.engine)
        second = runtime.purge(NOW)

        assert first.counts == {
            name: before[table] - after[table] for table, (_, name) in TABLES.items()
        }
        assert first.total > 0
        assert second.total == 0
        assert counts(runtime.engine) == after

    def test_runs_keep_their_logs_and_the_api_still_lists_them(self, store: Store) -> None:
        runtime = store.open()
        notify_at(runtime, NOW - 29 * DAY)
        notify_at(runtime, NOW - 31 * DAY)
        runtime.purge(NOW)
        with runtime.sessions.begin() as session:
            secret = keys.create_key(
                session, "viewer", [Permission.VIEW_NOTIFICATION_LOGS], NOW
            ).secret

        with TestClient(create_app(runtime)) as client:
            body = client.get(
                LOGS, params={"pageSize": 100}, headers={"Authorization": f"Bearer {secret}"}
            ).json()

        assert body["total"] == 3  # one log per medium: Slack, Microsoft Teams, email
        assert {log["dateCreated"][:10] for log in body["logs"]} == {"2027-01-31"}


def wire(moment: datetime) -> str:
    """An instant as a query value, with milliseconds and Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


# Filters (query parameters and the log columns they select) and date ranges to count by.
FILTERS: list[tuple[dict[str, str], dict[str, list[str]]]] = [
    ({}, {}),
    ({"statuses": "DELIVERED"}, {"status": ["DELIVERED"]}),
    ({"statuses": "IGNORED,FAILED"}, {"status": ["IGNORED", "FAILED"]}),
    ({"mediums": "EMAIL"}, {"medium": ["EMAIL"]}),
    ({"notificationTypes": "SERVICE_REEVALUATED"}, {"notification_type": ["SERVICE_REEVALUATED"]}),
    ({"recipientTypes": "TEAM"}, {"recipient_type": ["TEAM"]}),
    ({"ignoredReasons": "DUPLICATE"}, {"ignored_reason": ["DUPLICATE"]}),
]
CUTOFF = NOW - 30 * DAY - INTO_THE_DAY  # midnight: the first instant kept
Range = tuple[datetime | None, datetime | None]
RANGES: list[Range] = [
    (None, None),
    (NOW - 40 * DAY, CUTOFF),  # everything before the cutoff: purged
    (CUTOFF - timedelta(hours=13), CUTOFF + timedelta(hours=29)),  # partial days at both ends
    (CUTOFF, None),  # from the cutoff on
    (CUTOFF + 3 * DAY + timedelta(hours=5), NOW - 2 * DAY),
]


def api_total(client: TestClient, secret: str, params: dict[str, str], window: Range) -> int:
    """`total` of /logs for the filter and the date range."""
    query = dict(params, pageSize="1")
    start, end = window
    if start is not None:
        query["fromDate"] = wire(start)
    if end is not None:
        query["untilDate"] = wire(end)
    response = client.get(LOGS, params=query, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def true_count(engine: Engine, columns: dict[str, list[str]], window: Range) -> int:
    """SELECT count(*) of the logs for the filter and the date range."""
    conditions: list[ColumnElement[bool]] = [logs.c[c].in_(v) for c, v in columns.items()]
    start, end = window
    if start is not None:
        conditions.append(logs.c.date_created >= start)
    if end is not None:
        conditions.append(logs.c.date_created <= end)
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(logs).where(*conditions)
            ).scalar_one()
        )


class TestTallies:
    """After a purge the counts the API gives still equal a count of the logs."""

    def test_totals_equal_a_count_of_the_logs_after_a_purge(self, store: Store) -> None:
        runtime = store.open()
        write_history(runtime.engine, HistorySpec(runs=1500, logs=None, seed=5, end=NOW, days=40))
        with runtime.sessions.begin() as session:
            secret = keys.create_key(
                session, "viewer", [Permission.VIEW_NOTIFICATION_LOGS], NOW
            ).secret
        logs_before = counts(runtime.engine)["notification_logs"]

        runtime.purge(NOW)

        with TestClient(create_app(runtime)) as client:
            api_totals = {
                f"{params} {window}": api_total(client, secret, params, window)
                for params, _ in FILTERS
                for window in RANGES
            }
        true_counts = {
            f"{params} {window}": true_count(runtime.engine, columns, window)
            for params, columns in FILTERS
            for window in RANGES
        }
        logs_after = counts(runtime.engine)["notification_logs"]

        assert 0 < logs_after < logs_before
        assert api_totals == true_counts

    def test_tally_rows_equal_a_count_of_the_logs_of_their_day_after_a_purge(
        self, store: Store
    ) -> None:
        runtime = store.open()
        write_history(runtime.engine, HistorySpec(runs=1500, logs=None, seed=5, end=NOW, days=40))

        runtime.purge(NOW)

        with runtime.engine.connect() as connection:
            tallied = {
                int(day): int(n)
                for day, n in connection.execute(
                    text("SELECT day, sum(count) FROM notification_log_tallies GROUP BY day")
                )
                if n
            }
            logged = Counter(
                (created - EPOCH) // DAY
                for created in connection.scalars(select(logs.c.date_created))
            )
        assert tallied == dict(logged)
        first_kept = (CUTOFF - EPOCH) // DAY
        if runtime.engine.dialect.name == "postgresql":  # a partition goes a week at a time
            first_kept = partitions.span_start(first_kept)
        assert min(logged) == first_kept


@dataclass
class Reader:
    """A client asking for the newest logs again and again until told to stop."""

    client: TestClient
    headers: dict[str, str]
    statuses: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    slowest: float = 0.0
    mid_purge: threading.Event = field(default_factory=threading.Event)
    answered_mid_purge: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Read until stopped; say when an answer came while the purge was half-way."""
        while not self.stop.is_set():
            was_mid_purge = self.mid_purge.is_set()
            started = time.perf_counter()
            try:
                response = self.client.get(LOGS, params={"pageSize": 20}, headers=self.headers)
            except BaseException as error:  # reported by the test
                self.errors.append(error)
                return
            self.slowest = max(self.slowest, time.perf_counter() - started)
            self.statuses.append(response.status_code)
            if was_mid_purge:
                self.answered_mid_purge.set()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_large_purge_runs_in_batches_while_the_api_keeps_answering(store: Store) -> None:
    purging = store.open()
    written = write_history(
        purging.engine,
        HistorySpec(runs=None, logs=50_000, seed=3, end=NOW - 40 * DAY, days=30),
    )
    serving = store.open()
    with serving.sessions.begin() as session:
        secret = keys.create_key(session, "viewer", [Permission.VIEW_NOTIFICATION_LOGS], NOW).secret

    deleted_per_batch: list[tuple[str, int]] = []
    commits = 0

    @event.listens_for(purging.work_engine, "after_cursor_execute")
    def count_deletes(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM"):
            deleted_per_batch.append((statement.split()[2], cursor.rowcount))

    @event.listens_for(purging.work_engine, "commit")
    def count_commits(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    with TestClient(create_app(serving)) as client:
        reader = Reader(client, {"Authorization": f"Bearer {secret}"})

        # Half-way through the logs, between two batches, hold the purge until the reader
        # has been answered: proof that no batch leaves the API waiting for the next one.
        @event.listens_for(purging.work_engine, "checkin")
        def wait_for_the_reader_between_batches(*_args: Any) -> None:
            log_batches = sum(1 for table, _ in deleted_per_batch if table == "notification_logs")
            if log_batches == 5 and not reader.mid_purge.is_set():
                reader.mid_purge.set()
                assert reader.answered_mid_purge.wait(60), "no answer between two batches"

        thread = threading.Thread(target=reader.run)
        thread.start()
        try:
            purged = purging.purge(NOW)
        finally:
            reader.stop.set()
            thread.join(60)

    assert reader.errors == []
    assert reader.answered_mid_purge.is_set()
    assert set(reader.statuses) == {200}, f"slowest answer: {reader.slowest:.3f} s"
    assert purged.counts["logs"] == written.logs
    assert purged.counts["runs"] == written.runs
    assert counts(purging.engine)["notification_logs"] == 0
    log_batches = [n for table, n in deleted_per_batch if table == "notification_logs"]
    assert sum(log_batches) == written.logs
    assert max(log_batches) <= BATCH
    assert len(log_batches) == ceil(written.logs / BATCH)
    # A batch deletes a log's dependants with it, then commits before the next batch.
    run_batches = [n for table, n in deleted_per_batch if table == "notification_runs"]
    assert commits >= len(log_batches) + len(run_batches)

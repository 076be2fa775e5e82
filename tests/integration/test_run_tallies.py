"""The trigger-kept run tallies stay exact through inserts, updates and deletes of runs.

`total` of /logs/run (without searchQuery) is summed from `notification_run_tallies` (whole
days) and `notification_run_hour_tallies` (whole hours of the partial end days), plus the runs
of the partial hours at the very ends. Runs change after they are written: the engine moves
their status and `delivered_count` on as it delivers, which moves them between tallies (and
in and out of deliveredOnly). After every such change the total must equal a plain
`SELECT count(*)`, and every tally row a count of its runs.

One store per backend serves the whole module; each test stores its own runs and the store
is emptied after it.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import ColumnElement, Engine, Table, bindparam, delete, func, select, update

from tests.support.api import Api
from tests.support.builders import RunSpec, store_runs
from tidings.engine import repository as engine_repository
from tidings.enums import (
    LogStatus,
    Medium,
    NotificationType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.logs.models import NotificationLog, NotificationRun, RunHourTally, RunTally

runs = cast(Table, NotificationRun.__table__)
logs = cast(Table, NotificationLog.__table__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LEVELS = {
    "day": (cast(Table, RunTally.__table__), DAY),
    "hour": (cast(Table, RunHourTally.__table__), HOUR),
}

# Runs at every boundary a range can have: midnight, an hour, a millisecond either side of
# them, and the middle of an hour.
D0 = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = [D0 + DAY * n for n in range(4)]
TIMES_OF_DAY = (
    timedelta(0),
    MS,
    timedelta(hours=6) - MS,
    timedelta(hours=6),
    timedelta(hours=6, minutes=30),
    timedelta(hours=12),
    timedelta(hours=13, minutes=15),
    DAY - MS,
)
INSTANTS = [D0 - MS, *(day + offset for day in DAYS for offset in TIMES_OF_DAY), D0 + DAY * 4]
TYPES = (
    NotificationType.SERVICE_REEVALUATED,
    NotificationType.WEEKLY_REPORT,
    NotificationType.ENTITY_SCORE_DROPPED,
)
STATUSES = tuple(RunStatus)
LOG_STATUSES = (LogStatus.DELIVERED, LogStatus.FAILED, LogStatus.IGNORED, LogStatus.READY)


def world(instants: Sequence[datetime], first: int = 0) -> list[RunSpec]:
    """Two runs per instant, each with one log; enum values and counts cycle with co-prime
    periods, so the delivered count is not tied to the status (the tallies must not assume)."""
    specs = []
    for n in range(first, first + 2 * len(instants)):
        when = instants[(n - first) // 2]
        status = STATUSES[n % 5]
        fields = {
            "notification_type": TYPES[n % 3],
            "medium": tuple(Medium)[n % 4],
            "status": status,
            "delivered_count": n % 3,
            "ignored_reason": tuple(RunIgnoredReason)[n % 3]
            if status is RunStatus.IGNORED
            else None,
            "failed_reason": tuple(RunFailedReason)[n % 2] if status is RunStatus.FAILED else None,
            "date_created": when,
            "date_updated": when,
        }
        log = {"status": LOG_STATUSES[n % 4], "date_created": when}
        specs.append(RunSpec(fields=fields, logs=[log]))
    return specs


# Changes to the runs, each in its own transaction, as the engine or an operator makes them.
Change = Callable[[Engine], None]
LATER = D0 + DAY * 10


def deliver_ready_logs_and_settle_their_runs(engine: Engine) -> None:
    """The engine's own writes: READY logs are delivered and their runs settled from them."""
    with engine.begin() as connection:
        ready = select(logs.c.run_id).where(logs.c.status == LogStatus.READY)
        run_ids = list(connection.scalars(ready))
        connection.execute(
            update(logs).where(logs.c.status == LogStatus.READY).values(status=LogStatus.DELIVERED)
        )
        for run_id in run_ids:
            engine_repository.settle_run(connection, run_id, LATER)


def settle_every_run(engine: Engine) -> None:
    """Every run's status and delivered count recomputed from its logs, one run at a time."""
    with engine.begin() as connection:
        for run_id in list(connection.scalars(select(runs.c.id))):
            engine_repository.settle_run(connection, run_id, LATER)


def fail_some_runs(engine: Engine) -> None:
    """The engine fails every third run before sending (status and reason change)."""
    with engine.begin() as connection:
        for run_id in list(connection.scalars(select(runs.c.id).where(runs.c.id % 3 == 0))):
            engine_repository.fail_run(
                connection, run_id, RunFailedReason.INTERNAL_ERROR, "broke", LATER
            )


def count_more_deliveries(engine: Engine) -> None:
    """1 → 2 and 2 → 3 deliveries: the run stays delivered."""
    with engine.begin() as connection:
        connection.execute(
            update(runs)
            .where(runs.c.delivered_count >= 1)
            .values(delivered_count=runs.c.delivered_count + 1)
        )


def deliver_first_and_forget_others(engine: Engine) -> None:
    """0 → 1 for some runs and n → 0 for others in one statement."""
    with engine.begin() as connection:
        connection.execute(
            update(runs)
            .where(runs.c.id % 2 == 0)
            .values(delivered_count=func.abs(runs.c.delivered_count - 1))
        )


def ignore_some_runs(engine: Engine) -> None:
    """FAILED → IGNORED / SCORECARD_DISABLED (both reasons change)."""
    with engine.begin() as connection:
        connection.execute(
            update(runs)
            .where(runs.c.status == RunStatus.FAILED, runs.c.id % 2 == 1)
            .values(
                status=RunStatus.IGNORED,
                failed_reason=None,
                ignored_reason=RunIgnoredReason.SCORECARD_DISABLED,
                delivered_count=0,
            )
        )


def move_runs_across_boundaries(engine: Engine) -> None:
    """Runs on the last millisecond of an hour move onto the next hour (or day), and runs on
    the hour a millisecond back."""
    with engine.begin() as connection:
        rows = connection.execute(select(runs.c.id, runs.c.date_created)).all()
        moves = [
            {"run_id": run_id, "moved": created + (MS if created.minute == 59 else -MS)}
            for run_id, created in rows
            if (created.minute, created.second, created.microsecond)
            in {(59, 59, 999_000), (0, 0, 0)}
        ]
        connection.execute(
            update(runs)
            .where(runs.c.id == bindparam("run_id"))
            .values(date_created=bindparam("moved")),
            moves,
        )


def change_types_and_mediums(engine: Engine) -> None:
    """Some runs get another type, others another medium."""
    with engine.begin() as connection:
        connection.execute(
            update(runs)
            .where(runs.c.medium == Medium.SLACK)
            .values(notification_type=NotificationType.ONCALL_ASSISTANT)
        )
        connection.execute(update(runs).where(runs.c.id % 3 == 1).values(medium=Medium.WEBHOOK))


def touch_without_changing_a_tallied_column(engine: Engine) -> None:
    """Updates that leave every tallied column as it was (the engine's mark_expanded too)."""
    with engine.begin() as connection:
        connection.execute(update(runs).values(summary="looked at", date_updated=LATER))
        connection.execute(update(runs).values(status=runs.c.status, medium=runs.c.medium))
        for run_id in list(connection.scalars(select(runs.c.id))):
            engine_repository.mark_expanded(connection, run_id, LATER)


def delete_some_runs(engine: Engine) -> None:
    """One run in five goes (its logs with it)."""
    with engine.begin() as connection:
        connection.execute(delete(runs).where(runs.c.id % 5 == 0))


def insert_more_runs(engine: Engine) -> None:
    """More runs at some of the same instants, with other values."""
    store_runs(engine, world(INSTANTS[::3], first=7))


EVERY_CHANGE: tuple[Change, ...] = (
    deliver_ready_logs_and_settle_their_runs,
    fail_some_runs,
    count_more_deliveries,
    deliver_first_and_forget_others,
    ignore_some_runs,
    move_runs_across_boundaries,
    change_types_and_mediums,
    touch_without_changing_a_tallied_column,
    settle_every_run,
    delete_some_runs,
    insert_more_runs,
)
STAGES = [
    pytest.param((), id="after inserts"),
    *(pytest.param((change,), id=f"after {change.__name__}") for change in EVERY_CHANGE),
    pytest.param(EVERY_CHANGE, id="after every change in turn"),
]

# Queries: filters (column → values, and deliveredOnly) and date ranges (inclusive bounds).
Filter = dict[str, Any]
PARAMS = {
    "notification_type": "notificationTypes",
    "status": "statuses",
    "medium": "mediums",
    "ignored_reason": "ignoredReasons",
    "failed_reason": "failedReasons",
}
FILTERS: list[Filter] = [
    {},
    {"delivered_only": False},
    {"status": [RunStatus.COMPLETED], "delivered_only": False},
    {"status": [RunStatus.CREATED, RunStatus.FAILED]},
    {"notification_type": [NotificationType.WEEKLY_REPORT], "delivered_only": False},
    {"medium": [Medium.SLACK, Medium.EMAIL]},
    {"ignored_reason": [RunIgnoredReason.NO_RECIPIENTS], "delivered_only": False},
    {"failed_reason": list(RunFailedReason), "delivered_only": False},
    {"failed_reason": [RunFailedReason.INTERNAL_ERROR], "status": [RunStatus.FAILED]},
]
Range = tuple[datetime | None, datetime | None]
D1, D2, D3 = DAYS[1:]
RANGES: list[Range] = [
    (None, None),
    (D0 + timedelta(hours=12), D3 + timedelta(hours=12)),  # whole hours and whole days
    (D0 + timedelta(hours=6, minutes=1), D3 + timedelta(hours=13, minutes=20)),  # partial hours
    (D1, D3 - MS),  # whole days exactly
    (D1, D3),  # and the midnight that ends them
    (D0 + MS, D3 + DAY - 2 * MS),  # a millisecond inside each end
    (D1 + timedelta(hours=6), D1 + timedelta(hours=7) - MS),  # one whole hour
    (D1 + timedelta(hours=6, minutes=10), D1 + timedelta(hours=6, minutes=40)),  # inside one
    (D1 + timedelta(hours=5), D2 + timedelta(hours=7)),  # no whole day: hours only
    (D2 + timedelta(hours=6), D2 + timedelta(hours=6)),  # one instant, on the hour
    (D0 - DAY * 5, D3 + DAY * 10),  # beyond every run
    (D1 + timedelta(hours=6, minutes=30), None),  # from a run's exact instant on
    (None, D2 + timedelta(hours=13)),  # until an hour
    (None, D1 + timedelta(hours=12) - MS),  # until the millisecond before one
]


def wire(moment: datetime) -> str:
    """An instant as a query value, with milliseconds and Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def label(f: Filter, window: Range) -> str:
    """A readable name of a query, for the assertion diff."""
    names = " ".join(f"{PARAMS[c]}={','.join(v)}" for c, v in f.items() if c != "delivered_only")
    delivered = f"deliveredOnly={str(f.get('delivered_only', True)).lower()}"
    start, end = (wire(moment) if moment else "..." for moment in window)
    return f"{names} {delivered} [{start} .. {end}]"


def api_totals(api: Api, queries: Sequence[tuple[Filter, Range]]) -> dict[str, int]:
    """`total` of /logs/run for each query."""
    totals = {}
    for f, (start, end) in queries:
        params: dict[str, Any] = {PARAMS[c]: v for c, v in f.items() if c != "delivered_only"}
        params["deliveredOnly"] = str(f.get("delivered_only", True)).lower()
        params["pageSize"] = 1
        if start is not None:
            params["fromDate"] = wire(start)
        if end is not None:
            params["untilDate"] = wire(end)
        totals[label(f, (start, end))] = api.runs(params)["total"]
    return totals


def true_counts(engine: Engine, queries: Sequence[tuple[Filter, Range]]) -> dict[str, int]:
    """SELECT count(*) of the runs for each query."""
    counts = {}
    with engine.connect() as connection:
        for f, (start, end) in queries:
            conditions: list[ColumnElement[bool]] = [
                runs.c[column].in_(values)
                for column, values in f.items()
                if column != "delivered_only"
            ]
            if f.get("delivered_only", True):
                conditions.append(runs.c.delivered_count >= 1)
            if start is not None:
                conditions.append(runs.c.date_created >= start)
            if end is not None:
                conditions.append(runs.c.date_created <= end)
            statement = select(func.count()).select_from(runs).where(*conditions)
            counts[label(f, (start, end))] = connection.execute(statement).scalar_one()
    return counts


def prepare(engine: Engine, changes: Sequence[Change]) -> None:
    """Store the runs, then make the changes in turn."""
    store_runs(engine, world(INSTANTS))
    for change in changes:
        change(engine)


class TestRunTallyRows:
    """Each tally, daily and hourly, is the number of runs with its unit and key."""

    @pytest.mark.parametrize("level", list(LEVELS))
    @pytest.mark.parametrize("changes", STAGES)
    def test_tallies_equal_a_count_of_the_runs(
        self, api: Api, store: Engine, changes: Sequence[Change], level: str
    ) -> None:
        prepare(store, changes)
        table, unit = LEVELS[level]
        key = ("notification_type", "medium", "status")

        with store.connect() as connection:
            kept = {
                (
                    row[level],
                    *(str(row[k]) for k in key),
                    row.ignored_reason,
                    row.failed_reason,
                    bool(row.delivered),
                ): row.count
                for row in connection.execute(select(table)).mappings()
                if row.count != 0
            }
            found = Counter(
                (
                    (row.date_created - EPOCH) // unit,
                    *(str(row[k]) for k in key),
                    row.ignored_reason or "",
                    row.failed_reason or "",
                    row.delivered_count >= 1,
                )
                for row in connection.execute(select(runs)).mappings()
            )

        assert kept == dict(found)
        assert sum(found.values()) > 0


class TestRunTotals:
    """`total` of /logs/run equals SELECT count(*) for every filter and date range."""

    @pytest.mark.parametrize("changes", STAGES)
    def test_filters_and_date_ranges_count_exactly(
        self, api: Api, store: Engine, changes: Sequence[Change]
    ) -> None:
        prepare(store, changes)
        queries = [(f, (None, None)) for f in FILTERS]
        queries += [(f, window) for f in FILTERS[:2] for window in RANGES]

        assert api_totals(api, queries) == true_counts(store, queries)

    def test_every_filter_within_every_range_counts_exactly_after_every_change(
        self, api: Api, store: Engine
    ) -> None:
        prepare(store, EVERY_CHANGE)
        queries = [(f, window) for f in FILTERS for window in RANGES]

        assert api_totals(api, queries) == true_counts(store, queries)

    def test_totals_follow_each_change_as_it_is_made(self, api: Api, store: Engine) -> None:
        store_runs(store, world(INSTANTS))
        queries = [(f, window) for f in FILTERS[:4] for window in RANGES[:4]]

        for change in EVERY_CHANGE:
            change(store)

            assert api_totals(api, queries) == true_counts(store, queries), change.__name__


class TestBeforeTheEpoch:
    """Days and hours before 1970 are tallied on their own unit, as after it."""

    def test_runs_either_side_of_the_epoch_are_counted_in_their_unit(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(store, world([EPOCH - timedelta(minutes=30), EPOCH + timedelta(minutes=30)]))
        queries: list[tuple[Filter, Range]] = [
            ({"delivered_only": False}, window)
            for window in (
                (EPOCH, None),
                (None, EPOCH - MS),
                (EPOCH - HOUR, EPOCH + HOUR - MS),
                (EPOCH - DAY, EPOCH + DAY - MS),
                (EPOCH - timedelta(minutes=45), EPOCH + timedelta(minutes=45)),
            )
        ]

        assert api_totals(api, queries) == true_counts(store, queries)

"""The trigger-kept tallies stay exact through inserts, updates and deletes of logs.

`total` of /logs for enum filters and dates is summed from `notification_log_tallies` (whole
days) and `notification_log_hour_tallies` (whole hours of the partial end days), plus the
logs of the partial hours at the very ends of the range. After every kind of change an
operator or the engine can make with SQL, that total must equal a plain `SELECT count(*)` of
the logs with the same conditions, and every tally row, daily and hourly, must equal a count
of its logs.

One store per backend serves the whole module; each test stores its own logs and the store
is emptied after it.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import ColumnElement, Engine, Table, bindparam, delete, func, select, update

from tests.support.api import Api
from tests.support.builders import RunSpec, store_runs
from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
)
from tidings.logs.models import (
    LogAddressTally,
    LogHourTally,
    LogTally,
    NotificationLog,
    NotificationRun,
)

logs = cast(Table, NotificationLog.__table__)
runs = cast(Table, NotificationRun.__table__)
addresses = cast(Table, LogAddressTally.__table__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LEVELS = {
    "day": (cast(Table, LogTally.__table__), DAY),
    "hour": (cast(Table, LogHourTally.__table__), HOUR),
}


# The logs: two at each instant, from the last millisecond before D0 to midnight after D3,
# with every boundary a range can have (midnight, midnight + 1 ms, noon - 1 ms, noon, the
# last millisecond of a day, the middle of an hour). Their enum values cycle with co-prime
# periods.
D0 = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = [D0 + DAY * n for n in range(4)]
TIMES_OF_DAY = (
    timedelta(0),
    MS,
    timedelta(hours=6),
    timedelta(hours=6, minutes=30),
    timedelta(hours=12) - MS,
    timedelta(hours=12),
    timedelta(hours=13, minutes=15),
)
INSTANTS = [
    D0 - MS,
    *(day + offset for day in DAYS for offset in (*TIMES_OF_DAY, DAY - MS)),
    D0 + DAY * 4,
]
TYPES = (
    NotificationType.SERVICE_REEVALUATED,
    NotificationType.WEEKLY_REPORT,
    NotificationType.ENTITY_SCORE_DROPPED,
)
STATUSES = (
    LogStatus.DELIVERED,
    LogStatus.FAILED,
    LogStatus.IGNORED,
    LogStatus.READY,
    LogStatus.DELIVERED,
)
RECIPIENTS = tuple(RecipientType)
MEDIUMS = tuple(Medium)
IGNORED = (IgnoredReason.USER_UNSUBSCRIBED, IgnoredReason.CHANNEL_DISABLED, IgnoredReason.DUPLICATE)
FAILED = (FailedReason.CLIENT_ERROR, FailedReason.CHANNEL_NOT_FOUND)
# Addresses are matched case-insensitively; some logs have none.
ADDRESSES = (
    "Ada.Berg@example.com",
    "ada.berg@EXAMPLE.com",
    "grace@example.com",
    None,
    "Grace@Example.com",
    "linus@example.com",
    None,
)


def world(instants: Sequence[datetime], first: int = 0) -> list[RunSpec]:
    """One run per log, two logs per instant, enum values cycling from the `first`th log."""
    specs = []
    for n in range(first, first + 2 * len(instants)):
        when = instants[(n - first) // 2]
        status = STATUSES[n % 5]
        log = {
            "status": status,
            "recipient_type": RECIPIENTS[(n // 2) % 3],
            "ignored_reason": IGNORED[n % 3] if status is LogStatus.IGNORED else None,
            "failed_reason": FAILED[n % 2] if status is LogStatus.FAILED else None,
            "date_created": when,
            "date_updated": when,
            "date_delivered": when if status is LogStatus.DELIVERED else None,
            "recipient_email": ADDRESSES[n % 7],
        }
        fields = {"notification_type": TYPES[n % 3], "medium": MEDIUMS[n % 4], "date_created": when}
        specs.append(RunSpec(fields=fields, logs=[log]))
    return specs


# Changes to the logs, each in its own transaction, as an operator's SQL would make them.
Change = Callable[[Engine], None]
LATER = D0 + DAY * 10


def deliver_ready_logs(engine: Engine) -> None:
    """READY → DELIVERED."""
    with engine.begin() as connection:
        connection.execute(
            update(logs)
            .where(logs.c.status == LogStatus.READY)
            .values(status=LogStatus.DELIVERED, date_delivered=LATER, date_updated=LATER)
        )


def fail_some_delivered_logs(engine: Engine) -> None:
    """DELIVERED → FAILED / CLIENT_ERROR for every other delivered log."""
    with engine.begin() as connection:
        connection.execute(
            update(logs)
            .where(logs.c.status == LogStatus.DELIVERED, logs.c.id % 2 == 0)
            .values(
                status=LogStatus.FAILED,
                failed_reason=FailedReason.CLIENT_ERROR,
                date_delivered=None,
            )
        )


def ignore_some_failed_logs(engine: Engine) -> None:
    """FAILED → IGNORED / WORKSPACE_DISABLED for some failed logs (two reasons change)."""
    with engine.begin() as connection:
        connection.execute(
            update(logs)
            .where(logs.c.status == LogStatus.FAILED, logs.c.id % 3 != 0)
            .values(
                status=LogStatus.IGNORED,
                failed_reason=None,
                ignored_reason=IgnoredReason.WORKSPACE_DISABLED,
            )
        )


def change_ignored_reasons(engine: Engine) -> None:
    """USER_UNSUBSCRIBED → DUPLICATE."""
    with engine.begin() as connection:
        connection.execute(
            update(logs)
            .where(logs.c.ignored_reason == IgnoredReason.USER_UNSUBSCRIBED)
            .values(ignored_reason=IgnoredReason.DUPLICATE)
        )


def move_logs_across_midnight_and_noon(engine: Engine) -> None:
    """The last millisecond of a day becomes the next midnight, and midnight the day before;
    likewise across noon, an hour's boundary inside a day."""
    ends = {time(23, 59, 59, 999_000), time(11, 59, 59, 999_000)}
    with engine.begin() as connection:
        rows = connection.execute(select(logs.c.id, logs.c.date_created)).all()
        moves = [
            {"log_id": log_id, "moved": created + (MS if created.time() in ends else -MS)}
            for log_id, created in rows
            if created.time() in {time(0), time(12), *ends}
        ]
        connection.execute(
            update(logs)
            .where(logs.c.id == bindparam("log_id"))
            .values(date_created=bindparam("moved")),
            moves,
        )


def change_types_and_mediums(engine: Engine) -> None:
    """Some logs get another type, others another medium and recipient type."""
    with engine.begin() as connection:
        connection.execute(
            update(logs)
            .where(logs.c.medium == Medium.SLACK)
            .values(notification_type=NotificationType.ONCALL_ASSISTANT)
        )
        connection.execute(
            update(logs)
            .where(logs.c.id % 3 == 1)
            .values(medium=Medium.WEBHOOK, recipient_type=RecipientType.ENTITY)
        )


def readdress_some_logs(engine: Engine) -> None:
    """Some logs get another address (in other letters' case), others lose theirs."""
    with engine.begin() as connection:
        connection.execute(
            update(logs).where(logs.c.id % 3 == 0).values(recipient_email="LINUS@example.com")
        )
        connection.execute(update(logs).where(logs.c.id % 5 == 0).values(recipient_email=None))


def touch_without_changing_a_tallied_column(engine: Engine) -> None:
    """Updates that leave every tallied column as it was."""
    with engine.begin() as connection:
        connection.execute(update(logs).values(error_message="looked at"))
        connection.execute(update(logs).values(status=logs.c.status, medium=logs.c.medium))


def delete_some_logs(engine: Engine) -> None:
    """One log in four goes."""
    with engine.begin() as connection:
        connection.execute(delete(logs).where(logs.c.id % 4 == 1))


def delete_some_runs(engine: Engine) -> None:
    """One run in five goes, and its logs with it (ON DELETE CASCADE)."""
    with engine.begin() as connection:
        connection.execute(delete(runs).where(runs.c.id % 5 == 0))


def insert_more_logs(engine: Engine) -> None:
    """More logs at the same instants, with other enum values."""
    store_runs(engine, world(INSTANTS[::3], first=7))


EVERY_CHANGE: tuple[Change, ...] = (
    deliver_ready_logs,
    fail_some_delivered_logs,
    ignore_some_failed_logs,
    change_ignored_reasons,
    move_logs_across_midnight_and_noon,
    change_types_and_mediums,
    readdress_some_logs,
    touch_without_changing_a_tallied_column,
    delete_some_logs,
    delete_some_runs,
    insert_more_logs,
)
STAGES = [
    pytest.param((), id="after inserts"),
    *(pytest.param((change,), id=f"after {change.__name__}") for change in EVERY_CHANGE),
    pytest.param(EVERY_CHANGE, id="after every change in turn"),
]

# Queries: enum filters (column → values) and date ranges (inclusive bounds or None).
Filter = dict[str, list[Any]]
PARAMS = {
    "notification_type": "notificationTypes",
    "status": "statuses",
    "recipient_type": "recipientTypes",
    "medium": "mediums",
    "ignored_reason": "ignoredReasons",
    "failed_reason": "failedReasons",
    "recipient_email": "recipientEmails",
}
ENUMS: dict[str, Sequence[Any]] = {
    "notification_type": list(NotificationType),
    "status": list(LogStatus),
    "recipient_type": list(RecipientType),
    "medium": list(Medium),
    "ignored_reason": list(IgnoredReason),
    "failed_reason": list(FailedReason),
}
EVERY_SINGLE_VALUE: list[Filter] = [
    {column: [value]} for column, values in ENUMS.items() for value in values
]
COMBINED: list[Filter] = [
    {},
    {"status": [LogStatus.FAILED, LogStatus.IGNORED]},
    {"status": [LogStatus.DELIVERED], "medium": [Medium.SLACK, Medium.EMAIL]},
    {"notification_type": [NotificationType.WEEKLY_REPORT], "recipient_type": [RecipientType.TEAM]},
    {"ignored_reason": [IgnoredReason.DUPLICATE], "failed_reason": [FailedReason.CLIENT_ERROR]},
    {"ignored_reason": list(IgnoredReason)},
]
ONE_PER_DIMENSION: list[Filter] = [
    {"notification_type": [NotificationType.WEEKLY_REPORT]},
    {"status": [LogStatus.IGNORED]},
    {"recipient_type": [RecipientType.TEAM]},
    {"medium": [Medium.EMAIL]},
    {"ignored_reason": [IgnoredReason.DUPLICATE]},
    {"failed_reason": [FailedReason.CLIENT_ERROR]},
]
ADDRESS_FILTERS: list[Filter] = [
    {"recipient_email": ["ada.berg@example.com"]},
    {"recipient_email": ["GRACE@example.com", "linus@example.com"]},
    {"recipient_email": ["nobody@example.com"]},
]
Range = tuple[datetime | None, datetime | None]
Query = tuple[Filter, Range]
D1, D2, D3 = DAYS[1:]
NOON = timedelta(hours=12)
RANGES: list[Range] = [
    (None, None),
    (D0 + NOON, D3 + NOON),  # mid-day to mid-day over two whole days
    (D1, D3),  # midnight to midnight: the logs at D3 00:00:00.000 are in
    (D1, D3 - MS),  # whole days D1 and D2 exactly
    (D0 + MS, D3 + DAY - 2 * MS),  # a millisecond inside each end
    (D1 + NOON, D2 + NOON),  # two partial days, no whole day between
    (D1 + timedelta(hours=6), D1 + NOON),  # inside one day
    (D1 + timedelta(hours=13, minutes=30), D1 + timedelta(hours=14)),  # inside one day, no logs
    (D0 + timedelta(hours=6, minutes=1), D3 + timedelta(hours=13, minutes=20)),  # partial hours
    (D1 + timedelta(hours=6), D1 + timedelta(hours=7) - MS),  # one whole hour
    (D1 + timedelta(hours=6, minutes=10), D1 + timedelta(hours=6, minutes=40)),  # inside an hour
    (D1 + timedelta(hours=5), D2 + timedelta(hours=7)),  # no whole day: whole hours only
    (D2, D2),  # one instant, at midnight
    (D0 - DAY * 5, D3 + DAY * 10),  # beyond every log
    (D2, None),  # from midnight on
    (D1 + timedelta(hours=6), None),  # from a log's exact instant on
    (None, D2),  # until midnight
    (None, D1 + NOON - MS),  # until mid-day
]


def wire(moment: datetime) -> str:
    """An instant as a query value, with milliseconds and Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def label(f: Filter, window: Range) -> str:
    """A readable name of a query, for the assertion diff."""
    names = " ".join(f"{PARAMS[c]}={','.join(v)}" for c, v in f.items()) or "everything"
    start, end = (wire(moment) if moment else "..." for moment in window)
    return f"{names} [{start} .. {end}]"


def api_totals(api: Api, queries: Sequence[Query]) -> dict[str, int]:
    """`total` of /logs for each query."""
    totals = {}
    for f, (start, end) in queries:
        params: dict[str, Any] = {PARAMS[column]: values for column, values in f.items()}
        if start is not None:
            params["fromDate"] = wire(start)
        if end is not None:
            params["untilDate"] = wire(end)
        totals[label(f, (start, end))] = api.total(params)
    return totals


def true_counts(engine: Engine, queries: Sequence[Query]) -> dict[str, int]:
    """SELECT count(*) of the logs for each query."""
    counts = {}
    with engine.connect() as connection:
        for f, (start, end) in queries:
            conditions: list[ColumnElement[bool]] = [
                func.lower(logs.c.recipient_email).in_([v.lower() for v in values])
                if column == "recipient_email"
                else logs.c[column].in_(values)
                for column, values in f.items()
            ]
            if start is not None:
                conditions.append(logs.c.date_created >= start)
            if end is not None:
                conditions.append(logs.c.date_created <= end)
            statement = select(func.count()).select_from(logs).where(*conditions)
            counts[label(f, (start, end))] = connection.execute(statement).scalar_one()
    return counts


def prepare(engine: Engine, changes: Sequence[Change]) -> None:
    """Store the logs, then make the changes in turn."""
    store_runs(engine, world(INSTANTS))
    for change in changes:
        change(engine)


class TestTallyRows:
    """Each tally, daily and hourly, is the number of logs with its unit and enum values."""

    @pytest.mark.parametrize("level", list(LEVELS))
    @pytest.mark.parametrize("changes", STAGES)
    def test_tallies_equal_a_count_of_the_logs(
        self, api: Api, store: Engine, changes: Sequence[Change], level: str
    ) -> None:
        prepare(store, changes)
        table, unit = LEVELS[level]
        key = ("notification_type", "medium", "status", "recipient_type")

        with store.connect() as connection:
            kept = {
                (row[level], *(str(row[k]) for k in key), row.ignored_reason, row.failed_reason): (
                    row.count
                )
                for row in connection.execute(select(table)).mappings()
                if row.count != 0
            }
            found = Counter(
                (
                    (row.date_created - EPOCH) // unit,
                    *(str(row[k]) for k in key),
                    row.ignored_reason or "",
                    row.failed_reason or "",
                )
                for row in connection.execute(select(logs)).mappings()
            )

        assert kept == dict(found)
        assert sum(found.values()) > 0


class TestAddressTallyRows:
    """Each address tally is the number of logs its address (lowered) received that day."""

    @pytest.mark.parametrize("changes", STAGES)
    def test_address_tallies_equal_a_count_of_the_logs(
        self, api: Api, store: Engine, changes: Sequence[Change]
    ) -> None:
        prepare(store, changes)

        with store.connect() as connection:
            kept = {
                (row.day, row.recipient_email): row.count
                for row in connection.execute(select(addresses)).mappings()
                if row.count != 0
            }
            found = Counter(
                ((row.date_created - EPOCH) // DAY, row.recipient_email.lower())
                for row in connection.execute(select(logs)).mappings()
                if row.recipient_email is not None
            )

        assert kept == dict(found)
        assert sum(found.values()) > 0


class TestTotals:
    """`total` equals SELECT count(*) for every enum filter and date range."""

    @pytest.mark.parametrize("changes", STAGES)
    def test_enum_filters_and_date_ranges_count_exactly(
        self, api: Api, store: Engine, changes: Sequence[Change]
    ) -> None:
        prepare(store, changes)
        queries: list[Query] = [(f, (None, None)) for f in ONE_PER_DIMENSION + COMBINED]
        queries += [({}, window) for window in RANGES]

        assert api_totals(api, queries) == true_counts(store, queries)

    def test_every_value_of_every_enum_counts_exactly_after_every_change(
        self, api: Api, store: Engine
    ) -> None:
        prepare(store, EVERY_CHANGE)
        queries = [(f, (None, None)) for f in EVERY_SINGLE_VALUE]

        assert api_totals(api, queries) == true_counts(store, queries)

    def test_filters_within_date_ranges_count_exactly_after_every_change(
        self, api: Api, store: Engine
    ) -> None:
        prepare(store, EVERY_CHANGE)
        queries = [(f, window) for f in ONE_PER_DIMENSION + COMBINED for window in RANGES]

        assert api_totals(api, queries) == true_counts(store, queries)

    @pytest.mark.parametrize("changes", STAGES)
    def test_addresses_within_date_ranges_count_exactly(
        self, api: Api, store: Engine, changes: Sequence[Change]
    ) -> None:
        prepare(store, changes)
        queries = [(f, window) for f in ADDRESS_FILTERS for window in RANGES]

        assert api_totals(api, queries) == true_counts(store, queries)

    def test_totals_follow_each_change_as_it_is_made(self, api: Api, store: Engine) -> None:
        store_runs(store, world(INSTANTS))
        queries = [(f, window) for f in COMBINED[:3] for window in RANGES[:4]]

        for change in EVERY_CHANGE:
            change(store)

            assert api_totals(api, queries) == true_counts(store, queries), change.__name__


class TestBeforeTheEpoch:
    """Days and hours before 1970 are tallied on their own unit, as after it."""

    def test_logs_either_side_of_the_epoch_are_counted_on_their_day(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(store, world([EPOCH - timedelta(hours=1), EPOCH + timedelta(hours=1)]))
        queries: list[Query] = [
            ({}, (EPOCH, None)),
            ({}, (None, EPOCH - MS)),
            ({}, (EPOCH - DAY, EPOCH + DAY - MS)),
            ({}, (EPOCH - HOUR, EPOCH + HOUR - MS)),
            ({}, (EPOCH - timedelta(minutes=90), EPOCH + timedelta(minutes=90))),
        ]

        assert api_totals(api, queries) == true_counts(store, queries)

"""Retention: old contents, logs, runs and events go by the UTC day.

Data is kept for whole days: a row goes once the whole UTC day it was written on is older
than its retention, so a log of 30-day retention lives between 30 and 31 days. On
PostgreSQL that makes a day's rows one partition of each table (see kit.partitions), and
the purge drops partitions, which costs a catalog change whatever their size. What no
partition holds by day (rows in the default partition, events, SQLite's tables) is deleted
in small batches, each its own short transaction, so readers are never blocked (WAL on
SQLite, MVCC on PostgreSQL) and a writer waits at most one batch.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Column, ColumnElement, Connection, Engine, Table, column, delete, select
from sqlalchemy import table as sql_table
from sqlalchemy.exc import OperationalError

from tidings.engine.models import NotificationContent, NotificationEvent, OutboxMessage
from tidings.engine.repository import delete_logs, delete_runs
from tidings.kit import partitions
from tidings.logs import run_tallies, search, tallies
from tidings.logs.models import NotificationLog, NotificationRun

log = logging.getLogger(__name__)

BATCH = 5000
contents = cast(Table, NotificationContent.__table__)
outbox = cast(Table, OutboxMessage.__table__)
logs = cast(Table, NotificationLog.__table__)
runs = cast(Table, NotificationRun.__table__)
events = cast(Table, NotificationEvent.__table__)


@dataclass
class Purged:
    """How many rows of each kind a purge removed, and how many day partitions it dropped."""

    counts: dict[str, int] = field(default_factory=dict)
    partitions_dropped: int = 0

    @property
    def total(self) -> int:
        """Rows removed in all."""
        return sum(self.counts.values())

    def add(self, kind: str, rows: int) -> None:
        """Count `rows` more removed rows of `kind`."""
        self.counts[kind] = self.counts.get(kind, 0) + rows


def cutoff(now: datetime, keep: timedelta) -> datetime:
    """The first instant kept: the start of the UTC day `keep` before `now`."""
    return partitions.day_start(partitions.day_of(now - keep))


Deleter = Callable[[Connection, Sequence[int]], None]
Row = tuple[ColumnElement[int], ColumnElement[datetime]]


def _purge_rows(
    engine: Engine,
    kind: str,
    rows: Row,
    before: datetime,
    deleter: Deleter,
    purged: Purged,
) -> None:
    purged.add(kind, 0)
    key, moment = rows
    while True:
        batch = select(key).where(moment < before).order_by(moment).limit(BATCH)
        with engine.begin() as connection:
            ids = list(connection.scalars(batch))
            if not ids:
                return
            deleter(connection, ids)
        purged.add(kind, len(ids))


def _delete_where(table: Table, key: Column[int]) -> Deleter:
    def deleter(connection: Connection, ids: Sequence[int]) -> None:
        connection.execute(delete(table).where(key.in_(ids)))

    return deleter


def _expired_spans(
    connection: Connection, table: partitions.PartitionedTable, before: datetime, today: int
) -> set[int]:
    """The spans (by first day) of `table`'s partitions whose every row is older than
    `before`: checked, not assumed, since a row written without an id carries the
    database's day. Empty partitions of this week and later stay, for the rows to come."""
    expired = set()
    for start in partitions.partition_days(connection, table.name):
        end = start + partitions.SPAN_DAYS
        if partitions.day_start(end) > before:
            break
        newest = connection.exec_driver_sql(
            f"SELECT max({table.age}) FROM {partitions.partition_name(table.name, start)}"
        ).scalar_one()
        if newest is None and end > today:
            continue
        if newest is not None and newest >= before:
            break
        expired.add(start)
    return expired


def _spans_to_drop(
    connection: Connection, cutoffs: dict[str, datetime], today: int
) -> dict[str, set[int]]:
    """For each partitioned table, the spans to drop: those past its own retention, and
    those its parent drops (or dropped, in a purge that was interrupted)."""
    by_table = {
        table.name: _expired_spans(connection, table, cutoffs[table.name], today)
        if table.age is not None
        else set()
        for table in partitions.PARTITIONED
    }
    for table in partitions.PARTITIONED:
        if table.parent is None:
            continue
        going = by_table[table.parent]
        parent_spans = set(partitions.partition_days(connection, table.parent))
        by_table[table.name] |= {
            start
            for start in partitions.partition_days(connection, table.name)
            if start in going
            or (start not in parent_spans and start + partitions.SPAN_DAYS <= today)
        }
    return by_table


def _drop_partition(
    connection: Connection, table: partitions.PartitionedTable, start: int, purged: Purged
) -> None:
    name = partitions.partition_name(table.name, start)
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{partitions.LOCK_TIMEOUT}'")
    rows = int(connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one())
    # Dropping fires no trigger: take the day's rows out of the tallies here.
    for tally in (*tallies.LOG_TALLIES, *run_tallies.RUN_TALLIES):
        if tally.source == table.name:
            connection.exec_driver_sql(tally.subtract_statement(name))
    connection.exec_driver_sql(f"ALTER TABLE {table.name} DETACH PARTITION {name}")
    connection.exec_driver_sql(f"DROP TABLE {name}")
    purged.add(table.name.removeprefix("notification_"), rows)
    purged.partitions_dropped += 1


def _drop_expired_partitions(engine: Engine, cutoffs: dict[str, datetime], purged: Purged) -> None:
    """Drop every partition whose rows are all past retention, one per transaction, the
    tables that hang off a run or a log before the runs and logs."""
    with engine.begin() as connection:
        partitions.ensure_partitions_ahead(connection)
        today = partitions.database_today(connection)
        to_drop = _spans_to_drop(connection, cutoffs, today)
    for table in sorted(partitions.PARTITIONED, key=lambda table: table.parent is None):
        for start in sorted(to_drop[table.name]):
            try:
                with engine.begin() as connection:
                    _drop_partition(connection, table, start, purged)
            except OperationalError as error:  # busy: the next purge tries again
                name = partitions.partition_name(table.name, start)
                log.warning("could not drop %s yet: %s", name, error)
                return


def _rows(table: Table, key: str, moment: str, partitioned: bool) -> Row:
    """The id and age columns to purge by: of the table, or of its default partition only
    when PostgreSQL partitions it (the rest goes a partition at a time)."""
    if not partitioned:
        return table.c[key], table.c[moment]
    default = sql_table(
        partitions.default_partition_name(table.name),
        column(key),
        column(moment, table.c[moment].type),
    )
    return default.c[key], default.c[moment]


def _prune_summaries(engine: Engine) -> None:
    """Unlist the summaries no run holds any more from the search's dictionary."""
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{partitions.LOCK_TIMEOUT}'")
                connection.exec_driver_sql(search.PRUNE_LOCK)
            connection.exec_driver_sql(search.PRUNE)
    except OperationalError as error:  # busy: the next purge tries again
        log.warning("could not prune the summaries no run holds yet: %s", error)


def purge(engine: Engine, now: datetime, keep_runs: timedelta, keep_contents: timedelta) -> Purged:
    """Remove message contents whose day is older than `keep_contents`, and logs, runs,
    events and outbox messages whose day is older than `keep_runs`, then the summaries no
    run holds any more. On PostgreSQL a partition goes once all its rows are that old, so
    rows may stay up to a week longer."""
    purged = Purged()
    run_cutoff = cutoff(now, keep_runs)
    content_cutoff = cutoff(now, keep_contents)
    with engine.connect() as connection:
        split = partitions.is_partitioned(connection, partitions.LOGS)
    if split:
        cutoffs = {table.name: run_cutoff for table in partitions.PARTITIONED}
        cutoffs[partitions.CONTENTS] = content_cutoff
        _drop_expired_partitions(engine, cutoffs, purged)
    # What no partition holds by its week (everything, on SQLite).
    for kind, rows, before, deleter in (
        (
            "contents",
            _rows(contents, "log_id", "date_created", split),
            content_cutoff,
            _delete_where(contents, contents.c.log_id),
        ),
        (
            "outbox",
            _rows(outbox, "id", "date_sent", split),
            run_cutoff,
            _delete_where(outbox, outbox.c.id),
        ),
        ("logs", _rows(logs, "id", "date_created", split), run_cutoff, delete_logs),
        ("runs", _rows(runs, "id", "date_created", split), run_cutoff, delete_runs),
        (
            "events",
            _rows(events, "id", "received_at", False),
            run_cutoff,
            _delete_where(events, events.c.id),
        ),
    ):
        _purge_rows(engine, kind, rows, before, deleter, purged)
    _prune_summaries(engine)
    return purged

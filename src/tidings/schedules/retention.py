"""Retention: old contents, logs, runs and events are deleted in small batches.

Each batch is its own short transaction, so purging a million rows never holds the store
for long: API readers are never blocked (WAL on SQLite, MVCC on PostgreSQL) and a writer
waits at most one batch.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Column, Engine, Table, delete, select

from tidings.engine.models import NotificationContent, NotificationEvent, OutboxMessage
from tidings.logs.models import NotificationLog, NotificationRun

BATCH = 5000
contents = cast(Table, NotificationContent.__table__)
outbox = cast(Table, OutboxMessage.__table__)
logs = cast(Table, NotificationLog.__table__)
runs = cast(Table, NotificationRun.__table__)
events = cast(Table, NotificationEvent.__table__)


@dataclass
class Purged:
    """How many rows of each kind a purge deleted."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows deleted in all."""
        return sum(self.counts.values())


def _purge_table(
    engine: Engine, table: Table, key: Column[int], moment: Column[datetime], cutoff: datetime
) -> int:
    deleted = 0
    while True:
        batch = select(key).where(moment < cutoff).order_by(moment).limit(BATCH)
        with engine.begin() as connection:
            ids = list(connection.scalars(batch))
            if not ids:
                return deleted
            connection.execute(delete(table).where(key.in_(ids)))
        deleted += len(ids)


def purge(engine: Engine, now: datetime, keep_runs: timedelta, keep_contents: timedelta) -> Purged:
    """Delete message contents older than `keep_contents`, and logs, runs, events and outbox
    messages older than `keep_runs`."""
    purged = Purged()
    run_cutoff = now - keep_runs
    purged.counts["contents"] = _purge_table(
        engine, contents, contents.c.log_id, contents.c.date_created, now - keep_contents
    )
    purged.counts["outbox"] = _purge_table(
        engine, outbox, outbox.c.id, outbox.c.date_sent, run_cutoff
    )
    purged.counts["logs"] = _purge_table(engine, logs, logs.c.id, logs.c.date_created, run_cutoff)
    purged.counts["runs"] = _purge_table(engine, runs, runs.c.id, runs.c.date_created, run_cutoff)
    purged.counts["events"] = _purge_table(
        engine, events, events.c.id, events.c.received_at, run_cutoff
    )
    return purged

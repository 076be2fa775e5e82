"""All SQL of the admin page: sessions, the chart's daily tallies, the export's keyset
pages, and a run's progress for the live tail."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, delete, func, insert, or_, select

from tidings.auth.models import ApiKey
from tidings.enums import LogStatus, SortOrder
from tidings.logs.filters import LogFilter
from tidings.logs.repository import LOG_WIRE_COLUMNS, log_conditions, logs, runs, tallies
from tidings.web.models import WebSession

web_sessions = cast(Table, WebSession.__table__)
api_keys = cast(Table, ApiKey.__table__)


@dataclass(frozen=True)
class SessionRow:
    """A stored session that has not expired, with the key that signed in."""

    id: int
    key_id: int
    key_name: str
    key_permissions: tuple[str, ...]
    csrf_token: str
    expires_at: datetime


def insert_session(
    connection: Connection,
    token_hash: str,
    key_id: int,
    csrf_token: str,
    created_at: datetime,
    expires_at: datetime,
) -> int:
    """Store a new session; returns its id."""
    statement = (
        insert(web_sessions)
        .values(
            token_hash=token_hash,
            key_id=key_id,
            csrf_token=csrf_token,
            created_at=created_at,
            expires_at=expires_at,
        )
        .returning(web_sessions.c.id)
    )
    return int(connection.execute(statement).scalar_one())


def live_session(connection: Connection, token_hash: str, now: datetime) -> SessionRow | None:
    """The session with this token hash, unless it or its key expired or the key was revoked."""
    statement = (
        select(
            web_sessions.c.id,
            web_sessions.c.key_id,
            api_keys.c.name,
            api_keys.c.permissions,
            web_sessions.c.csrf_token,
            web_sessions.c.expires_at,
        )
        .join(api_keys, api_keys.c.id == web_sessions.c.key_id)
        .where(
            web_sessions.c.token_hash == token_hash,
            web_sessions.c.expires_at > now,
            api_keys.c.revoked_at.is_(None),
            or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
        )
    )
    row = connection.execute(statement).first()
    if row is None:
        return None
    return SessionRow(
        id=int(row.id),
        key_id=int(row.key_id),
        key_name=row.name,
        key_permissions=tuple(row.permissions),
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


def delete_session(connection: Connection, token_hash: str) -> None:
    """Forget the session with this token hash (if there is one)."""
    connection.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


def delete_expired(connection: Connection, now: datetime) -> None:
    """Forget every session that expired by `now`."""
    connection.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))


# The chart ---------------------------------------------------------------------------------


def daily_tallies(
    connection: Connection, first_day: int, last_day: int, statuses: Sequence[LogStatus]
) -> list[tuple[int, str, str, int]]:
    """(day, status, medium, logs) summed from the trigger-kept tallies, for whole UTC days
    `first_day` to `last_day` (days since 1970-01-01)."""
    statement = (
        select(tallies.c.day, tallies.c.status, tallies.c.medium, func.sum(tallies.c.count))
        .where(
            tallies.c.day >= first_day,
            tallies.c.day <= last_day,
            tallies.c.status.in_([status.value for status in statuses]),
        )
        .group_by(tallies.c.day, tallies.c.status, tallies.c.medium)
    )
    return [
        (int(day), str(status), str(medium), int(total or 0))
        for day, status, medium, total in connection.execute(statement)
    ]


# The export --------------------------------------------------------------------------------

# The cursor column rides after the wire columns: `row[:-1]` is what `log_to_wire` reads.
EXPORT_COLUMNS = (*LOG_WIRE_COLUMNS, logs.c.date_created.label("cursor_created"))


@dataclass(frozen=True)
class LogCursor:
    """Where a keyset page ended: the last row's (date_created, id)."""

    date_created: datetime
    id: int


def log_export_page(
    connection: Connection, f: LogFilter, order: SortOrder, after: LogCursor | None, size: int
) -> Sequence[Sequence[Any]]:
    """Up to `size` logs matching `f` past `after` in (date_created, id) order: the wire
    columns, then the raw date_created to continue from."""
    conditions = log_conditions(f)
    if after is not None:
        # The first condition is a plain range the (…, date_created, id) indexes serve.
        if order is SortOrder.ASC:
            conditions += [
                logs.c.date_created >= after.date_created,
                or_(
                    logs.c.date_created > after.date_created,
                    and_(logs.c.date_created == after.date_created, logs.c.id > after.id),
                ),
            ]
        else:
            conditions += [
                logs.c.date_created <= after.date_created,
                or_(
                    logs.c.date_created < after.date_created,
                    and_(logs.c.date_created == after.date_created, logs.c.id < after.id),
                ),
            ]
    ordering = (
        (logs.c.date_created.asc(), logs.c.id.asc())
        if order is SortOrder.ASC
        else (logs.c.date_created.desc(), logs.c.id.desc())
    )
    statement = select(*EXPORT_COLUMNS).where(*conditions).order_by(*ordering).limit(size)
    return connection.execute(statement).all()


# The live tail -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunProgress:
    """What the live tail watches of a run: its row and its logs counted by status."""

    status: str
    delivered_count: int
    date_updated: datetime
    log_counts: tuple[tuple[str, int], ...]


def run_progress(connection: Connection, run_id: int) -> RunProgress | None:
    """The run's status, delivered count and logs by status, or None when it is gone."""
    row = connection.execute(
        select(runs.c.status, runs.c.delivered_count, runs.c.date_updated).where(
            runs.c.id == run_id
        )
    ).first()
    if row is None:
        return None
    counts = connection.execute(
        select(logs.c.status, func.count())
        .where(logs.c.run_id == run_id)
        .group_by(logs.c.status)
        .order_by(logs.c.status)
    ).all()
    return RunProgress(
        status=str(row.status),
        delivered_count=int(row.delivered_count),
        date_updated=row.date_updated,
        log_counts=tuple((str(status), int(total)) for status, total in counts),
    )

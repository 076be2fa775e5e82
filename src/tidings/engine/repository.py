"""Every SQL statement of the engine: events, runs and logs as it writes them, outcomes."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from tidings.catalog.models import TeamMember
from tidings.engine.models import (
    Delivery,
    DeliveryAttempt,
    NotificationContent,
    NotificationEvent,
    OutboxMessage,
    run_destinations,
)
from tidings.engine.settle import Settlement, settle_counts
from tidings.enums import (
    AttemptOutcome,
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.kit import partitions
from tidings.logs.models import run_objects
from tidings.logs.repository import dialect_insert, logs, runs

events = cast(Table, NotificationEvent.__table__)
contents = cast(Table, NotificationContent.__table__)
deliveries = cast(Table, Delivery.__table__)
attempts = cast(Table, DeliveryAttempt.__table__)
outbox = cast(Table, OutboxMessage.__table__)
members = cast(Table, TeamMember.__table__)


# Events and idempotency ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEvent:
    """An accepted event and the answer it got, if any yet."""

    id: int
    received_at: datetime
    answer: dict[str, Any] | None


def event_by_key(connection: Connection, key: str) -> StoredEvent | None:
    """The event that holds an idempotency key, if one does."""
    row = connection.execute(
        select(events.c.id, events.c.received_at, events.c.answer).where(
            events.c.idempotency_key == key
        )
    ).first()
    if row is None:
        return None
    return StoredEvent(
        int(row.id), row.received_at, None if row.answer is None else json.loads(row.answer)
    )


def release_key(connection: Connection, event_id: int) -> None:
    """Let an expired idempotency key be used again (the event itself stays)."""
    connection.execute(update(events).where(events.c.id == event_id).values(idempotency_key=None))


def insert_event(
    connection: Connection,
    notification_type: NotificationType,
    key: str | None,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    """Record an accepted event; returns its id."""
    statement = insert(events).values(
        notification_type=notification_type,
        idempotency_key=key,
        payload=json.dumps(payload, sort_keys=True),
        received_at=now,
    )
    return int(connection.execute(statement.returning(events.c.id)).scalar_one())


def save_answer(connection: Connection, event_id: int, answer: dict[str, Any]) -> None:
    """Keep the answer an event got, for a replay of its idempotency key."""
    connection.execute(
        update(events).where(events.c.id == event_id).values(answer=json.dumps(answer))
    )


def event_payload(connection: Connection, event_id: int) -> dict[str, Any] | None:
    """The event as it was accepted, unless it has been purged."""
    payload = connection.scalar(select(events.c.payload).where(events.c.id == event_id))
    return None if payload is None else cast(dict[str, Any], json.loads(payload))


# Runs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """A run as the engine needs it."""

    id: int
    notification_type: NotificationType
    medium: Medium
    status: RunStatus
    summary: str
    original_run_id: int | None
    seq_no: int
    event_id: int | None
    expanded_at: datetime | None
    ignored_reason: RunIgnoredReason | None
    failed_reason: RunFailedReason | None
    error_message: str | None


RUN_COLUMNS = (
    runs.c.id,
    runs.c.notification_type,
    runs.c.medium,
    runs.c.status,
    runs.c.summary,
    runs.c.original_run_id,
    runs.c.seq_no,
    runs.c.event_id,
    runs.c.expanded_at,
    runs.c.ignored_reason,
    runs.c.failed_reason,
    runs.c.error_message,
)


def run_by_id(connection: Connection, run_id: int) -> RunRecord | None:
    """The run with this id, if any."""
    row = connection.execute(select(*RUN_COLUMNS).where(runs.c.id == run_id)).first()
    return None if row is None else RunRecord(**row._mapping)


def insert_run(connection: Connection, values: dict[str, Any]) -> int:
    """Insert a run; returns its id."""
    stamped = partitions.stamped_id(
        connection.dialect.name, values["date_created"], partitions.RUN_SEQUENCE
    )
    statement = insert(runs).values(**values, **stamped).returning(runs.c.id)
    return int(connection.execute(statement).scalar_one())


def mark_expanded(connection: Connection, run_id: int, now: datetime) -> None:
    """Record that every recipient of the run has its log."""
    connection.execute(
        update(runs).where(runs.c.id == run_id).values(expanded_at=now, date_updated=now)
    )


def forget_partial_expansion(connection: Connection, run_id: int) -> None:
    """Remove what an interrupted expansion wrote, so it can start again cleanly.

    Nothing of it was sent: delivery starts only once a run is fully expanded.
    """
    log_ids = list(connection.scalars(select(logs.c.id).where(logs.c.run_id == run_id)))
    delete_logs(connection, log_ids)
    connection.execute(run_destinations.delete().where(run_destinations.c.run_id == run_id))


# Deletes ---------------------------------------------------------------------------------------
# SQLite's foreign keys would cascade these; PostgreSQL's partitioned tables have none
# (kit.orm.sqlite_only_foreign_key), so every delete names what goes with a row.

DELETE_BATCH = 5000
# Ids one statement names in an IN list: far below SQLite's and PostgreSQL's limits on bound
# parameters (32,766 and 65,535).
IN_LIST_MAX = 5000


LOG_DEPENDANTS: tuple[tuple[Table, Any], ...] = (
    (contents, contents.c.log_id),
    (deliveries, deliveries.c.log_id),
    (attempts, attempts.c.log_id),
    (outbox, outbox.c.log_id),
)


def delete_logs(connection: Connection, ids: Sequence[int]) -> None:
    """Delete logs and what hangs off them (contents, delivery state, attempts, outbox)."""
    for start in range(0, len(ids), DELETE_BATCH):
        batch = ids[start : start + DELETE_BATCH]
        for table, key in LOG_DEPENDANTS:
            connection.execute(delete(table).where(key.in_(batch)))
        connection.execute(delete(logs).where(logs.c.id.in_(batch)))


def delete_runs(connection: Connection, ids: Sequence[int]) -> None:
    """Delete runs with their logs, objects and destinations; re-runs of them keep no
    pointer to a run that is gone."""
    log_ids = list(connection.scalars(select(logs.c.id).where(logs.c.run_id.in_(ids))))
    delete_logs(connection, log_ids)
    for table, key in (
        (run_objects, run_objects.c.run_id),
        (run_destinations, run_destinations.c.run_id),
    ):
        connection.execute(delete(table).where(key.in_(ids)))
    connection.execute(
        update(runs).where(runs.c.original_run_id.in_(ids)).values(original_run_id=None)
    )
    connection.execute(delete(runs).where(runs.c.id.in_(ids)))


def unfinished_run_ids(connection: Connection) -> list[int]:
    """Runs still CREATED: expansion or delivery did not finish (a restart resumes them)."""
    statement = select(runs.c.id).where(runs.c.status == RunStatus.CREATED).order_by(runs.c.id)
    return [int(run_id) for run_id in connection.scalars(statement)]


def chain_runs(connection: Connection, root_id: int) -> list[RunRecord]:
    """The original run and its re-runs, in order."""
    statement = (
        select(*RUN_COLUMNS)
        .where((runs.c.id == root_id) | (runs.c.original_run_id == root_id))
        .order_by(runs.c.seq_no, runs.c.id)
    )
    return [RunRecord(**row._mapping) for row in connection.execute(statement)]


def settle_run(connection: Connection, run_id: int, now: datetime) -> Settlement:
    """Compute the run's status from its logs and store it (it stays CREATED while any is READY)."""
    counts = connection.execute(
        select(logs.c.status, func.count()).where(logs.c.run_id == run_id).group_by(logs.c.status)
    )
    settlement = settle_counts({LogStatus(status): int(count) for status, count in counts})
    connection.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            status=settlement.status,
            ignored_reason=settlement.ignored_reason,
            delivered_count=settlement.delivered_count,
            date_updated=now,
        )
    )
    return settlement


# Destinations, logs and contents --------------------------------------------------------------


def claim_destinations(connection: Connection, run_id: int, keys: Sequence[str]) -> set[str]:
    """Claim destinations for a run; returns those claimed now (the rest were reached before)."""
    if not keys:
        return set()
    statement = dialect_insert(connection, run_destinations).on_conflict_do_nothing()
    claimed = connection.execute(
        statement.returning(run_destinations.c.destination),
        [{"run_id": run_id, "destination": key} for key in keys],
    )
    return {str(key) for key in claimed.scalars()}


@dataclass(frozen=True)
class LogDraft:
    """A log the expansion decided, with its rendered content when it is to be sent."""

    notification_type: NotificationType
    medium: Medium
    status: LogStatus
    recipient_type: RecipientType
    recipient_user_id: int | None
    recipient_email: str | None
    recipient_entity_id: int | None
    recipient_channel: str | None
    ignored_reason: IgnoredReason | None
    failed_reason: FailedReason | None
    error_message: str | None
    why: str
    explanation: str | None
    content: tuple[str, str, str] | None  # subject, text, body (JSON)


def insert_logs(
    connection: Connection, run_id: int, drafts: Sequence[LogDraft], now: datetime
) -> list[int]:
    """Insert a batch of logs and their contents; returns the ids in the batch's order."""
    if not drafts:
        return []
    rows = [
        {
            "run_id": run_id,
            "notification_type": d.notification_type,
            "medium": d.medium,
            "status": d.status,
            "recipient_type": d.recipient_type,
            "recipient_user_id": d.recipient_user_id,
            "recipient_email": d.recipient_email,
            "recipient_entity_id": d.recipient_entity_id,
            "recipient_channel": d.recipient_channel,
            "ignored_reason": d.ignored_reason,
            "failed_reason": d.failed_reason,
            "error_message": d.error_message,
            "why": d.why,
            "explanation": d.explanation,
            "date_created": now,
            "date_updated": now,
            "date_delivered": None,
        }
        for d in drafts
    ]
    stamped = partitions.stamped_id(connection.dialect.name, now, partitions.LOG_SEQUENCE)
    statement = insert(logs).values(**stamped).returning(logs.c.id, sort_by_parameter_order=True)
    ids = [int(log_id) for log_id in connection.execute(statement, rows).scalars()]
    content_rows = [
        {
            "log_id": log_id,
            "subject": d.content[0],
            "text": d.content[1],
            "body": d.content[2],
            "date_created": now,
        }
        for log_id, d in zip(ids, drafts, strict=True)
        if d.content is not None
    ]
    if content_rows:
        connection.execute(insert(contents), content_rows)
    return ids


class ReadyLog(NamedTuple):
    """A log waiting to be sent, with what to send."""

    # A named tuple, made from each row at a fraction of a frozen dataclass's cost: the
    # delivery stage reads thousands a second.

    id: int
    recipient_type: RecipientType
    recipient_user_id: int | None
    recipient_email: str | None
    recipient_entity_id: int | None
    recipient_channel: str | None
    subject: str | None
    text: str | None
    body: str | None
    attempts: int = 0  # tries so far
    failures: int = 0  # tries that counted against the retry budget


def ready_logs(
    connection: Connection, run_id: int, after_id: int, limit: int, now: datetime
) -> list[ReadyLog]:
    """The next READY logs of a run after `after_id` that are due now (never tried, or their
    next try has come), by id, with their contents and how many tries they have had."""
    # The ids are chosen first and only those logs joined to their contents: no index gives
    # a run's READY logs in id order, so every READY log after `after_id` is sorted, and
    # sorting bare ids instead of rows with their bodies took a fifth off the read.
    due = (
        select(logs.c.id)
        .outerjoin(deliveries, deliveries.c.log_id == logs.c.id)
        .where(
            logs.c.run_id == run_id,
            logs.c.status == LogStatus.READY,
            logs.c.id > after_id,
            or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
        )
        .order_by(logs.c.id)
        .limit(limit)
    )
    statement = (
        select(
            logs.c.id,
            logs.c.recipient_type,
            logs.c.recipient_user_id,
            logs.c.recipient_email,
            logs.c.recipient_entity_id,
            logs.c.recipient_channel,
            contents.c.subject,
            contents.c.text,
            contents.c.body,
            func.coalesce(deliveries.c.attempts, 0),
            func.coalesce(deliveries.c.failures, 0),
        )
        .outerjoin(contents, contents.c.log_id == logs.c.id)
        .outerjoin(deliveries, deliveries.c.log_id == logs.c.id)
        .where(logs.c.id.in_(due.scalar_subquery()))
        .order_by(logs.c.id)
    )
    return [ReadyLog(*row) for row in connection.execute(statement)]


def next_attempt_at(connection: Connection, run_id: int) -> datetime | None:
    """When the earliest READY log of the run that waits for another try is due."""
    statement = (
        select(func.min(deliveries.c.next_attempt_at))
        .join(logs, logs.c.id == deliveries.c.log_id)
        .where(deliveries.c.run_id == run_id, logs.c.status == LogStatus.READY)
    )
    value = connection.execute(statement).scalar()
    return cast(datetime | None, value)


@dataclass(frozen=True)
class Retry:
    """A READY log to try again later."""

    log_id: int
    run_id: int
    attempts: int
    failures: int
    next_attempt_at: datetime
    last_error: str | None


def schedule_retries(connection: Connection, retries: Sequence[Retry]) -> None:
    """Store when each log is tried next (and how many tries it has had)."""
    if not retries:
        return
    statement = dialect_insert(connection, deliveries)
    statement = statement.on_conflict_do_update(
        index_elements=[deliveries.c.log_id],
        set_={
            "attempts": statement.excluded.attempts,
            "failures": statement.excluded.failures,
            "next_attempt_at": statement.excluded.next_attempt_at,
            "last_error": statement.excluded.last_error,
        },
    )
    connection.execute(
        statement,
        [
            {
                "log_id": retry.log_id,
                "run_id": retry.run_id,
                "attempts": retry.attempts,
                "failures": retry.failures,
                "next_attempt_at": retry.next_attempt_at,
                "last_error": retry.last_error,
            }
            for retry in retries
        ],
    )


class NewAttempt(NamedTuple):
    """A try to keep, as the provider answered it."""

    log_id: int
    number: int
    started_at: datetime
    latency_ms: float
    outcome: AttemptOutcome
    status_code: int | None
    provider_request_id: str | None
    error_message: str | None
    response_excerpt: str | None


# Tries one INSERT statement holds: 4,500 bound parameters, within SQLite's and psycopg's
# limits (32,766 and 65,535).
ATTEMPTS_PER_INSERT = 500


def record_attempts(connection: Connection, rows: Sequence[NewAttempt]) -> None:
    """Keep every try, as the provider answered it."""
    # Many rows to one INSERT, its values handed to the driver as they are stored. An
    # executemany cost twice the CPU (15 against 7 µs a try: SQLAlchemy builds and converts
    # a dictionary of parameters per row), and SQLite's driver lets go of the GIL for every
    # row it steps through, so each row waited for the event loop's thread to give it back:
    # a write fell behind the sending it records.
    stored_instant = _instant_converter(connection)
    for start in range(0, len(rows), ATTEMPTS_PER_INSERT):
        chunk = rows[start : start + ATTEMPTS_PER_INSERT]
        values: list[object] = []
        for row in chunk:
            values += (
                row.log_id,
                row.number,
                stored_instant(row.started_at),
                row.latency_ms,
                row.outcome.value,
                row.status_code,
                row.provider_request_id,
                row.error_message,
                row.response_excerpt,
            )
        connection.exec_driver_sql(
            _insert_attempts_sql(connection.dialect.paramstyle, len(chunk)), tuple(values)
        )


def _insert_attempts_sql(paramstyle: str, count: int) -> str:
    # SQLite's driver takes `?`; psycopg takes `%s` for parameters given as a tuple.
    marker = "?" if paramstyle == "qmark" else "%s"
    row = f"({', '.join([marker] * len(NewAttempt._fields))})"
    return (
        f"INSERT INTO {attempts.name} ({', '.join(NewAttempt._fields)}) "
        f"VALUES {', '.join([row] * count)}"
    )


def _instant_converter(connection: Connection) -> Callable[[datetime], Any]:
    """How an instant is handed to this database's driver (kit.orm.UtcDateTime's way)."""
    convert = attempts.c.started_at.type.bind_processor(connection.dialect)
    return convert if convert is not None else _unchanged


def _unchanged(value: datetime) -> datetime:
    return value


@dataclass(frozen=True)
class AttemptRecord:
    """One stored try of a log."""

    number: int
    started_at: datetime
    latency_ms: float
    outcome: str
    status_code: int | None
    provider_request_id: str | None
    error_message: str | None
    response_excerpt: str | None


def attempts_of(connection: Connection, log_id: int) -> list[AttemptRecord]:
    """The tries of a log, first first."""
    statement = (
        select(
            attempts.c.number,
            attempts.c.started_at,
            attempts.c.latency_ms,
            attempts.c.outcome,
            attempts.c.status_code,
            attempts.c.provider_request_id,
            attempts.c.error_message,
            attempts.c.response_excerpt,
        )
        .where(attempts.c.log_id == log_id)
        .order_by(attempts.c.number, attempts.c.id)
    )
    return [AttemptRecord(*row) for row in connection.execute(statement)]


class Outcome(NamedTuple):
    """How an attempt to send one log ended (a named tuple: one is made per message sent)."""

    log_id: int
    status: LogStatus
    failed_reason: FailedReason | None = None
    error_message: str | None = None
    explanation: str | None = None


_RECORD_OUTCOME = (
    update(logs)
    .where(logs.c.id.in_(bindparam("b_log_ids", expanding=True)), logs.c.status == LogStatus.READY)
    .values(
        status=bindparam("b_status"),
        failed_reason=bindparam("b_failed_reason"),
        error_message=bindparam("b_error_message"),
        explanation=bindparam("b_explanation"),
        date_updated=bindparam("b_now"),
        date_delivered=bindparam("b_delivered"),
    )
)


def record_outcomes(connection: Connection, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Store the final status of sent logs (only logs still READY change): one statement for
    every set of logs that ended alike, such as all those delivered."""
    # One UPDATE naming a batch's delivered logs cost SQLite less than half the CPU of an
    # UPDATE per log, and SQLAlchemy one set of parameters instead of one per log.
    alike: dict[tuple[LogStatus, FailedReason | None, str | None, str | None], list[int]] = {}
    for outcome in outcomes:
        ending = (outcome.status, outcome.failed_reason, outcome.error_message, outcome.explanation)
        alike.setdefault(ending, []).append(outcome.log_id)
    for (status, reason, error, explanation), ids in alike.items():
        for start in range(0, len(ids), IN_LIST_MAX):
            connection.execute(
                _RECORD_OUTCOME,
                {
                    "b_log_ids": ids[start : start + IN_LIST_MAX],
                    "b_status": status,
                    "b_failed_reason": reason,
                    "b_error_message": error,
                    "b_explanation": explanation,
                    "b_now": now,
                    "b_delivered": now if status is LogStatus.DELIVERED else None,
                },
            )


def content_of(connection: Connection, log_id: int) -> tuple[str, str, str] | None:
    """A log's stored content (subject, text, body), unless it was purged."""
    row = connection.execute(
        select(contents.c.subject, contents.c.text, contents.c.body).where(
            contents.c.log_id == log_id
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


# Catalog facts the engine reads in bulk --------------------------------------------------------


def muted_member_emails(connection: Connection) -> frozenset[str]:
    """Emails of team members with notificationsEnabled: false on any of their teams."""
    statement = select(members.c.email).where(members.c.notifications_enabled.is_(False))
    return frozenset(str(email) for email in connection.scalars(statement.distinct()))


def chat_identities(
    connection: Connection, user_ids: Sequence[int]
) -> dict[int, tuple[str | None, str | None]]:
    """The Slack and Teams ids of these users, by user id."""
    from tidings.catalog.models import User

    users = cast(Table, User.__table__)
    if not user_ids:
        return {}
    statement = select(users.c.id, users.c.slack_user_id, users.c.teams_user_id).where(
        users.c.id.in_(set(user_ids))
    )
    return {int(row[0]): (row[1], row[2]) for row in connection.execute(statement)}


def _destination_sql() -> Any:
    from sqlalchemy import case, literal

    return case(
        (
            logs.c.recipient_channel.is_not(None),
            logs.c.medium + literal(":") + func.lower(logs.c.recipient_channel),
        ),
        else_=literal("person:") + func.lower(func.coalesce(logs.c.recipient_email, "")),
    )


def claim_delivered_in_chain(connection: Connection, run_id: int, chain_ids: Sequence[int]) -> None:
    """Claim for a re-run every destination the chain delivered to or is still trying (done
    in SQL, so a chain of a hundred thousand recipients needs no memory here)."""
    delivered = (
        select(literal_column(str(int(run_id))), _destination_sql())
        .where(
            logs.c.run_id.in_(list(chain_ids)),
            logs.c.status.in_([LogStatus.DELIVERED, LogStatus.READY]),
        )
        .distinct()
    )
    statement = dialect_insert(connection, run_destinations).from_select(
        ["run_id", "destination"], delivered
    )
    connection.execute(statement.on_conflict_do_nothing())


@dataclass(frozen=True)
class PastLog:
    """A log of an earlier run of a chain, as a re-run reads it."""

    id: int
    status: LogStatus
    recipient_type: RecipientType
    recipient_user_id: int | None
    recipient_email: str | None
    recipient_entity_id: int | None
    recipient_channel: str | None
    ignored_reason: IgnoredReason | None
    why: str | None
    explanation: str | None


def logs_after(connection: Connection, run_id: int, after_id: int, limit: int) -> list[PastLog]:
    """The next logs of a run after `after_id`, by id."""
    statement = (
        select(
            logs.c.id,
            logs.c.status,
            logs.c.recipient_type,
            logs.c.recipient_user_id,
            logs.c.recipient_email,
            logs.c.recipient_entity_id,
            logs.c.recipient_channel,
            logs.c.ignored_reason,
            logs.c.why,
            logs.c.explanation,
        )
        .where(logs.c.run_id == run_id, logs.c.id > after_id)
        .order_by(logs.c.id)
        .limit(limit)
    )
    return [PastLog(**row._mapping) for row in connection.execute(statement)]


def fail_run(
    connection: Connection, run_id: int, reason: RunFailedReason, message: str, now: datetime
) -> None:
    """Mark a run FAILED before any of it was sent."""
    connection.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            status=RunStatus.FAILED, failed_reason=reason, error_message=message, date_updated=now
        )
    )


def object_links(connection: Connection, run_id: int) -> list[tuple[int, int]]:
    """The (object key, position) pairs of a run's objects, in order."""
    statement = (
        select(run_objects.c.object_pk, run_objects.c.position)
        .where(run_objects.c.run_id == run_id)
        .order_by(run_objects.c.position)
    )
    return [(int(pk), int(position)) for pk, position in connection.execute(statement)]


def any_logs(connection: Connection, run_ids: Sequence[int]) -> bool:
    """Whether any of these runs has a log."""
    if not run_ids:
        return False
    statement = select(logs.c.id).where(logs.c.run_id.in_(list(run_ids))).limit(1)
    return connection.execute(statement).first() is not None

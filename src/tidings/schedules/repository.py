"""SQL of the scheduler: its bookmark, and what the time-driven types are computed from."""

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, func, select

from tidings.auth.models import ApiKey
from tidings.catalog import repository as catalog
from tidings.catalog.records import RuleRecord, ScorecardRecord, VerificationPeriodRecord
from tidings.enums import NotificationType, RunStatus
from tidings.logs.models import NotificationRun
from tidings.logs.repository import dialect_insert
from tidings.schedules.models import ScheduleTick
from tidings.schedules.occurrences import ExpiringKey

ticks = cast(Table, ScheduleTick.__table__)
keys = cast(Table, ApiKey.__table__)
runs = cast(Table, NotificationRun.__table__)


def covered_until(connection: Connection, name: str) -> datetime | None:
    """The end of the last window the job covered, if it ever ran."""
    return connection.scalar(select(ticks.c.covered_until).where(ticks.c.name == name))


def cover(connection: Connection, name: str, until: datetime) -> None:
    """Remember that the job covered everything up to `until` (never moves backwards).

    One upsert, so two processes saving their first bookmark at once both succeed.
    """
    statement = dialect_insert(connection, ticks).values(name=name, covered_until=until)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[ticks.c.name],
            set_={"covered_until": statement.excluded.covered_until},
            where=ticks.c.covered_until < statement.excluded.covered_until,
        )
    )


def expiring_keys(connection: Connection) -> list[ExpiringKey]:
    """Live API keys that have an expiry date."""
    statement = select(keys.c.id, keys.c.name, keys.c.expires_at).where(
        keys.c.expires_at.is_not(None), keys.c.revoked_at.is_(None)
    )
    return [
        ExpiringKey(int(row.id), row.name, row.expires_at) for row in connection.execute(statement)
    ]


def rules_with_scorecards(
    connection: Connection, start: datetime, end: datetime
) -> list[tuple[RuleRecord, ScorecardRecord]]:
    """Rules activating within 8 days after the window, with their scorecards."""
    first, last = start.date(), (end + timedelta(days=8)).date()
    found = []
    for rule in catalog.rules_activating(connection, first, last):
        scorecard = catalog.scorecard_by_id(connection, rule.scorecard_id)
        if scorecard is not None:
            found.append((rule, scorecard))
    return found


def periods_with_entities(
    connection: Connection,
) -> list[tuple[VerificationPeriodRecord, list[str]]]:
    """Every verification period with the tags of the entities in its scope."""
    return [
        (
            period,
            [
                entity.tag
                for entity in catalog.entities_matching(
                    connection, period.entity_types, period.entity_tags
                )
            ],
        )
        for period in catalog.verification_periods(connection)
    ]


HIGHLIGHTS = {
    NotificationType.SERVICE_REEVALUATED: "{n} entity evaluation{s}",
    NotificationType.ENTITY_SCORE_DROPPED: "{n} score drop{s}",
    NotificationType.INITIATIVE_CREATION: "{n} new initiative{s}",
    NotificationType.BROKEN_OPEN_API_SPEC: "{n} broken OpenAPI spec{s}",
    NotificationType.WORKFLOW_APPROVAL_PENDING: "{n} workflow{s} waiting for approval",
}


def weekly_highlights(connection: Connection, now: datetime) -> list[str]:
    """What happened in the week before `now`, one line per kind (empty if nothing did)."""
    counts = connection.execute(
        select(runs.c.notification_type, func.count(func.distinct(runs.c.event_id)))
        .where(
            runs.c.date_created > now - timedelta(days=7),
            runs.c.date_created <= now,
            runs.c.notification_type.in_(list(HIGHLIGHTS)),
            runs.c.seq_no == 0,
            runs.c.status != RunStatus.FAILED,
        )
        .group_by(runs.c.notification_type)
    )
    found = {NotificationType(kind): int(n) for kind, n in counts if n}
    return [
        template.format(n=found[kind], s="" if found[kind] == 1 else "s")
        for kind, template in HIGHLIGHTS.items()
        if kind in found
    ]

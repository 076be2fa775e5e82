"""When each time-driven type is due, as occurrences with a stable key.

Every function yields the occurrences whose instant falls in a window (after `start`, up to
and including `end`). The key names the occurrence itself (the initiative and the day, the
shift and the lead time...), so firing it twice is recognised as the same event.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tidings.catalog.enums import TimeUnit
from tidings.catalog.records import (
    InitiativeRecord,
    OnCallShiftRecord,
    RuleRecord,
    ScorecardRecord,
    VerificationPeriodRecord,
    WeeklyReportSchedule,
)
from tidings.engine.schemas import EventIn, ObjectRef
from tidings.enums import NotificationType, ObjectType

T = NotificationType
# Reminders are sent this many days before the date they announce (reference section 3.1).
LEAD_DAYS = (7, 1)


@dataclass(frozen=True)
class Window:
    """The instants after `start` up to and including `end`."""

    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        """Whether `moment` is in the window."""
        return self.start < moment <= self.end


@dataclass(frozen=True)
class Occurrence:
    """A time-driven notification that is due, and the event that sends it."""

    key: str
    at: datetime
    event: EventIn


def _event(
    notification_type: NotificationType,
    key: str,
    objects: list[ObjectRef] | None = None,
    data: dict[str, Any] | None = None,
    recipients: list[str] | None = None,
) -> EventIn:
    return EventIn(
        type=notification_type,
        objects=objects or [],
        data=data or {},
        recipients=recipients or [],
        idempotency_key=f"schedule:{key}",
    )


def local_morning(day: date, schedule: WeeklyReportSchedule) -> datetime:
    """The workspace's sending hour on `day`, as a UTC instant."""
    moment = datetime.combine(day, time(schedule.hour), ZoneInfo(schedule.time_zone))
    return moment.astimezone(UTC)


def weekly_reports(
    window: Window, schedule: WeeklyReportSchedule, highlights: list[str]
) -> Iterator[Occurrence]:
    """The weekly report, on the workspace's day and hour in its time zone."""
    zone = ZoneInfo(schedule.time_zone)
    day = window.start.astimezone(zone).date()
    while day <= window.end.astimezone(zone).date():
        if day.isoweekday() == schedule.day.iso_number:
            at = local_morning(day, schedule)
            if window.holds(at):
                key = f"{T.WEEKLY_REPORT.value}:{day.isoformat()}"
                data = {"week": day.isoformat(), "highlights": highlights}
                yield Occurrence(key, at, _event(T.WEEKLY_REPORT, key, data=data))
        day += timedelta(days=1)


def initiative_deadlines(
    window: Window, initiatives: list[InitiativeRecord], schedule: WeeklyReportSchedule
) -> Iterator[Occurrence]:
    """INITIATIVE_N_DAYS_LEFT 7 days and 1 day before each live initiative's target date."""
    for initiative in initiatives:
        if initiative.is_draft:
            continue
        for days in LEAD_DAYS:
            at = local_morning(initiative.target_date - timedelta(days=days), schedule)
            if window.holds(at):
                key = f"{T.INITIATIVE_N_DAYS_LEFT.value}:{initiative.tag}:{days}"
                yield Occurrence(
                    key,
                    at,
                    _event(
                        T.INITIATIVE_N_DAYS_LEFT,
                        key,
                        [ObjectRef(type=ObjectType.INITIATIVE, tag=initiative.tag)],
                        {"daysLeft": days, "targetDate": initiative.target_date.isoformat()},
                    ),
                )


def add_interval(moment: datetime, count: int, unit: TimeUnit) -> datetime:
    """`moment` plus `count` days, weeks or calendar months (clamped to the month's end)."""
    if unit is TimeUnit.DAY:
        return moment + timedelta(days=count)
    if unit is TimeUnit.WEEK:
        return moment + timedelta(weeks=count)
    months = moment.month - 1 + count
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def initiative_reminders(
    window: Window, initiatives: list[InitiativeRecord]
) -> Iterator[Occurrence]:
    """INITIATIVE_CUSTOM_SCHEDULE every interval after creation, until the target date."""
    for initiative in initiatives:
        schedule = initiative.schedule
        if initiative.is_draft or schedule is None or schedule.is_disabled:
            continue
        last = datetime.combine(initiative.target_date, time.max, UTC)
        step = 1
        while True:
            at = add_interval(
                initiative.created_at, step * schedule.time_interval, schedule.time_unit
            )
            if at > min(window.end, last):
                break
            if window.holds(at):
                key = (
                    f"{T.INITIATIVE_CUSTOM_SCHEDULE.value}:{initiative.tag}:{at.date().isoformat()}"
                )
                yield Occurrence(
                    key,
                    at,
                    _event(
                        T.INITIATIVE_CUSTOM_SCHEDULE,
                        key,
                        [ObjectRef(type=ObjectType.INITIATIVE, tag=initiative.tag)],
                        {"targetDate": initiative.target_date.isoformat()},
                    ),
                )
            step += 1


def oncall_reminders(window: Window, shifts: list[OnCallShiftRecord]) -> Iterator[Occurrence]:
    """ONCALL_STARTS_IN_N_DAYS 7 days and 1 day before each shift, to the person on call."""
    for shift in shifts:
        for days in LEAD_DAYS:
            at = shift.starts_at - timedelta(days=days)
            if window.holds(at):
                key = f"{T.ONCALL_STARTS_IN_N_DAYS.value}:{shift.id}:{days}"
                yield Occurrence(
                    key,
                    at,
                    _event(
                        T.ONCALL_STARTS_IN_N_DAYS,
                        key,
                        [ObjectRef(type=ObjectType.ENTITY, tag=shift.entity_tag)],
                        {"daysLeft": days, "startsAt": shift.starts_at.isoformat()},
                        [shift.user_email],
                    ),
                )


@dataclass(frozen=True)
class ExpiringKey:
    """An API key with an expiry date."""

    id: int
    name: str
    expires_at: datetime


def token_reminders(window: Window, keys: list[ExpiringKey]) -> Iterator[Occurrence]:
    """TOKEN_EXPIRES_IN_N_DAYS 7 days and 1 day before an API key expires."""
    for api_key in keys:
        for days in LEAD_DAYS:
            at = api_key.expires_at - timedelta(days=days)
            if window.holds(at):
                key = f"{T.TOKEN_EXPIRES_IN_N_DAYS.value}:{api_key.id}:{days}"
                data = {
                    "keyName": api_key.name,
                    "daysLeft": days,
                    "expiresAt": api_key.expires_at.isoformat(),
                }
                yield Occurrence(key, at, _event(T.TOKEN_EXPIRES_IN_N_DAYS, key, data=data))


def rule_activations(
    window: Window,
    rules: list[tuple[RuleRecord, ScorecardRecord]],
    schedule: WeeklyReportSchedule,
) -> Iterator[Occurrence]:
    """SCORECARD_RULE_ACTIVATES_IN_N_DAYS 7 days and 1 day before a rule activates."""
    for rule, scorecard in rules:
        if rule.activates_on is None:
            continue
        for days in LEAD_DAYS:
            at = local_morning(rule.activates_on - timedelta(days=days), schedule)
            if window.holds(at):
                key = f"{T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS.value}:{rule.id}:{days}"
                data = {
                    "rule": rule.name,
                    "daysLeft": days,
                    "activatesOn": rule.activates_on.isoformat(),
                }
                yield Occurrence(
                    key,
                    at,
                    _event(
                        T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS,
                        key,
                        [ObjectRef(type=ObjectType.SCORECARD, tag=scorecard.tag)],
                        data,
                    ),
                )


def verification_notices(
    window: Window, periods: list[tuple[VerificationPeriodRecord, list[str]]]
) -> Iterator[Occurrence]:
    """VERIFICATION_PERIOD_STARTED when a period opens, then VERIFICATION_PERIOD_REMINDER
    every `reminder_every_days` until it closes, for each entity (by tag) in its scope."""
    for period, entity_tags in periods:
        ends_on = period.ends_at.date().isoformat()
        moments = [(T.VERIFICATION_PERIOD_STARTED, period.starts_at)]
        step = timedelta(days=max(period.reminder_every_days, 1))
        at = period.starts_at + step
        while at < period.ends_at and at <= window.end:
            moments.append((T.VERIFICATION_PERIOD_REMINDER, at))
            at += step
        for notification_type, moment in moments:
            if not window.holds(moment):
                continue
            for tag in entity_tags:
                key = f"{notification_type.value}:{period.id}:{tag}:{moment.date().isoformat()}"
                yield Occurrence(
                    key,
                    moment,
                    _event(
                        notification_type,
                        key,
                        [ObjectRef(type=ObjectType.ENTITY, tag=tag)],
                        {"period": period.name, "endsOn": ends_on},
                    ),
                )

"""When each time-driven notification is due, as pure functions of a window and the catalog.

A window holds the instants after its start up to and including its end. Every occurrence
has a key naming it (the week, the initiative and its lead time, the shift...), and its
event carries the idempotency key `schedule:<key>`, so firing it twice sends it once.
Instants are UTC unless a row says otherwise.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.catalog.enums import DayOfWeek, TimeUnit
from tidings.catalog.records import (
    InitiativeRecord,
    NotificationSchedule,
    OnCallShiftRecord,
    RuleRecord,
    ScorecardRecord,
    VerificationPeriodRecord,
    WeeklyReportSchedule,
)
from tidings.engine.schemas import ObjectRef
from tidings.enums import NotificationType, ObjectType
from tidings.schedules.occurrences import (
    ExpiringKey,
    Occurrence,
    Window,
    initiative_deadlines,
    initiative_reminders,
    oncall_reminders,
    rule_activations,
    token_reminders,
    verification_notices,
    weekly_reports,
)

T = NotificationType
MS = timedelta(milliseconds=1)
DEFAULT = WeeklyReportSchedule()  # Monday 09:00 America/Los_Angeles
PARIS_AFTERNOON = WeeklyReportSchedule(DayOfWeek.MONDAY, 14, "Europe/Paris")
WIDE = ("2026-01-01T00:00", "2029-01-01T00:00")


def utc(text: str) -> datetime:
    """An instant written without its zone, in UTC: `2027-01-04T17:00`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(start: str, end: str) -> Window:
    """The window after `start` up to and including `end` (both UTC)."""
    return Window(utc(start), utc(end))


def in_order(pairs: Iterable[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
    """(key, instant) pairs, earliest first, then by key."""
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def fired(occurrences: Iterable[Occurrence]) -> list[tuple[str, datetime]]:
    """Each occurrence as (key, instant), earliest first."""
    return in_order((o.key, o.at) for o in occurrences)


def initiative(
    *,
    target: str = "2027-03-31",
    created: str = "2026-11-23T15:32",
    schedule: NotificationSchedule | None = None,
    draft: bool = False,
    tag: str = "adopt-slos",
) -> InitiativeRecord:
    """An initiative of the scorecard production-readiness."""
    return InitiativeRecord(
        id=1,
        cid="in0123456789abcdef",
        tag=tag,
        name="Adopt SLOs",
        description=None,
        scorecard_tag="production-readiness",
        target_date=date.fromisoformat(target),
        is_draft=draft,
        created_at=utc(created),
        schedule=schedule,
    )


def every(interval: int, unit: TimeUnit, *, disabled: bool = False) -> NotificationSchedule:
    """An initiative's notification schedule."""
    return NotificationSchedule(disabled, interval, unit, ())


def shift(shift_id: int, starts: str, email: str = "dee@example.com") -> OnCallShiftRecord:
    """A week-long on-call shift for payments-api."""
    begins = utc(starts)
    return OnCallShiftRecord(
        shift_id, "payments-api", email, begins, begins + timedelta(days=7), None, None
    )


SCORECARD = ScorecardRecord(
    id=3,
    tag="production-readiness",
    name="Production Readiness",
    description=None,
    draft=False,
    notifications_enabled=None,
    score_drop_notifications_enabled=False,
    entity_types=("service",),
    entity_tags=(),
    rules=(),
)


def rule(rule_id: int, activates_on: str | None) -> tuple[RuleRecord, ScorecardRecord]:
    """A rule of production-readiness with its scorecard, as the scheduler reads them."""
    day = None if activates_on is None else date.fromisoformat(activates_on)
    return RuleRecord(rule_id, SCORECARD.id, "SLOs defined", "slos().length > 0", day), SCORECARD


def period(
    starts: str, ends: str, every_days: int, tags: Iterable[str] = ("payments-api", "ledger-core")
) -> tuple[VerificationPeriodRecord, list[str]]:
    """Verification period 5 with the tags of the entities in its scope."""
    record = VerificationPeriodRecord(
        5, "Q1 ownership review", ("service",), (), utc(starts), utc(ends), every_days
    )
    return record, list(tags)


class TestWeeklyReport:
    """On the workspace's day and hour in its time zone, keyed by that local day."""

    @pytest.mark.parametrize(
        ("schedule", "covered", "expected"),
        [
            pytest.param(
                DEFAULT,
                window("2027-01-03T00:00", "2027-01-10T00:00"),
                [("WEEKLY_REPORT:2027-01-04", utc("2027-01-04T17:00"))],
                id="Monday 09:00 Los Angeles is 17:00 UTC in winter",
            ),
            pytest.param(
                DEFAULT,
                window("2027-07-04T00:00", "2027-07-11T00:00"),
                [("WEEKLY_REPORT:2027-07-05", utc("2027-07-05T16:00"))],
                id="and 16:00 UTC in summer",
            ),
            pytest.param(
                DEFAULT,
                window("2027-03-07T00:00", "2027-03-21T00:00"),
                [
                    ("WEEKLY_REPORT:2027-03-08", utc("2027-03-08T17:00")),
                    ("WEEKLY_REPORT:2027-03-15", utc("2027-03-15T16:00")),
                ],
                id="the Monday after daylight saving starts moves an hour earlier in UTC",
            ),
            pytest.param(
                DEFAULT,
                window("2027-10-31T00:00", "2027-11-14T00:00"),
                [
                    ("WEEKLY_REPORT:2027-11-01", utc("2027-11-01T16:00")),
                    ("WEEKLY_REPORT:2027-11-08", utc("2027-11-08T17:00")),
                ],
                id="the Monday after daylight saving ends moves an hour later in UTC",
            ),
            pytest.param(
                DEFAULT,
                window("2027-01-01T00:00", "2027-01-22T00:00"),
                [
                    ("WEEKLY_REPORT:2027-01-04", utc("2027-01-04T17:00")),
                    ("WEEKLY_REPORT:2027-01-11", utc("2027-01-11T17:00")),
                    ("WEEKLY_REPORT:2027-01-18", utc("2027-01-18T17:00")),
                ],
                id="one a week over three weeks",
            ),
            pytest.param(
                DEFAULT,
                window("2027-01-05T00:00", "2027-01-10T23:59"),
                [],
                id="none in a window without the day",
            ),
            pytest.param(
                WeeklyReportSchedule(DayOfWeek.FRIDAY, 17, "Europe/Paris"),
                window("2027-01-03T00:00", "2027-01-10T00:00"),
                [("WEEKLY_REPORT:2027-01-08", utc("2027-01-08T16:00"))],
                id="Friday 17:00 Paris is 16:00 UTC in winter",
            ),
            pytest.param(
                WeeklyReportSchedule(DayOfWeek.MONDAY, 8, "Pacific/Auckland"),
                window("2027-01-01T00:00", "2027-01-08T00:00"),
                [("WEEKLY_REPORT:2027-01-04", utc("2027-01-03T19:00"))],
                id="Monday 08:00 Auckland is Sunday in UTC and keyed by the local Monday",
            ),
            pytest.param(
                WeeklyReportSchedule(DayOfWeek.SUNDAY, 2, "America/Los_Angeles"),
                window("2027-03-13T00:00", "2027-03-15T00:00"),
                [("WEEKLY_REPORT:2027-03-14", utc("2027-03-14T10:00"))],
                id="an hour the clocks skip fires once, when they jump",
            ),
            pytest.param(
                WeeklyReportSchedule(DayOfWeek.SUNDAY, 1, "America/Los_Angeles"),
                window("2027-11-06T00:00", "2027-11-08T00:00"),
                [("WEEKLY_REPORT:2027-11-07", utc("2027-11-07T08:00"))],
                id="an hour the clocks repeat fires once, the first time",
            ),
        ],
    )
    def test_fires_on_the_workspace_day_and_hour(
        self,
        schedule: WeeklyReportSchedule,
        covered: Window,
        expected: list[tuple[str, datetime]],
    ) -> None:
        assert fired(weekly_reports(covered, schedule, [])) == expected

    def test_event_names_the_week_and_carries_the_highlights(self) -> None:
        highlights = ["3 score drops", "1 new initiative"]

        [occurrence] = weekly_reports(
            window("2027-01-03T00:00", "2027-01-10T00:00"), DEFAULT, highlights
        )

        event = occurrence.event
        assert event.type is T.WEEKLY_REPORT
        assert event.objects == []
        assert event.recipients == []
        assert event.data == {"week": "2027-01-04", "highlights": highlights}
        assert event.idempotency_key == "schedule:WEEKLY_REPORT:2027-01-04"


class TestInitiativeDeadline:
    """INITIATIVE_N_DAYS_LEFT 7 days and 1 day before the target date, at the workspace hour."""

    @pytest.mark.parametrize(
        ("target", "schedule", "expected"),
        [
            pytest.param(
                "2027-01-15",
                DEFAULT,
                [
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:7", utc("2027-01-08T17:00")),
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:1", utc("2027-01-14T17:00")),
                ],
                id="09:00 Los Angeles in winter",
            ),
            pytest.param(
                "2027-03-31",
                DEFAULT,
                [
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:7", utc("2027-03-24T16:00")),
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:1", utc("2027-03-30T16:00")),
                ],
                id="09:00 Los Angeles in summer",
            ),
            pytest.param(
                "2027-03-16",
                DEFAULT,
                [
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:7", utc("2027-03-09T17:00")),
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:1", utc("2027-03-15T16:00")),
                ],
                id="either side of the daylight saving change",
            ),
            pytest.param(
                "2027-01-15",
                PARIS_AFTERNOON,
                [
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:7", utc("2027-01-08T13:00")),
                    ("INITIATIVE_N_DAYS_LEFT:adopt-slos:1", utc("2027-01-14T13:00")),
                ],
                id="the workspace's own hour and time zone",
            ),
        ],
    )
    def test_fires_a_week_and_a_day_before_the_target_date(
        self, target: str, schedule: WeeklyReportSchedule, expected: list[tuple[str, datetime]]
    ) -> None:
        found = initiative_deadlines(window(*WIDE), [initiative(target=target)], schedule)

        assert fired(found) == expected

    def test_a_draft_initiative_has_no_deadline_reminders(self) -> None:
        draft = initiative(target="2027-01-15", draft=True)

        assert fired(initiative_deadlines(window(*WIDE), [draft], DEFAULT)) == []

    def test_event_names_the_initiative_and_the_days_left(self) -> None:
        found = initiative_deadlines(
            window("2027-01-14T00:00", "2027-01-15T00:00"),
            [initiative(target="2027-01-15")],
            DEFAULT,
        )

        [event] = [occurrence.event for occurrence in found]
        assert event.type is T.INITIATIVE_N_DAYS_LEFT
        assert event.objects == [ObjectRef(type=ObjectType.INITIATIVE, tag="adopt-slos")]
        assert event.data == {"daysLeft": 1, "targetDate": "2027-01-15"}
        assert event.idempotency_key == "schedule:INITIATIVE_N_DAYS_LEFT:adopt-slos:1"


class TestInitiativeCustomSchedule:
    """INITIATIVE_CUSTOM_SCHEDULE at created_at + k x interval, k = 1, 2... to the target date."""

    @pytest.mark.parametrize(
        ("created", "target", "schedule", "expected"),
        [
            pytest.param(
                "2027-01-01T10:00",
                "2027-01-10",
                every(3, TimeUnit.DAY),
                ["2027-01-04T10:00", "2027-01-07T10:00", "2027-01-10T10:00"],
                id="every 3 days, the target date included",
            ),
            pytest.param(
                "2026-11-23T15:32",
                "2027-01-15",
                every(2, TimeUnit.WEEK),
                ["2026-12-07T15:32", "2026-12-21T15:32", "2027-01-04T15:32"],
                id="every 2 weeks, none after the target date",
            ),
            pytest.param(
                "2027-01-31T12:00",
                "2027-06-30",
                every(1, TimeUnit.MONTH),
                [
                    "2027-02-28T12:00",
                    "2027-03-31T12:00",
                    "2027-04-30T12:00",
                    "2027-05-31T12:00",
                    "2027-06-30T12:00",
                ],
                id="monthly from the 31st: clamped to each month's end, never drifting",
            ),
            pytest.param(
                "2028-01-31T12:00",
                "2028-03-31",
                every(1, TimeUnit.MONTH),
                ["2028-02-29T12:00", "2028-03-31T12:00"],
                id="monthly in a leap year: February 29",
            ),
            pytest.param(
                "2027-12-30T08:00",
                "2028-07-01",
                every(2, TimeUnit.MONTH),
                ["2028-02-29T08:00", "2028-04-30T08:00", "2028-06-30T08:00"],
                id="every 2 months from the 30th",
            ),
            pytest.param(
                "2026-11-15T09:00",
                "2027-03-01",
                every(1, TimeUnit.MONTH),
                ["2026-12-15T09:00", "2027-01-15T09:00", "2027-02-15T09:00"],
                id="monthly across a year's end",
            ),
            pytest.param(
                "2027-01-01T09:00",
                "2027-01-05",
                every(1, TimeUnit.WEEK),
                [],
                id="none when the first reminder falls after the target date",
            ),
        ],
    )
    def test_fires_every_interval_after_creation_until_the_target_date(
        self, created: str, target: str, schedule: NotificationSchedule, expected: list[str]
    ) -> None:
        found = initiative_reminders(
            window(*WIDE), [initiative(created=created, target=target, schedule=schedule)]
        )

        assert fired(found) == [
            (f"INITIATIVE_CUSTOM_SCHEDULE:adopt-slos:{moment[:10]}", utc(moment))
            for moment in expected
        ]

    @pytest.mark.parametrize(
        "skipped",
        [
            pytest.param(initiative(schedule=every(1, TimeUnit.DAY), draft=True), id="a draft"),
            pytest.param(
                initiative(schedule=every(1, TimeUnit.DAY, disabled=True)),
                id="a disabled schedule",
            ),
            pytest.param(initiative(schedule=None), id="no schedule"),
        ],
    )
    def test_sends_no_reminder_for(self, skipped: InitiativeRecord) -> None:
        assert fired(initiative_reminders(window(*WIDE), [skipped])) == []

    def test_only_the_reminders_inside_the_window(self) -> None:
        daily = initiative(
            created="2027-01-01T10:00", target="2027-12-31", schedule=every(1, TimeUnit.DAY)
        )

        found = initiative_reminders(window("2027-03-01T10:00", "2027-03-04T10:00"), [daily])

        assert [at for _, at in fired(found)] == [
            utc("2027-03-02T10:00"),
            utc("2027-03-03T10:00"),
            utc("2027-03-04T10:00"),
        ]

    def test_event_names_the_initiative(self) -> None:
        weekly = initiative(created="2027-01-01T10:00", schedule=every(1, TimeUnit.WEEK))

        [occurrence] = initiative_reminders(
            window("2027-01-08T00:00", "2027-01-09T00:00"), [weekly]
        )

        event = occurrence.event
        assert event.type is T.INITIATIVE_CUSTOM_SCHEDULE
        assert event.objects == [ObjectRef(type=ObjectType.INITIATIVE, tag="adopt-slos")]
        assert event.data == {"targetDate": "2027-03-31"}
        assert event.idempotency_key == "schedule:INITIATIVE_CUSTOM_SCHEDULE:adopt-slos:2027-01-08"


class TestOnCallReminder:
    """ONCALL_STARTS_IN_N_DAYS 7 days and 1 day before a shift starts, to the person on call."""

    def test_fires_a_week_and_a_day_before_each_shift(self) -> None:
        shifts = [shift(7, "2027-01-13T03:00"), shift(8, "2027-01-20T03:00", "eli@example.com")]

        assert fired(oncall_reminders(window(*WIDE), shifts)) == [
            ("ONCALL_STARTS_IN_N_DAYS:7:7", utc("2027-01-06T03:00")),
            ("ONCALL_STARTS_IN_N_DAYS:7:1", utc("2027-01-12T03:00")),
            ("ONCALL_STARTS_IN_N_DAYS:8:7", utc("2027-01-13T03:00")),
            ("ONCALL_STARTS_IN_N_DAYS:8:1", utc("2027-01-19T03:00")),
        ]

    def test_event_goes_to_the_person_on_call_about_the_entity(self) -> None:
        covered = window("2027-01-12T00:00", "2027-01-13T00:00")

        [occurrence] = oncall_reminders(covered, [shift(7, "2027-01-13T03:00")])

        event = occurrence.event
        assert event.type is T.ONCALL_STARTS_IN_N_DAYS
        assert event.recipients == ["dee@example.com"]
        assert event.objects == [ObjectRef(type=ObjectType.ENTITY, tag="payments-api")]
        assert event.data == {"daysLeft": 1, "startsAt": "2027-01-13T03:00:00+00:00"}
        assert event.idempotency_key == "schedule:ONCALL_STARTS_IN_N_DAYS:7:1"


class TestTokenExpiry:
    """TOKEN_EXPIRES_IN_N_DAYS 7 days and 1 day before an API key expires."""

    def test_fires_a_week_and_a_day_before_each_key_expires(self) -> None:
        keys = [
            ExpiringKey(4, "deploy bot", utc("2027-01-14T09:30")),
            ExpiringKey(9, "ci", utc("2027-02-01T00:00")),
        ]

        assert fired(token_reminders(window(*WIDE), keys)) == [
            ("TOKEN_EXPIRES_IN_N_DAYS:4:7", utc("2027-01-07T09:30")),
            ("TOKEN_EXPIRES_IN_N_DAYS:4:1", utc("2027-01-13T09:30")),
            ("TOKEN_EXPIRES_IN_N_DAYS:9:7", utc("2027-01-25T00:00")),
            ("TOKEN_EXPIRES_IN_N_DAYS:9:1", utc("2027-01-31T00:00")),
        ]

    def test_event_names_the_key_and_no_recipient_so_admins_get_it(self) -> None:
        covered = window("2027-01-07T00:00", "2027-01-08T00:00")

        [occurrence] = token_reminders(
            covered, [ExpiringKey(4, "deploy bot", utc("2027-01-14T09:30"))]
        )

        event = occurrence.event
        assert event.type is T.TOKEN_EXPIRES_IN_N_DAYS
        assert event.recipients == []
        assert event.objects == []
        assert event.data == {
            "keyName": "deploy bot",
            "daysLeft": 7,
            "expiresAt": "2027-01-14T09:30:00+00:00",
        }
        assert event.idempotency_key == "schedule:TOKEN_EXPIRES_IN_N_DAYS:4:7"


class TestRuleActivation:
    """SCORECARD_RULE_ACTIVATES_IN_N_DAYS 7 days and 1 day before, at the workspace hour."""

    @pytest.mark.parametrize(
        ("activates_on", "schedule", "expected"),
        [
            pytest.param(
                "2027-01-15",
                DEFAULT,
                [("7", "2027-01-08T17:00"), ("1", "2027-01-14T17:00")],
                id="09:00 Los Angeles in winter",
            ),
            pytest.param(
                "2027-07-15",
                DEFAULT,
                [("7", "2027-07-08T16:00"), ("1", "2027-07-14T16:00")],
                id="09:00 Los Angeles in summer",
            ),
            pytest.param(
                "2027-01-15",
                PARIS_AFTERNOON,
                [("7", "2027-01-08T13:00"), ("1", "2027-01-14T13:00")],
                id="the workspace's own hour and time zone",
            ),
            pytest.param(None, DEFAULT, [], id="none for a rule active from the start"),
        ],
    )
    def test_fires_a_week_and_a_day_before_the_rule_activates(
        self,
        activates_on: str | None,
        schedule: WeeklyReportSchedule,
        expected: list[tuple[str, str]],
    ) -> None:
        found = rule_activations(window(*WIDE), [rule(21, activates_on)], schedule)

        assert fired(found) == [
            (f"SCORECARD_RULE_ACTIVATES_IN_N_DAYS:21:{days}", utc(moment))
            for days, moment in expected
        ]

    def test_event_names_the_scorecard_and_the_rule(self) -> None:
        covered = window("2027-01-14T00:00", "2027-01-15T00:00")

        [occurrence] = rule_activations(covered, [rule(21, "2027-01-15")], DEFAULT)

        event = occurrence.event
        assert event.type is T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS
        assert event.objects == [ObjectRef(type=ObjectType.SCORECARD, tag="production-readiness")]
        assert event.data == {"rule": "SLOs defined", "daysLeft": 1, "activatesOn": "2027-01-15"}
        assert event.idempotency_key == "schedule:SCORECARD_RULE_ACTIVATES_IN_N_DAYS:21:1"


class TestVerificationPeriod:
    """STARTED when the period opens, then a REMINDER every N days while it is open, once for
    each entity in its scope."""

    @pytest.mark.parametrize(
        ("every_days", "expected"),
        [
            pytest.param(
                7,
                [
                    ("VERIFICATION_PERIOD_STARTED", "2027-01-04T17:00"),
                    ("VERIFICATION_PERIOD_REMINDER", "2027-01-11T17:00"),
                    ("VERIFICATION_PERIOD_REMINDER", "2027-01-18T17:00"),
                    ("VERIFICATION_PERIOD_REMINDER", "2027-01-25T17:00"),
                ],
                id="weekly",
            ),
            pytest.param(
                5,
                [
                    ("VERIFICATION_PERIOD_STARTED", "2027-01-04T17:00"),
                    ("VERIFICATION_PERIOD_REMINDER", "2027-01-09T17:00"),
                    ("VERIFICATION_PERIOD_REMINDER", "2027-01-14T17:00"),
                    ("VERIFICATION_PERIOD_REMINDER", "2027-01-19T17:00"),
                    ("VERIFICATION_PERIOD_REMINDER", "2027-01-24T17:00"),
                ],
                id="every 5 days: none at the instant the period closes",
            ),
            pytest.param(
                30,
                [("VERIFICATION_PERIOD_STARTED", "2027-01-04T17:00")],
                id="a cadence longer than the period: only the start",
            ),
        ],
    )
    def test_fires_at_the_start_and_every_n_days_until_the_end(
        self, every_days: int, expected: list[tuple[str, str]]
    ) -> None:
        periods = [period("2027-01-04T17:00", "2027-01-29T17:00", every_days)]

        assert fired(verification_notices(window(*WIDE), periods)) == in_order(
            (f"{kind}:5:{tag}:{moment[:10]}", utc(moment))
            for kind, moment in expected
            for tag in ("ledger-core", "payments-api")
        )

    def test_a_period_with_no_entity_in_scope_fires_nothing(self) -> None:
        periods = [period("2027-01-04T17:00", "2027-01-29T17:00", 7, tags=())]

        assert fired(verification_notices(window(*WIDE), periods)) == []

    def test_event_names_the_entity_and_the_period(self) -> None:
        periods = [period("2027-01-04T17:00", "2027-01-29T17:00", 7, tags=["ledger-core"])]

        [occurrence] = verification_notices(window("2027-01-11T00:00", "2027-01-12T00:00"), periods)

        event = occurrence.event
        assert event.type is T.VERIFICATION_PERIOD_REMINDER
        assert event.objects == [ObjectRef(type=ObjectType.ENTITY, tag="ledger-core")]
        assert event.data == {"period": "Q1 ownership review", "endsOn": "2027-01-29"}
        assert (
            event.idempotency_key
            == "schedule:VERIFICATION_PERIOD_REMINDER:5:ledger-core:2027-01-11"
        )


# Every function over one catalog, each with an occurrence at a known instant.
Due = Callable[[Window], Iterator[Occurrence]]
CATALOG: dict[str, tuple[Due, datetime]] = {
    "weekly report": (
        lambda w: weekly_reports(w, DEFAULT, []),
        utc("2027-01-04T17:00"),
    ),
    "initiative deadline": (
        lambda w: initiative_deadlines(w, [initiative(target="2027-01-15")], DEFAULT),
        utc("2027-01-08T17:00"),
    ),
    "initiative reminder": (
        lambda w: initiative_reminders(
            w, [initiative(created="2027-01-31T12:00", schedule=every(1, TimeUnit.MONTH))]
        ),
        utc("2027-02-28T12:00"),
    ),
    "on-call reminder": (
        lambda w: oncall_reminders(w, [shift(7, "2027-01-13T03:00")]),
        utc("2027-01-06T03:00"),
    ),
    "token reminder": (
        lambda w: token_reminders(w, [ExpiringKey(4, "deploy bot", utc("2027-01-14T09:30"))]),
        utc("2027-01-07T09:30"),
    ),
    "rule activation": (
        lambda w: rule_activations(w, [rule(21, "2027-01-15")], DEFAULT),
        utc("2027-01-08T17:00"),
    ),
    "verification reminder": (
        lambda w: verification_notices(
            w, [period("2027-01-04T17:00", "2027-01-29T17:00", 7, tags=["ledger-core"])]
        ),
        utc("2027-01-11T17:00"),
    ),
}


def everything_due(covered: Window) -> list[Occurrence]:
    """The occurrences of every function of the catalog in the window."""
    return [occurrence for due, _ in CATALOG.values() for occurrence in due(covered)]


class TestWindowBoundaries:
    """The window's start is excluded and its end included, for every type."""

    @pytest.mark.parametrize("name", list(CATALOG))
    @pytest.mark.parametrize(
        ("start", "end", "holds"),
        [
            pytest.param(-MS, timedelta(0), True, id="ending at the instant"),
            pytest.param(timedelta(0), MS, False, id="starting at the instant"),
            pytest.param(-2 * MS, -MS, False, id="ending a millisecond before"),
            pytest.param(MS, 2 * MS, False, id="starting a millisecond after"),
            pytest.param(-timedelta(hours=23), timedelta(hours=1), True, id="around it"),
        ],
    )
    def test_the_occurrence_is_in_the_window(
        self, name: str, start: timedelta, end: timedelta, holds: bool
    ) -> None:
        due, moment = CATALOG[name]

        found = [o.at for o in due(Window(moment + start, moment + end))]

        assert found == ([moment] if holds else [])


class TestKeys:
    """Keys name occurrences: unique, stable, and the events' idempotency keys."""

    def test_every_event_carries_schedule_and_its_key_as_idempotency_key(self) -> None:
        found = everything_due(window(*WIDE))

        assert {o.event.idempotency_key for o in found} == {f"schedule:{o.key}" for o in found}
        assert len({o.key for o in found}) == len(found)
        assert {o.event.type for o in found} == {
            T.WEEKLY_REPORT,
            T.INITIATIVE_N_DAYS_LEFT,
            T.INITIATIVE_CUSTOM_SCHEDULE,
            T.ONCALL_STARTS_IN_N_DAYS,
            T.TOKEN_EXPIRES_IN_N_DAYS,
            T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS,
            T.VERIFICATION_PERIOD_STARTED,
            T.VERIFICATION_PERIOD_REMINDER,
        }

    def test_the_same_window_gives_the_same_keys(self) -> None:
        covered = window("2027-01-01T00:00", "2027-03-01T00:00")

        assert fired(everything_due(covered)) == fired(everything_due(covered))


SPAN_START = utc("2026-12-01T00:00")
SPAN_MINUTES = 120 * 24 * 60  # four months: every type fires at least once


class TestConsecutiveWindows:
    """Ticks cover consecutive windows: together they fire what one window over the whole span
    fires, each occurrence exactly once."""

    @given(st.lists(st.integers(min_value=1, max_value=SPAN_MINUTES - 1), max_size=12, unique=True))
    def test_splitting_a_span_fires_each_occurrence_once(self, cuts: list[int]) -> None:
        bounds = [SPAN_START + timedelta(minutes=m) for m in [0, *sorted(cuts), SPAN_MINUTES]]

        pieces = [fired(everything_due(Window(start, end))) for start, end in pairwise(bounds)]

        whole = fired(everything_due(Window(bounds[0], bounds[-1])))
        assert sorted(pair for piece in pieces for pair in piece) == sorted(whole)
        assert len(whole) > 20

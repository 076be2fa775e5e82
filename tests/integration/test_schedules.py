"""The scheduler over a real store: each tick fires what fell due since the last one, once.

A small catalog puts one occurrence of each time-driven type at a known instant (below, all
in January 2027, UTC). A tick covers the window from the stored bookmark (at most 23 hours
back) to `now` and sends each occurrence as an event with the idempotency key
`schedule:<key>`, so a tick fired twice, by a restart or by two processes, sends nothing
again. Time is the instant each test hands to `Runtime.tick`.
"""

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select, text

from tests.support.catalog import import_paths, write
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.engine import flows
from tidings.engine.schemas import EventAnswer, EventIn, ObjectRef
from tidings.enums import LogStatus, Medium, NotificationType, ObjectType
from tidings.runtime import Runtime
from tidings.schedules import repository as bookmarks
from tidings.schedules import ticks
from tidings.schedules.scheduler import Scheduler
from tidings.schedules.ticks import LOOKBACK, TickResult
from tidings.settings import Settings

T = NotificationType
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
ADMINS = {"ada@example.com", "dee@example.com"}
EVERYONE = {f"{name}@example.com" for name in ("ada", "bo", "cy", "dee", "eli")}
# bo owns payments-api and cy owns ledger-core: the scorecard applies to both services.
SERVICE_OWNERS = {"bo@example.com", "cy@example.com"}
ENGINE_MEDIUMS = {Medium.SLACK, Medium.MICROSOFT_TEAMS, Medium.EMAIL}
TABLES = (
    "notification_events",
    "notification_runs",
    "notification_logs",
    "notification_contents",
    "notification_outbox",
)

CATALOG = """
    openapi: "3.0.1"
    info:
      title: Payments API
      x-cortex-tag: payments-api
      x-cortex-type: service
      x-cortex-owners:
        - {type: email, email: bo@example.com}
    ---
    openapi: "3.0.1"
    info:
      title: Ledger Core
      x-cortex-tag: ledger-core
      x-cortex-type: service
      x-cortex-owners:
        - {type: email, email: cy@example.com}
    ---
    kind: tidings/v1
    users:
      - {email: ada@example.com, name: Ada, role: ADMIN}
      - {email: bo@example.com, name: Bo}
      - {email: cy@example.com, name: Cy}
      - {email: dee@example.com, name: Dee, role: ADMIN}
      - {email: eli@example.com, name: Eli}
    scorecards:
      - tag: production-readiness
        name: Production Readiness
        appliesTo: {types: [service]}
        rules:
          - {name: Has an owner, expression: ownership.allOwners().length > 0}
          - {name: SLOs defined, expression: slos().length > 0, activatesOn: 2027-01-15}
    initiatives:
      - tag: adopt-slos
        name: Adopt SLOs
        scorecard: production-readiness
        targetDate: 2027-01-16
        createdAt: 2026-12-31T22:00:00Z
        notificationSchedule: {timeInterval: 1, timeUnit: WEEK}
    oncall:
      - entity: payments-api
        email: eli@example.com
        startsAt: 2027-01-13T03:00:00Z
        endsAt: 2027-01-20T03:00:00Z
    verificationPeriods:
      - name: Q1 ownership review
        entityTags: [ledger-core]
        startsAt: 2027-01-04T20:00:00Z
        endsAt: 2027-01-29T20:00:00Z
        reminderEveryDays: 7
"""
# The API key "deploy bot" expires then; keys are made through the API-key service.
KEY_EXPIRES = datetime(2027, 1, 14, 9, 30, tzinfo=UTC)
KEY_CREATED = datetime(2027, 1, 1, tzinfo=UTC)
# payments-api is re-evaluated in each week before a weekly report of the timeline.
BUSY_DAYS = ("2027-01-02T12:00", "2027-01-09T12:00")


def utc(text_: str) -> datetime:
    """An instant written without its zone, in UTC: `2027-01-04T17:00`."""
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


# Every occurrence of the catalog from January 4 to January 15, 2027: (instant, type, key).
# Ids in keys ({shift}, {key}, {rule}, {period}) are those the store gave the records.
TIMELINE = [
    ("2027-01-04T17:00", T.WEEKLY_REPORT, "WEEKLY_REPORT:2027-01-04"),
    (
        "2027-01-04T20:00",
        T.VERIFICATION_PERIOD_STARTED,
        "VERIFICATION_PERIOD_STARTED:{period}:ledger-core:2027-01-04",
    ),
    ("2027-01-06T03:00", T.ONCALL_STARTS_IN_N_DAYS, "ONCALL_STARTS_IN_N_DAYS:{shift}:7"),
    ("2027-01-07T09:30", T.TOKEN_EXPIRES_IN_N_DAYS, "TOKEN_EXPIRES_IN_N_DAYS:{key}:7"),
    (
        "2027-01-07T22:00",
        T.INITIATIVE_CUSTOM_SCHEDULE,
        "INITIATIVE_CUSTOM_SCHEDULE:adopt-slos:2027-01-07",
    ),
    (
        "2027-01-08T17:00",
        T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS,
        "SCORECARD_RULE_ACTIVATES_IN_N_DAYS:{rule}:7",
    ),
    ("2027-01-09T17:00", T.INITIATIVE_N_DAYS_LEFT, "INITIATIVE_N_DAYS_LEFT:adopt-slos:7"),
    ("2027-01-11T17:00", T.WEEKLY_REPORT, "WEEKLY_REPORT:2027-01-11"),
    (
        "2027-01-11T20:00",
        T.VERIFICATION_PERIOD_REMINDER,
        "VERIFICATION_PERIOD_REMINDER:{period}:ledger-core:2027-01-11",
    ),
    ("2027-01-12T03:00", T.ONCALL_STARTS_IN_N_DAYS, "ONCALL_STARTS_IN_N_DAYS:{shift}:1"),
    ("2027-01-13T09:30", T.TOKEN_EXPIRES_IN_N_DAYS, "TOKEN_EXPIRES_IN_N_DAYS:{key}:1"),
    (
        "2027-01-14T17:00",
        T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS,
        "SCORECARD_RULE_ACTIVATES_IN_N_DAYS:{rule}:1",
    ),
    (
        "2027-01-14T22:00",
        T.INITIATIVE_CUSTOM_SCHEDULE,
        "INITIATIVE_CUSTOM_SCHEDULE:adopt-slos:2027-01-14",
    ),
    ("2027-01-15T17:00", T.INITIATIVE_N_DAYS_LEFT, "INITIATIVE_N_DAYS_LEFT:adopt-slos:1"),
]


@dataclass
class FixedClock:
    """The time a test says it is."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Scheduled:
    """A store holding the catalog, and the processes (runtimes) a test opens on it."""

    settings: Settings
    ids: dict[str, int]
    opened: list[Runtime] = field(default_factory=list)

    def open(self, *, runner: bool = True) -> Runtime:
        """A new tidings process on the store, its embedded runner working unless told not."""
        runtime = Runtime.from_settings(self.settings, clock=FixedClock(KEY_CREATED))
        assert runtime.runner is not None
        if runner:
            runtime.runner.start()
        self.opened.append(runtime)
        return runtime

    def key(self, template: str) -> str:
        """A key of TIMELINE with the store's ids filled in."""
        return template.format(**self.ids)


def evaluated(runtime: Runtime, at: datetime) -> None:
    """payments-api was re-evaluated at `at` (something for the weekly report to tell); the
    runs are delivered at once."""
    event = EventIn(
        type=T.SERVICE_REEVALUATED,
        objects=[
            ObjectRef(type=ObjectType.ENTITY, tag="payments-api"),
            ObjectRef(type=ObjectType.SCORECARD, tag="production-readiness"),
        ],
        data={"score": 50, "previousScore": 60},
    )
    _, run_ids = flows.submit_event(runtime.engine, event, runtime.settings.public_url, lambda: at)
    for run_id in run_ids:
        asyncio.run(runtime.process_run(run_id))


def prepare(database_url: str, directory: Path, busy_days: Sequence[str]) -> Scheduled:
    """A fresh store with the catalog, one expiring API key, and an evaluation on each of
    `busy_days` (so the weekly reports after them have something to tell)."""
    settings = Settings(database_url=database_url, rate_limit_per_minute=1_000_000)
    setup = Runtime.from_settings(settings, clock=FixedClock(KEY_CREATED))
    refused = [
        outcome
        for outcome in import_paths(setup.engine, write(directory, "catalog.yaml", CATALOG))
        if not outcome.imported
    ]
    assert not refused, [outcome.errors for outcome in refused]
    with setup.sessions.begin() as session:
        created = keys.create_key(
            session, "deploy bot", [Permission.SEND_NOTIFICATIONS], KEY_CREATED, KEY_EXPIRES
        )
        key_id = created.key.id
    for day in busy_days:
        evaluated(setup, utc(day))
    with setup.engine.connect() as connection:
        ids = {
            "key": key_id,
            "shift": connection.scalar(text("SELECT id FROM catalog_oncall_shifts")),
            "period": connection.scalar(text("SELECT id FROM catalog_verification_periods")),
            "rule": connection.scalar(
                text("SELECT id FROM catalog_scorecard_rules WHERE activates_on IS NOT NULL")
            ),
        }
    setup.close()
    return Scheduled(settings, ids)


@pytest.fixture
def scheduled(database_url: str, tmp_path: Path) -> Iterator[Scheduled]:
    """The catalog, an expiring API key, and an evaluation in each week of the timeline."""
    world = prepare(database_url, tmp_path, BUSY_DAYS)
    yield world
    for runtime in world.opened:
        runtime.close()


@pytest.fixture
def quiet(database_url: str, tmp_path: Path) -> Iterator[Scheduled]:
    """The catalog and an expiring API key, and nothing happening at all."""
    world = prepare(database_url, tmp_path, [])
    yield world
    for runtime in world.opened:
        runtime.close()


def next_hour(moment: datetime) -> datetime:
    """The first whole hour at or after `moment`."""
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


def tick(runtime: Runtime, now: datetime) -> TickResult:
    """Tick at `now` with the process's clock at `now`, and let its runner finish the runs."""
    assert isinstance(runtime.clock, FixedClock)
    runtime.clock.now = now
    result = runtime.tick(now)
    assert runtime.runner is not None
    assert runtime.runner.wait_idle(60), "the runner did not finish within 60 s"
    return result


def set_bookmark(engine: Engine, until: datetime) -> None:
    """Make the store say the scheduler covered everything up to `until` (even backwards)."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM schedule_ticks"))
        bookmarks.cover(connection, ticks.JOB, until)


def bookmark(engine: Engine) -> datetime | None:
    """Where the stored bookmark stands."""
    with engine.connect() as connection:
        return bookmarks.covered_until(connection, ticks.JOB)


def keys_of(engine: Engine, answers: Sequence[EventAnswer]) -> list[str]:
    """The occurrence keys of the events that answered, in order (`schedule:` taken off)."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, idempotency_key FROM notification_events"))
        stored: dict[int, str] = {int(event_id): str(key) for event_id, key in rows}
    return [stored[answer.event_id].removeprefix("schedule:") for answer in answers]


def new_keys(engine: Engine, result: TickResult) -> list[str]:
    """The keys of the events the tick created (replays left out)."""
    return keys_of(engine, [answer for answer in result.answers if not answer.replayed])


def count(engine: Engine, table: str) -> int:
    """Rows in a table."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(text(table))).scalar_one())


def scheduled_counts(engine: Engine) -> tuple[int, int]:
    """How many events the scheduler sent, and how many runs they made."""
    scheduled_events = "SELECT id FROM notification_events WHERE idempotency_key LIKE 'schedule:%'"
    with engine.connect() as connection:
        events = connection.scalar(text(f"SELECT count(*) FROM ({scheduled_events}) AS e"))
        runs = connection.scalar(
            text(f"SELECT count(*) FROM notification_runs WHERE event_id IN ({scheduled_events})")
        )
    return int(events or 0), int(runs or 0)


def email_outcomes(engine: Engine, answer: EventAnswer) -> set[tuple[str, LogStatus]]:
    """(recipient email, status) of each log of the event's EMAIL run."""
    [run_id] = [run.id for run in answer.runs if run.medium is Medium.EMAIL]
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT recipient_email, status FROM notification_logs WHERE run_id = :run"),
            {"run": run_id},
        )
        return {(email, LogStatus(status)) for email, status in rows}


def sent(engine: Engine) -> list[tuple[str, str, str]]:
    """Every message the outbox medium sent: (medium, destination, subject), sorted."""
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT medium, destination, subject FROM notification_outbox")
        )
        return sorted((str(medium), str(to), str(subject)) for medium, to, subject in rows)


def delivered_to(people: set[str]) -> set[tuple[str, LogStatus]]:
    """Each person with a DELIVERED log."""
    return {(email, LogStatus.DELIVERED) for email in people}


class TestEachType:
    """A tick over an occurrence's instant fires exactly its event, whose runs reach the
    type's recipients."""

    @pytest.mark.parametrize(
        ("moment", "notification_type", "key", "recipients"),
        [
            pytest.param(
                *TIMELINE[6], SERVICE_OWNERS, id="INITIATIVE_N_DAYS_LEFT (7) to the owners"
            ),
            pytest.param(
                *TIMELINE[13], SERVICE_OWNERS, id="INITIATIVE_N_DAYS_LEFT (1) to the owners"
            ),
            pytest.param(
                *TIMELINE[4], SERVICE_OWNERS, id="INITIATIVE_CUSTOM_SCHEDULE to the owners"
            ),
            pytest.param(
                *TIMELINE[2],
                {"eli@example.com"},
                id="ONCALL_STARTS_IN_N_DAYS (7) to the person on call, not an owner",
            ),
            pytest.param(
                *TIMELINE[9], {"eli@example.com"}, id="ONCALL_STARTS_IN_N_DAYS (1) to the same"
            ),
            pytest.param(*TIMELINE[3], ADMINS, id="TOKEN_EXPIRES_IN_N_DAYS (7) to the admins"),
            pytest.param(*TIMELINE[10], ADMINS, id="TOKEN_EXPIRES_IN_N_DAYS (1) to the admins"),
            pytest.param(
                *TIMELINE[5],
                SERVICE_OWNERS,
                id="SCORECARD_RULE_ACTIVATES_IN_N_DAYS to the owners of the scorecard's entities",
            ),
            pytest.param(
                *TIMELINE[1],
                {"cy@example.com"},
                id="VERIFICATION_PERIOD_STARTED to the owners of the entity in scope",
            ),
            pytest.param(
                *TIMELINE[8],
                {"cy@example.com"},
                id="VERIFICATION_PERIOD_REMINDER to the owners of the entity in scope",
            ),
        ],
    )
    def test_tick_fires_the_occurrence_once_to_its_recipients(
        self,
        scheduled: Scheduled,
        moment: str,
        notification_type: NotificationType,
        key: str,
        recipients: set[str],
    ) -> None:
        runtime = scheduled.open()
        set_bookmark(runtime.engine, utc(moment) - MINUTE)

        result = tick(runtime, utc(moment))

        [answer] = result.answers
        assert new_keys(runtime.engine, result) == [scheduled.key(key)]
        assert answer.notification_type is notification_type
        assert {run.medium for run in answer.runs} == ENGINE_MEDIUMS
        assert email_outcomes(runtime.engine, answer) == delivered_to(recipients)


class TestRevokedKey:
    """A revoked API key gets no expiry reminder."""

    def test_no_reminder_for_a_revoked_key(self, scheduled: Scheduled) -> None:
        runtime = scheduled.open()
        with runtime.sessions.begin() as session:
            keys.revoke_key(session, scheduled.ids["key"], KEY_CREATED)
        set_bookmark(runtime.engine, utc("2027-01-07T09:29"))

        result = tick(runtime, utc("2027-01-07T09:30"))

        assert result.answers == []


class TestWeeklyReport:
    """Every user gets the weekly report, telling what happened in the week before it."""

    def test_the_weekly_report_tells_every_user_what_happened(self, scheduled: Scheduled) -> None:
        runtime = scheduled.open()
        set_bookmark(runtime.engine, utc("2027-01-04T16:59"))

        result = tick(runtime, utc("2027-01-04T17:00"))

        [answer] = result.answers
        assert new_keys(runtime.engine, result) == ["WEEKLY_REPORT:2027-01-04"]
        assert {run.medium for run in answer.runs} == ENGINE_MEDIUMS
        assert email_outcomes(runtime.engine, answer) == delivered_to(EVERYONE)
        with runtime.engine.connect() as connection:
            texts = connection.scalars(
                text(
                    "SELECT text FROM notification_outbox "
                    "WHERE medium = 'EMAIL' AND subject = 'Your weekly report'"
                )
            ).all()
        assert texts == ["- 1 entity evaluation"] * len(EVERYONE)

    def test_a_quiet_week_fails_no_run(self, quiet: Scheduled) -> None:
        runtime = quiet.open()
        set_bookmark(runtime.engine, utc("2027-01-04T16:59"))

        tick(runtime, utc("2027-01-04T17:00"))

        with runtime.engine.connect() as connection:
            statuses = connection.scalars(text("SELECT status FROM notification_runs")).all()
            reasons = connection.scalars(
                text("SELECT failed_reason FROM notification_logs WHERE failed_reason IS NOT NULL")
            ).all()
        assert "FAILED" not in statuses
        assert reasons == []


class TestTimeline:
    """Ticking every hour fires each occurrence once, at the first tick at or after it."""

    def test_hourly_ticks_fire_the_whole_timeline_in_order(self, scheduled: Scheduled) -> None:
        runtime = scheduled.open(runner=False)
        start = utc("2027-01-04T00:00")
        fired: list[tuple[datetime, str]] = []

        for hour in range(12 * 24):
            now = start + hour * HOUR
            result = runtime.tick(now)
            fired += [(now, key) for key in new_keys(runtime.engine, result)]
            assert all(not answer.replayed for answer in result.answers)

        assert fired == [
            (next_hour(utc(moment)), scheduled.key(key)) for moment, _, key in TIMELINE
        ]


class TestFiringTwice:
    """The same occurrence fired twice sends once."""

    def test_a_second_tick_at_the_same_instant_creates_nothing(self, scheduled: Scheduled) -> None:
        runtime = scheduled.open()
        first = tick(runtime, utc("2027-01-04T17:00"))
        before = {table: count(runtime.engine, table) for table in TABLES}
        outbox = sent(runtime.engine)

        second = tick(runtime, utc("2027-01-04T17:00"))

        assert new_keys(runtime.engine, first) == ["WEEKLY_REPORT:2027-01-04"]
        assert second.answers == []
        assert second.run_ids == []
        assert {table: count(runtime.engine, table) for table in TABLES} == before
        assert sent(runtime.engine) == outbox

    def test_a_tick_repeated_because_the_bookmark_was_not_saved_replays_and_sends_nothing(
        self, scheduled: Scheduled
    ) -> None:
        # The process died after sending and before saving its bookmark; a new one starts.
        runtime = scheduled.open()
        set_bookmark(runtime.engine, utc("2027-01-04T16:00"))
        first = tick(runtime, utc("2027-01-04T21:00"))
        before = {table: count(runtime.engine, table) for table in TABLES}
        outbox = sent(runtime.engine)
        set_bookmark(runtime.engine, utc("2027-01-04T16:00"))

        again = tick(scheduled.open(), utc("2027-01-04T21:00"))

        assert keys_of(runtime.engine, first.answers) == [
            "WEEKLY_REPORT:2027-01-04",
            scheduled.key("VERIFICATION_PERIOD_STARTED:{period}:ledger-core:2027-01-04"),
        ]
        assert [answer.replayed for answer in again.answers] == [True, True]
        assert [a.event_id for a in again.answers] == [a.event_id for a in first.answers]
        assert [a.runs for a in again.answers] == [a.runs for a in first.answers]
        assert again.run_ids == []
        assert again.new_events == 0
        assert {table: count(runtime.engine, table) for table in TABLES} == before
        assert sent(runtime.engine) == outbox
        assert outbox

    def test_two_processes_ticking_at_once_fire_each_occurrence_once(
        self, scheduled: Scheduled
    ) -> None:
        processes = [scheduled.open(), scheduled.open()]
        set_bookmark(processes[0].engine, utc("2027-01-04T12:00"))
        earlier = sent(processes[0].engine)
        instants = [utc(moment) + MINUTE for moment, _, _ in TIMELINE[:6]]
        results: list[TickResult] = []
        failures: list[BaseException] = []

        for now in instants:
            start = threading.Barrier(2)

            def race(
                runtime: Runtime, now: datetime = now, start: threading.Barrier = start
            ) -> None:
                try:
                    start.wait(30)
                    results.append(tick(runtime, now))
                except BaseException as error:  # reported below, with the others
                    failures.append(error)

            threads = [threading.Thread(target=race, args=(p,)) for p in processes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)

        engine = processes[0].engine
        assert failures == []
        created = [key for result in results for key in new_keys(engine, result)]
        assert sorted(created) == sorted(scheduled.key(key) for _, _, key in TIMELINE[:6])
        assert scheduled_counts(engine) == (6, 6 * len(ENGINE_MEDIUMS))
        messages = Counter(sent(engine)) - Counter(earlier)
        assert messages
        assert set(messages.values()) == {1}


class TestBookmark:
    """A tick starts where the last one stopped, at most 23 hours back, and never goes back."""

    def test_the_first_tick_looks_back_23_hours(self, scheduled: Scheduled) -> None:
        runtime = scheduled.open()
        now = utc("2027-01-05T16:00")

        result = tick(runtime, now)

        # 23 h back is 2027-01-04T17:00, the weekly report's instant: the start is excluded.
        assert (result.window.start, result.window.end) == (now - LOOKBACK, now)
        assert new_keys(runtime.engine, result) == [
            scheduled.key("VERIFICATION_PERIOD_STARTED:{period}:ledger-core:2027-01-04")
        ]
        assert bookmark(runtime.engine) == now

    def test_a_restarted_process_resumes_from_the_stored_bookmark(
        self, scheduled: Scheduled
    ) -> None:
        before = scheduled.open()
        tick(before, utc("2027-01-04T18:00"))
        before.close()
        scheduled.opened.remove(before)
        after = scheduled.open()

        resumed = tick(after, utc("2027-01-05T10:00"))
        next_one = tick(after, utc("2027-01-06T04:00"))

        assert resumed.window.start == utc("2027-01-04T18:00")
        assert new_keys(after.engine, resumed) == [
            scheduled.key("VERIFICATION_PERIOD_STARTED:{period}:ledger-core:2027-01-04")
        ]
        assert all(not answer.replayed for answer in resumed.answers)
        assert next_one.window.start == utc("2027-01-05T10:00")
        assert new_keys(after.engine, next_one) == [
            scheduled.key("ONCALL_STARTS_IN_N_DAYS:{shift}:7")
        ]

    def test_a_gap_longer_than_23_hours_is_capped_by_the_lookback(
        self, scheduled: Scheduled
    ) -> None:
        runtime = scheduled.open()
        tick(runtime, utc("2027-01-04T21:00"))
        now = utc("2027-01-08T00:00")  # three days without a tick

        result = tick(runtime, now)

        # Missed for good: the on-call reminder of 2027-01-06T03:00.
        assert result.window.start == now - LOOKBACK
        assert new_keys(runtime.engine, result) == [
            scheduled.key("TOKEN_EXPIRES_IN_N_DAYS:{key}:7"),
            "INITIATIVE_CUSTOM_SCHEDULE:adopt-slos:2027-01-07",
        ]
        assert bookmark(runtime.engine) == now

    def test_a_tick_at_an_earlier_instant_fires_nothing_and_keeps_the_bookmark(
        self, scheduled: Scheduled
    ) -> None:
        runtime = scheduled.open()
        tick(runtime, utc("2027-01-06T12:00"))

        late = tick(runtime, utc("2027-01-06T02:00"))  # a process whose clock is behind

        assert late.answers == []
        assert bookmark(runtime.engine) == utc("2027-01-06T12:00")


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_two_first_ticks_saving_the_bookmark_at_once_both_succeed(
    scheduled: Scheduled, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worst interleaving, made certain: both processes have looked for the bookmark row
    # inside `cover` (and found none) before either writes it.
    looked = threading.Barrier(2)
    calls = threading.local()
    original = bookmarks.covered_until

    def covered_until_then_wait(connection: Connection, name: str) -> datetime | None:
        found = original(connection, name)
        calls.n = getattr(calls, "n", 0) + 1
        if calls.n == 2:  # the first call reads the window; the second is inside cover
            looked.wait(30)
        return found

    monkeypatch.setattr(bookmarks, "covered_until", covered_until_then_wait)
    processes = [scheduled.open(), scheduled.open()]
    failures: list[BaseException] = []

    def first_tick(runtime: Runtime) -> None:
        try:
            tick(runtime, utc("2027-01-03T12:00"))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=first_tick, args=(p,)) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert bookmark(processes[0].engine) == utc("2027-01-03T12:00")


class TestServingScheduler:
    """While serving, a thread calls the tick and the purge with the clock's time."""

    def test_the_scheduler_ticks_and_purges_at_the_clock_time(self) -> None:
        now = utc("2027-01-04T17:00")
        ticked: list[datetime] = []
        purged: list[datetime] = []
        both = threading.Event()

        def on_tick(moment: datetime) -> None:
            ticked.append(moment)

        def on_purge(moment: datetime) -> None:
            purged.append(moment)
            both.set()

        scheduler = Scheduler(on_tick, on_purge, FixedClock(now), HOUR, HOUR)
        scheduler.start()
        assert both.wait(30)
        scheduler.stop()

        assert ticked == [now]
        assert purged == [now]

    def test_a_failing_tick_does_not_stop_the_purge(self) -> None:
        purged = threading.Event()

        def failing_tick(_moment: datetime) -> None:
            raise RuntimeError("the store is down")

        scheduler = Scheduler(
            failing_tick, lambda _moment: purged.set(), FixedClock(KEY_CREATED), HOUR, HOUR
        )
        scheduler.start()
        assert purged.wait(30)
        scheduler.stop()

"""Generate a plausible month of notification runs and logs and write it to the store.

Each "slot" is one platform event over one medium: a run, sometimes followed by re-runs. A
slot draws everything from its own seeded random stream, so the same seed gives the same
history, and slot dates follow the slot index, so rows arrive in time order as in production.
"""

import gc
import multiprocessing
import queue
import random
import sys
import traceback
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Connection, Engine

from tidings.engine.settle import settle
from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    ObjectType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.generator.world import Person, Service, Team, Thing, World, build_world, object_rows
from tidings.kit import partitions
from tidings.logs import repository
from tidings.logs.repository import NewLog, NewRun, RunObjectLink
from tidings.notification_types import TYPE_INFO, display_name

T = NotificationType
BATCH_SLOTS = 500
IN_FLIGHT = timedelta(minutes=3)
# Share of runs whose delivery stopped half-way (a crashed worker): they stay CREATED.
STUCK = 0.004


@dataclass(frozen=True)
class HistorySpec:
    """How much history to write: `runs` runs, or runs until `logs` logs; ending at `end`."""

    runs: int | None
    logs: int | None
    seed: int
    end: datetime
    days: int = 30


@dataclass
class Written:
    """What a generation wrote."""

    runs: int = 0
    logs: int = 0


@dataclass(frozen=True)
class Profile:
    """How often a type happens, who it reaches, and what it concerns."""

    weight: float
    audience: str  # owners | initiative | everyone | person | admins | approvers
    objects: str  # entity | entity+scorecard | initiative | scorecard | none
    mediums: tuple[float, float, float, float] = (0.45, 0.15, 0.3, 0.1)  # slack, teams, email, hook


PROFILES: dict[NotificationType, Profile] = {
    T.SERVICE_REEVALUATED: Profile(22, "owners", "entity+scorecard"),
    T.ENTITY_SCORE_DROPPED: Profile(12, "owners", "entity+scorecard"),
    T.WORKFLOW_STATUS_UPDATE: Profile(10, "owners", "entity"),
    T.BROKEN_OPEN_API_SPEC: Profile(4, "owners", "entity"),
    T.WORKFLOW_APPROVAL_PENDING: Profile(4, "approvers", "entity"),
    T.ONCALL_PERSON_CHANGED: Profile(6, "owners", "entity"),
    T.ONCALL_STARTS_IN_N_DAYS: Profile(5, "person", "entity"),
    T.ONCALL_ASSISTANT: Profile(3, "person", "entity", (0.9, 0.04, 0.04, 0.02)),
    T.VERIFICATION_PERIOD_STARTED: Profile(2, "owners", "entity"),
    T.VERIFICATION_PERIOD_REMINDER: Profile(3, "owners", "entity"),
    T.PENDING_RULE_EXEMPTION: Profile(2, "approvers", "entity+scorecard"),
    T.SCHEDULED_SCORECARD_RULE_CREATION: Profile(1.5, "owners", "entity+scorecard"),
    T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS: Profile(1.5, "owners", "entity+scorecard"),
    T.INITIATIVE_CREATION: Profile(0.6, "initiative", "initiative"),
    T.INITIATIVE_CUSTOM_SCHEDULE: Profile(0.8, "initiative", "initiative"),
    T.INITIATIVE_N_DAYS_LEFT: Profile(0.5, "initiative", "initiative"),
    T.WEEKLY_REPORT: Profile(0.35, "everyone", "none"),
    T.TOKEN_EXPIRES_IN_N_DAYS: Profile(2, "person", "none"),
    T.TEAM_MEMBER_INVITATION: Profile(2.5, "person", "none", (0.3, 0.1, 0.55, 0.05)),
    T.NOTIFY_INVALID_INTEGRATION: Profile(1.5, "admins", "none"),
    T.ENTITLEMENT_EXPIRATION: Profile(0.4, "admins", "none"),
    T.ONBOARDING_MESSAGE: Profile(2, "person", "none", (0.9, 0.04, 0.04, 0.02)),
    T.AI_ASSISTANT_WELCOME_MESSAGE: Profile(1.5, "person", "none", (0.9, 0.04, 0.04, 0.02)),
    T.ONBOARDING_WIZARD_STATE_COMPLETED: Profile(0.2, "admins", "none"),
}
MEDIUM_ORDER = (Medium.SLACK, Medium.MICROSOFT_TEAMS, Medium.EMAIL, Medium.WEBHOOK)
SCORECARD_TYPES = frozenset(t for t, profile in PROFILES.items() if "scorecard" in profile.objects)
RUN_FAILURES = (
    (RunFailedReason.CONTEXT_RESOLUTION_ERROR, 0.02, "the entity {tag} no longer exists"),
    (RunFailedReason.PACKET_GENERATOR_ERROR, 0.012, "template error: 'score' is undefined"),
    (RunFailedReason.INTERNAL_ERROR, 0.004, "the engine stopped while resolving recipients"),
)
FAILURE_WORDS = {
    Medium.SLACK: "Slack answered invalid_auth",
    Medium.MICROSOFT_TEAMS: "the Workflows webhook answered HTTP 403 Forbidden",
    Medium.EMAIL: "SMTP 550 5.1.1 mailbox unavailable",
    Medium.WEBHOOK: "the receiver answered HTTP 410 Gone after 8 attempts",
}


# A recipient is (recipient_type, user_id, email, entity_id, channel); two equal tuples are
# the same destination. Plain tuples keep a million of them cheap.
Recipient = tuple[RecipientType, int | None, str | None, int | None, str | None]
USER, TEAM, ENTITY = RecipientType.USER, RecipientType.TEAM, RecipientType.ENTITY
STEP = [timedelta(milliseconds=3 * index) for index in range(2048)]
# How long delivery took, 150 ms to 30 s, drawn by index (cheaper than a new timedelta a log).
DELIVERY_TIMES = [timedelta(milliseconds=150 + 29 * step) for step in range(1024)]


@dataclass
class PlannedRun:
    """A run (with its id) and its logs, ready to insert."""

    row: dict[str, Any]
    objects: list[tuple[str, int]]
    logs: list[NewLog] = field(default_factory=list)


@dataclass
class Numbering:
    """Hands out the ids of a table from a sequence number on; with `day_ids` (PostgreSQL)
    each id carries its row's day, which places it in that day's partition."""

    next_number: int
    day_ids: bool

    def take(self, when: datetime) -> int:
        """The id of the next row, written at `when`."""
        number = self.next_number
        self.next_number += 1
        return partitions.day_id(partitions.day_of(when), number) if self.day_ids else number


class SlotPlanner:
    """Plans the runs of one slot from the world and the slot's random stream."""

    def __init__(self, world: World, run_ids: Numbering) -> None:
        self.world = world
        self.run_ids = run_ids
        self.types = list(PROFILES)
        self.weights = [PROFILES[t].weight for t in self.types]

    def plan(self, rng: random.Random, when: datetime, end: datetime) -> list[PlannedRun]:
        """The original run of an event at `when`, and any re-run of it before `end`."""
        notification_type = rng.choices(self.types, self.weights)[0]
        profile = PROFILES[notification_type]
        medium = rng.choices(MEDIUM_ORDER, profile.mediums)[0]
        services, things = self._objects(rng, profile)
        run = PlannedRun(
            row=_run_row(
                self.run_ids.take(when),
                notification_type,
                medium,
                _summary(notification_type, services, things),
                when,
            ),
            objects=[(ObjectType.ENTITY.value, s.entity_id) for s in services]
            + [(t.object_type.value, t.object_id) for t in things],
        )
        if not _fail_or_ignore_whole_run(rng, run, notification_type, services):
            recipients = self._recipients(rng, profile, medium, services)
            run.logs = _outcomes(
                rng, run.row, recipients, in_flight=when > end - IN_FLIGHT or rng.random() < STUCK
            )
            _settle(run)
        planned = [run]
        if run.row["status"] in (RunStatus.FAILED, RunStatus.COMPLETED_WITH_ERRORS) and run.logs:
            retry_at = when + timedelta(minutes=rng.randint(10, 240))
            if retry_at < end - IN_FLIGHT and rng.random() < 0.1:
                planned.append(_rerun(rng, run, self.run_ids.take(retry_at), retry_at, seq_no=1))
        return planned

    def _objects(self, rng: random.Random, profile: Profile) -> tuple[list[Service], list[Thing]]:
        services: list[Service] = []
        things: list[Thing] = []
        if profile.objects.startswith("entity"):
            services.append(rng.choice(self.world.services))
        if "scorecard" in profile.objects:
            things.append(rng.choice(self.world.scorecards))
        if profile.objects == "initiative":
            things.append(rng.choice(self.world.initiatives))
            things.append(rng.choice(self.world.scorecards))
        return services, things

    def _people(self, rng: random.Random, audience: str, services: list[Service]) -> list[Person]:
        world = self.world
        if audience == "everyone":
            return rng.sample(world.users, rng.randint(len(world.users) // 6, len(world.users)))
        if audience == "initiative":
            owned = rng.sample(world.services, rng.randint(4, len(world.services) // 2))
            # The engine reaches each owner once however many services they own.
            return list(dict.fromkeys(m for s in owned for team in s.owners for m in team.members))
        if audience == "person":
            return [rng.choice(world.users)]
        if audience == "admins":
            return rng.sample(world.users[:12], rng.randint(2, 8))
        if audience == "approvers":
            return rng.sample(world.users, rng.randint(1, 4))
        return [m for s in services for team in s.owners for m in team.members] + [
            p for s in services for p in s.owner_emails
        ]

    def _recipients(
        self, rng: random.Random, profile: Profile, medium: Medium, services: list[Service]
    ) -> list[Recipient]:
        people = self._people(rng, profile.audience, services)
        teams: list[Team] = [team for s in services for team in s.owners]
        if medium is Medium.WEBHOOK:
            hooks: list[Recipient] = [(ENTITY, None, None, s.entity_id, None) for s in services]
            hooks += [(TEAM, None, None, t.entity_id, None) for t in teams]
            return hooks or [(USER, p.user_id, None, None, None) for p in people[:1]]
        recipients: list[Recipient] = [(USER, p.user_id, p.email, None, None) for p in people]
        if medium is Medium.SLACK:
            recipients += [
                (ENTITY, None, None, s.entity_id, s.slack_channel)
                for s in services
                if s.slack_channel
            ]
            recipients += [(TEAM, None, None, t.entity_id, t.slack_channel) for t in teams]
        elif medium is Medium.MICROSOFT_TEAMS:
            recipients += [
                (ENTITY, None, None, s.entity_id, s.teams_channel)
                for s in services
                if s.teams_channel
            ]
            recipients += [
                (TEAM, None, None, t.entity_id, t.teams_channel)
                for t in teams
                if rng.random() < 0.5
            ]
        return recipients


def _summary(
    notification_type: NotificationType, services: list[Service], things: list[Thing]
) -> str:
    about = ", ".join([s.name for s in services] + [t.name for t in things])
    name = display_name(notification_type)
    return f"{name}: {about}" if about else name


def _fail_or_ignore_whole_run(
    rng: random.Random,
    run: PlannedRun,
    notification_type: NotificationType,
    services: list[Service],
) -> bool:
    draw = rng.random()
    for reason, probability, words in RUN_FAILURES:
        if draw < probability:
            tag = services[0].tag if services else "unknown"
            run.row.update(
                status=RunStatus.FAILED, failed_reason=reason, error_message=words.format(tag=tag)
            )
            return True
        draw -= probability
    if draw < 0.02:
        run.row.update(status=RunStatus.IGNORED, ignored_reason=RunIgnoredReason.WORKSPACE_DISABLED)
        return True
    if notification_type in SCORECARD_TYPES and rng.random() < 0.06:
        run.row.update(status=RunStatus.IGNORED, ignored_reason=RunIgnoredReason.SCORECARD_DISABLED)
        return True
    return False


def _run_row(
    run_id: int, notification_type: NotificationType, medium: Medium, summary: str, when: datetime
) -> dict[str, Any]:
    return {
        "id": run_id,
        "notification_type": notification_type,
        "medium": medium,
        "status": RunStatus.CREATED,
        "summary": summary,
        "delivered_count": 0,
        "ignored_reason": None,
        "failed_reason": None,
        "error_message": None,
        "original_run_id": None,
        "seq_no": 0,
        "date_created": when,
        "date_updated": when,
    }


def _ignored_reason(
    draw: float, supported: bool, recipient: Recipient, seen: set[Recipient]
) -> IgnoredReason | None:
    if not supported:
        return IgnoredReason.UNSUPPORTED
    if recipient in seen:
        return IgnoredReason.DUPLICATE
    if recipient[4] is not None:
        return IgnoredReason.CHANNEL_DISABLED if draw < 0.08 else None
    if recipient[1] is None and recipient[2] is not None:
        return IgnoredReason.NON_CORTEX_USERS_DISABLED if draw < 0.6 else None
    if draw < 0.05:
        return IgnoredReason.USER_UNSUBSCRIBED
    if draw < 0.053:
        return IgnoredReason.CORTEX_EMPLOYEE
    if draw < 0.058:
        return IgnoredReason.WORKSPACE_DISABLED
    return None


def _failure(
    draw: float, notification_type: NotificationType, medium: Medium, recipient: Recipient
) -> tuple[FailedReason, str] | None:
    if draw >= 0.025 and notification_type is not T.TEAM_MEMBER_INVITATION:
        return None  # the common case, decided without the checks below
    if notification_type is T.TEAM_MEMBER_INVITATION and draw < 0.15:
        return FailedReason.NO_SEATS_LEFT, "the workspace has no free seats for a new member"
    channel, email = recipient[4], recipient[2]
    if channel is not None and draw < 0.025:
        return FailedReason.CHANNEL_NOT_FOUND, f"channel_not_found: {channel}"
    if medium in (Medium.SLACK, Medium.MICROSOFT_TEAMS) and email and draw < 0.012:
        return (
            FailedReason.MEMBER_EMAILS_NOT_FOUND,
            f"users_not_found: no chat account matches {email}",
        )
    if draw < 0.02:
        return FailedReason.CLIENT_ERROR, FAILURE_WORDS[medium]
    if draw < 0.021:
        return FailedReason.MISSING_CONTENT, "the template rendered an empty message"
    if draw < 0.0215:
        return (
            FailedReason.BACKSTAGE_BASE_URL_MISSING,
            "links point to Backstage and no Backstage base URL is set",
        )
    return None


def _outcomes(
    rng: random.Random, run: dict[str, Any], recipients: list[Recipient], *, in_flight: bool
) -> list[NewLog]:
    """A log per recipient with a drawn outcome; some recipients are reached twice."""
    if recipients and rng.random() < 0.05:
        recipients = recipients + rng.sample(recipients, min(len(recipients), rng.randint(1, 3)))
    notification_type, medium = run["notification_type"], run["medium"]
    supported = medium in TYPE_INFO[notification_type].mediums
    created = run["date_created"]
    seen: set[Recipient] = set()
    draw = rng.random
    logs = []
    for index, recipient in enumerate(recipients):
        at = created + STEP[index % len(STEP)]
        kind, user_id, email, entity_id, channel = recipient
        ignored = _ignored_reason(draw(), supported, recipient, seen)
        seen.add(recipient)
        status, failed, words, updated, delivered = LogStatus.IGNORED, None, None, at, None
        if ignored is None:
            if in_flight and draw() < 0.7:
                status = LogStatus.READY
            else:
                updated = at + DELIVERY_TIMES[int(draw() * len(DELIVERY_TIMES))]
                failure = _failure(draw(), notification_type, medium, recipient)
                if failure is None:
                    status, delivered = LogStatus.DELIVERED, updated
                else:
                    status, (failed, words) = LogStatus.FAILED, failure
        logs.append(
            NewLog(
                run["id"],
                notification_type,
                medium,
                status,
                kind,
                user_id,
                email,
                entity_id,
                channel,
                ignored,
                failed,
                words,
                at,
                updated,
                delivered,
            )
        )
    return logs


def _settle(run: PlannedRun) -> None:
    settlement = settle(log.status for log in run.logs)
    last_update = max((log.date_updated for log in run.logs), default=run.row["date_created"])
    run.row.update(
        status=settlement.status,
        ignored_reason=settlement.ignored_reason,
        delivered_count=settlement.delivered_count,
        date_updated=last_update,
    )


def _rerun(
    rng: random.Random, original: PlannedRun, run_id: int, when: datetime, seq_no: int
) -> PlannedRun:
    """A re-run: recipients delivered before get DUPLICATE, the others are tried again."""
    row = _run_row(
        run_id,
        original.row["notification_type"],
        original.row["medium"],
        original.row["summary"],
        when,
    )
    row.update(seq_no=seq_no, original_run_id=original.row["id"])
    rerun = PlannedRun(row=row, objects=list(original.objects))
    for index, previous in enumerate(original.logs):
        at = when + STEP[index % len(STEP)]
        log = previous._replace(
            run_id=run_id,
            status=LogStatus.IGNORED,
            failed_reason=None,
            error_message=None,
            date_created=at,
            date_updated=at,
            date_delivered=None,
        )
        if previous.status is LogStatus.DELIVERED:
            log = log._replace(ignored_reason=IgnoredReason.DUPLICATE)
        elif previous.status is not LogStatus.IGNORED:
            finished = at + timedelta(milliseconds=rng.randint(150, 20_000))
            if rng.random() < 0.8:
                log = log._replace(
                    status=LogStatus.DELIVERED,
                    ignored_reason=None,
                    date_updated=finished,
                    date_delivered=finished,
                )
            else:
                log = log._replace(
                    status=LogStatus.FAILED,
                    ignored_reason=None,
                    failed_reason=previous.failed_reason or FailedReason.CLIENT_ERROR,
                    error_message=previous.error_message or FAILURE_WORDS[log.medium],
                    date_updated=finished,
                )
        rerun.logs.append(log)
    _settle(rerun)
    return rerun


def _slot_rng(seed: int, index: int) -> random.Random:
    return random.Random(seed * 1_000_003 + index)


def plan_history(
    world: World, spec: HistorySpec, run_ids: Numbering | None = None
) -> Iterator[list[PlannedRun]]:
    """The slots of a history, oldest first, until the requested runs or logs are reached.

    The clock advances with the share of the goal already written, so the history covers
    the whole period whatever the size of individual runs.
    """
    planner = SlotPlanner(world, run_ids or Numbering(1, day_ids=False))
    start = spec.end - timedelta(days=spec.days)
    span = spec.end - start
    last = spec.end - timedelta(seconds=1)
    runs = logs = index = 0
    while (spec.runs is not None and runs < spec.runs) or (
        spec.logs is not None and logs < spec.logs
    ):
        rng = _slot_rng(spec.seed, index)
        done = runs / spec.runs if spec.runs is not None else logs / (spec.logs or 1)
        when = min(start + span * done, last)
        planned = planner.plan(rng, when, spec.end)
        if spec.runs is not None:
            planned = planned[: spec.runs - runs]
        runs += len(planned)
        logs += sum(len(run.logs) for run in planned)
        index += 1
        yield planned


@dataclass(frozen=True)
class PreparedBatch:
    """A batch of slots converted for the database, with what it counts."""

    runs: repository.PreparedRows
    links: repository.PreparedRows
    logs: repository.PreparedRows
    run_count: int
    log_count: int
    # The next free sequence numbers once this batch is written.
    next_run_number: int
    next_log_number: int | None


@dataclass
class IdPlan:
    """Where the ids of a generation start (see `repository.reserve_ids`)."""

    runs: Numbering
    logs: Numbering | None  # None: the database numbers the logs


def _prepare(
    dialect: str,
    batch: list[list[PlannedRun]],
    object_keys: dict[tuple[str, int], int],
    ids: IdPlan,
) -> PreparedBatch:
    planned = [run for slot in batch for run in slot]
    logs = [log for run in planned for log in run.logs]
    log_ids = None if ids.logs is None else [ids.logs.take(log.date_created) for log in logs]
    links = [
        RunObjectLink(run.row["id"], object_keys[key], position)
        for run in planned
        for position, key in enumerate(dict.fromkeys(run.objects))
    ]
    return PreparedBatch(
        runs=repository.prepare_runs(dialect, [NewRun(**run.row) for run in planned]),
        links=repository.prepare_links(dialect, links),
        logs=repository.prepare_logs(dialect, logs, log_ids),
        run_count=len(planned),
        log_count=len(logs),
        next_run_number=ids.runs.next_number,
        next_log_number=None if ids.logs is None else ids.logs.next_number,
    )


def _write(connection: Connection, batch: PreparedBatch) -> None:
    for part in (batch.runs, batch.links, batch.logs):
        repository.insert_prepared(connection, part)


def _prepared_batches(
    world: World,
    spec: HistorySpec,
    ids: IdPlan,
    dialect: str,
    object_keys: dict[tuple[str, int], int],
) -> Iterator[PreparedBatch]:
    batch: list[list[PlannedRun]] = []
    for slot in plan_history(world, spec, ids.runs):
        batch.append(slot)
        if len(batch) >= BATCH_SLOTS:
            yield _prepare(dialect, batch, object_keys, ids)
            batch = []
    if batch:
        yield _prepare(dialect, batch, object_keys, ids)


def _plan_in_child(
    world: World,
    spec: HistorySpec,
    ids: IdPlan,
    dialect: str,
    object_keys: dict[tuple[str, int], int],
    handoff: "multiprocessing.Queue[PreparedBatch | str | None]",
) -> None:
    """The planning process: plan and prepare every batch and hand each over."""
    # Planning allocates millions of small tuples and creates no reference cycles, so the
    # cycle collector only rescans them again and again (a third of the time); this process
    # ends with the generation and its memory with it.
    gc.disable()
    try:
        for batch in _prepared_batches(world, spec, ids, dialect, object_keys):
            handoff.put(batch)
        handoff.put(None)
    except BaseException:  # reported to the writer, which raises it
        handoff.put(traceback.format_exc())


def _planned_elsewhere(
    world: World,
    spec: HistorySpec,
    ids: IdPlan,
    dialect: str,
    object_keys: dict[tuple[str, int], int],
) -> Iterator[PreparedBatch]:
    """Plan and prepare in another process while this one inserts.

    Planning is pure Python and as costly as inserting; on a thread the two took turns on
    the GIL (the writer waited for it after every statement), so a million logs took the sum
    of both times instead of the longer one.
    """
    # A forked child starts at once with the world in memory and never touches the parent's
    # connections or threads (it only plans, and leaves through os._exit); where fork is not
    # the safe default, spawn re-imports this module instead.
    context = (
        multiprocessing.get_context("fork")
        if sys.platform == "linux"
        else multiprocessing.get_context("spawn")
    )
    handoff: multiprocessing.Queue[PreparedBatch | str | None] = context.Queue(maxsize=4)
    planner = context.Process(
        target=_plan_in_child,
        args=(world, spec, ids, dialect, object_keys, handoff),
        name="history-planner",
        daemon=True,
    )
    planner.start()
    try:
        while True:
            try:
                item = handoff.get(timeout=1)
            except queue.Empty:
                if not planner.is_alive():
                    raise RuntimeError(
                        f"the history planner stopped (exit code {planner.exitcode})"
                    ) from None
                continue
            if item is None:
                break
            if isinstance(item, str):
                raise RuntimeError(f"the history planner failed:\n{item}")
            yield item
    finally:
        if planner.is_alive():
            planner.terminate()
        planner.join()
        handoff.close()


def _reserve_ids(connection: Connection, spec: HistorySpec) -> IdPlan:
    """Lock the runs and logs against other writers and plan the ids from their sequences;
    on PostgreSQL, make the partitions of the days the history covers."""
    reserved = repository.reserve_ids(connection)
    day_ids = connection.dialect.name == "postgresql"
    if day_ids and partitions.is_partitioned(connection, partitions.LOGS):
        first_day = partitions.day_of(spec.end - timedelta(days=spec.days))
        partitions.ensure_partitions(connection, first_day, partitions.day_of(spec.end))
    return IdPlan(
        runs=Numbering(reserved.next_run_number, day_ids=day_ids),
        logs=None
        if reserved.next_log_number is None
        else Numbering(reserved.next_log_number, day_ids=day_ids),
    )


def write_history(engine: Engine, spec: HistorySpec, *, progress: bool = False) -> Written:
    """Write a generated history into a migrated store; returns what was written."""
    world = build_world(spec.seed)
    with engine.begin() as connection:
        object_keys = repository.upsert_objects(connection, object_rows(world))
    written = Written()
    goal = spec.runs if spec.runs is not None else spec.logs
    unit = "runs" if spec.runs is not None else "logs"
    columns = (
        TextColumn(f"generating {unit}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not progress) as bar, engine.begin() as connection:
        task = bar.add_task("history", total=goal)
        # Into an empty store, load in one transaction with indexes built at the end; into
        # a store that has logs, append batch by batch with the indexes kept up to date.
        loading = (
            repository.bulk_load(connection)
            if not repository.has_logs(connection)
            else nullcontext()
        )
        with loading:
            ids = _reserve_ids(connection, spec)
            batches = _planned_elsewhere(world, spec, ids, connection.dialect.name, object_keys)
            next_numbers: tuple[int, int | None] = (ids.runs.next_number, None)
            for batch in batches:
                _write(connection, batch)
                written.runs += batch.run_count
                written.logs += batch.log_count
                next_numbers = (batch.next_run_number, batch.next_log_number)
                bar.update(task, completed=written.runs if unit == "runs" else written.logs)
            repository.sync_ids(connection, *next_numbers)
            bar.update(task, description="building indexes")
    return written

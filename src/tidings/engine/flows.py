"""The engine's use cases: accept an event, preview one, re-run a run, process a run.

`submit_event` answers quickly: it records the event, resolves its context and creates one
run per medium the type can use (ignored or failed at once when a setting or the context
says so); the runner then expands and delivers each CREATED run with `process_run`.
"""

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from tidings.catalog import repository as catalog
from tidings.catalog.records import WorkspaceSettings
from tidings.channels.base import Channel
from tidings.engine import repository
from tidings.engine.content import ContentError, render
from tidings.engine.context import Context, ContextError, resolve_context
from tidings.engine.delivery import RetryPolicy, deliver_run
from tidings.engine.expansion import draft, expand_run, facts_for
from tidings.engine.policy import decide, duplicate, undeliverable
from tidings.engine.recipients import destination_key, resolve_recipients, webhooks_reaching
from tidings.engine.repository import LogDraft, RunRecord
from tidings.engine.schemas import (
    EventAnswer,
    EventIn,
    PreviewAnswer,
    PreviewRecipient,
    PreviewRun,
    RunCreated,
)
from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.kit.clock import Clock
from tidings.logs import repository as logs_repository
from tidings.logs.repository import RunObjectLink
from tidings.notification_types import TYPE_INFO, Audience, display_name

IDEMPOTENCY_WINDOW = timedelta(hours=24)
ENGINE_MEDIUMS = (Medium.SLACK, Medium.MICROSOFT_TEAMS, Medium.EMAIL, Medium.WEBHOOK)
PREVIEW_LIMIT = 200
# A CREATED run may be re-run once it has its logs: its recipients still being tried are
# left to it (DUPLICATE in the new run), so nobody gets the message twice.
RERUNNABLE = frozenset({RunStatus.CREATED, RunStatus.FAILED, RunStatus.COMPLETED_WITH_ERRORS})


class EventError(ValueError):
    """The event cannot be accepted as it is (a 400 naming the field)."""


class RerunError(Exception):
    """The run cannot be re-run (it does not exist, or there is nothing to resend)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class RunPlan:
    """A run as decided before any recipient is looked at."""

    medium: Medium
    status: RunStatus
    ignored_reason: RunIgnoredReason | None = None
    failed_reason: RunFailedReason | None = None
    error_message: str | None = None


def check_event(event: EventIn) -> None:
    """Refuse an event that lacks what its type needs, naming the field."""
    info = TYPE_INFO[event.type]
    given = {ref.type for ref in event.objects}
    missing = [kind.value for kind in info.requires if kind not in given]
    if missing:
        raise EventError(
            f"objects: {event.type.value} needs an object of type {', '.join(missing)}"
        )
    if info.audience is Audience.NAMED and not event.recipients:
        raise EventError(
            f"recipients: {event.type.value} goes to the people the event names; give their emails"
        )
    for address in event.recipients:
        if "@" not in address.strip() or any(c.isspace() for c in address.strip()):
            raise EventError(f"recipients: '{address}' is not an email address")


def _scorecard_block(context: Context) -> str | None:
    """Why the scorecard or initiative keeps the event from notifying anyone, if it does."""
    scorecard, initiative = context.scorecard, context.initiative
    if (
        initiative is not None
        and initiative.schedule is not None
        and initiative.schedule.is_disabled
        and context.event.type is not NotificationType.INITIATIVE_CREATION
    ):
        return f"initiative {initiative.tag} has its notification schedule disabled"
    if scorecard is None:
        return None
    if not scorecard.effective_notifications_enabled:
        state = (
            "a draft" if scorecard.draft and scorecard.notifications_enabled is None else "set so"
        )
        return f"scorecard {scorecard.tag} has notifications disabled ({state})"
    if (
        context.event.type is NotificationType.ENTITY_SCORE_DROPPED
        and not scorecard.score_drop_notifications_enabled
    ):
        return f"scorecard {scorecard.tag} does not send score-drop notifications"
    return None


def plan_runs(
    event: EventIn,
    context: Context | None,
    failure: str | None,
    workspace: WorkspaceSettings,
    *,
    webhooks: bool = False,
) -> list[RunPlan]:
    """One run per medium the type can use, with what is already known of each.

    A WEBHOOK run exists only when `webhooks` says a webhook receives the event: webhooks
    are opted into, so an event no webhook wants leaves no trace over that medium.
    """
    info = TYPE_INFO[event.type]
    name = display_name(event.type)
    plans = []
    blocked = None if context is None else _scorecard_block(context)
    for medium in ENGINE_MEDIUMS:
        if medium not in info.mediums or (medium is Medium.WEBHOOK and not webhooks):
            continue
        if not workspace.medium_enabled(medium):
            plans.append(
                RunPlan(
                    medium,
                    RunStatus.IGNORED,
                    RunIgnoredReason.WORKSPACE_DISABLED,
                    error_message=f"the workspace does not send over {medium.value}",
                )
            )
        elif not workspace.type_enabled(event.type, medium):
            plans.append(
                RunPlan(
                    medium,
                    RunStatus.IGNORED,
                    RunIgnoredReason.WORKSPACE_DISABLED,
                    error_message=f"the workspace switched {name} off over {medium.value}",
                )
            )
        elif failure is not None:
            plans.append(
                RunPlan(
                    medium,
                    RunStatus.FAILED,
                    failed_reason=RunFailedReason.CONTEXT_RESOLUTION_ERROR,
                    error_message=failure,
                )
            )
        elif blocked is not None:
            plans.append(
                RunPlan(
                    medium,
                    RunStatus.IGNORED,
                    RunIgnoredReason.SCORECARD_DISABLED,
                    error_message=blocked,
                )
            )
        else:
            plans.append(RunPlan(medium, RunStatus.CREATED))
    return plans


def _payload(event: EventIn) -> dict[str, Any]:
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


def _replay(connection: Connection, key: str, now: datetime) -> EventAnswer | None:
    stored = repository.event_by_key(connection, key)
    if stored is None:
        return None
    if stored.received_at < now - IDEMPOTENCY_WINDOW:
        repository.release_key(connection, stored.id)
        return None
    if stored.answer is None:
        return None
    return EventAnswer.model_validate({**stored.answer, "replayed": True})


def submit_event(
    engine: Engine, event: EventIn, public_url: str, clock: Clock
) -> tuple[EventAnswer, list[int]]:
    """Accept an event: record it and create its runs; returns the answer and the run ids the
    runner must process. A replayed idempotency key creates nothing."""
    check_event(event)
    try:
        return _submit_once(engine, event, public_url, clock)
    except (IntegrityError, OperationalError):
        # Another process accepted the same idempotency key between our look and our insert
        # (a unique violation, or SQLite refusing a write from a stale snapshot): its event
        # is committed now, so a second attempt replays it.
        if event.idempotency_key is None:
            raise
        return _submit_once(engine, event, public_url, clock)


def _submit_once(
    engine: Engine, event: EventIn, public_url: str, clock: Clock
) -> tuple[EventAnswer, list[int]]:
    now = clock()
    with engine.begin() as connection:
        if event.idempotency_key is not None:
            replayed = _replay(connection, event.idempotency_key, now)
            if replayed is not None:
                return replayed, []
        event_id = repository.insert_event(
            connection, event.type, event.idempotency_key, _payload(event), now
        )
        context, failure = _context_or_failure(connection, event, public_url)
        plans = _plan_from_store(connection, event, context, failure)
        summary = context.summary(display_name(event.type)) if context else display_name(event.type)
        object_keys = (
            logs_repository.upsert_objects(connection, context.object_rows()) if context else {}
        )
        created: list[RunCreated] = []
        for plan in plans:
            run_id = repository.insert_run(
                connection, _run_values(event.type, plan, summary, event_id, now)
            )
            if context is not None:
                _link_objects(connection, run_id, context, object_keys)
            created.append(
                RunCreated(
                    id=run_id,
                    medium=plan.medium,
                    status=plan.status,
                    ignored_reason=plan.ignored_reason,
                    failed_reason=plan.failed_reason,
                    error_message=plan.error_message,
                )
            )
        answer = EventAnswer(event_id=event_id, notification_type=event.type, runs=created)
        repository.save_answer(connection, event_id, answer.model_dump(mode="json", by_alias=True))
    return answer, [run.id for run in created if run.status is RunStatus.CREATED]


def _plan_from_store(
    connection: Connection, event: EventIn, context: Context | None, failure: str | None
) -> list[RunPlan]:
    """`plan_runs` with the workspace's settings and webhooks as stored."""
    return plan_runs(
        event,
        context,
        failure,
        catalog.workspace_settings(connection),
        webhooks=_webhook_wanted(connection, context),
    )


def _webhook_wanted(connection: Connection, context: Context | None) -> bool:
    """Whether some webhook receives the event."""
    return context is not None and next(webhooks_reaching(connection, context), None) is not None


def _context_or_failure(
    connection: Connection, event: EventIn, public_url: str, backstage_url: str | None = None
) -> tuple[Context | None, str | None]:
    try:
        return resolve_context(connection, event, public_url, backstage_url), None
    except ContextError as error:
        return None, str(error)


def _run_values(
    notification_type: NotificationType,
    plan: RunPlan,
    summary: str,
    event_id: int | None,
    now: datetime,
    *,
    original_run_id: int | None = None,
    seq_no: int = 0,
) -> dict[str, Any]:
    return {
        "notification_type": notification_type,
        "medium": plan.medium,
        "status": plan.status,
        "summary": summary,
        "delivered_count": 0,
        "ignored_reason": plan.ignored_reason,
        "failed_reason": plan.failed_reason,
        "error_message": plan.error_message,
        "original_run_id": original_run_id,
        "seq_no": seq_no,
        "date_created": now,
        "date_updated": now,
        "event_id": event_id,
    }


def _link_objects(
    connection: Connection, run_id: int, context: Context, keys: Mapping[tuple[str, int], int]
) -> None:
    links = [
        RunObjectLink(run_id, keys[(str(row["object_type"]), int(row["object_id"]))], position)
        for position, row in enumerate(context.object_rows())
    ]
    logs_repository.link_objects(connection, links)


def preview_event(
    engine: Engine,
    event: EventIn,
    public_url: str,
    clock: Clock,
    limit: int = PREVIEW_LIMIT,
    *,
    backstage_url: str | None = None,
) -> PreviewAnswer:
    """What the event would do, run by run and recipient by recipient; writes nothing."""
    check_event(event)
    with engine.connect() as connection:
        context, failure = _context_or_failure(connection, event, public_url, backstage_url)
        plans = _plan_from_store(connection, event, context, failure)
        runs = [_preview_run(connection, context, plan, clock, limit) for plan in plans]
    return PreviewAnswer(notification_type=event.type, runs=runs)


def _preview_run(
    connection: Connection, context: Context | None, plan: RunPlan, clock: Clock, limit: int
) -> PreviewRun:
    recipients: list[PreviewRecipient] = []
    counts: Counter[str] = Counter()
    status, failed, error = plan.status, plan.failed_reason, plan.error_message
    if plan.status is RunStatus.CREATED and context is not None:
        facts = facts_for(connection, context, plan.medium)
        seen: set[str] = set()
        try:
            for candidate in resolve_recipients(connection, context, plan.medium, clock()):
                decision = decide(candidate, facts)
                content = blocked = None
                if decision is None:
                    key = candidate.destination(plan.medium)
                    if key in seen:
                        decision = duplicate(candidate)
                    else:
                        seen.add(key)
                        blocked = undeliverable(candidate, facts, context)
                        if blocked is None:
                            content = render(context, candidate, plan.medium)
                log = draft(candidate, context, plan.medium, decision, content, blocked)
                counts[(log.ignored_reason or log.failed_reason or log.status).value] += 1
                if len(recipients) < limit:
                    recipients.append(_preview_recipient(log, content))
        except ContentError as error_:
            status, failed, error = (
                RunStatus.FAILED,
                RunFailedReason.PACKET_GENERATOR_ERROR,
                str(error_),
            )
            recipients, counts = [], Counter()
    return PreviewRun(
        medium=plan.medium,
        status=status,
        ignored_reason=plan.ignored_reason,
        failed_reason=failed,
        error_message=error,
        recipient_count=sum(counts.values()),
        counts=dict(counts),
        recipients=recipients,
    )


def _preview_recipient(log: LogDraft, content: Any) -> PreviewRecipient:
    return PreviewRecipient(
        recipient_type=log.recipient_type,
        recipient_user_id=log.recipient_user_id,
        recipient_email=log.recipient_email,
        recipient_entity_id=log.recipient_entity_id,
        recipient_channel=log.recipient_channel,
        status=log.status,
        ignored_reason=log.ignored_reason,
        why=log.why,
        explanation=log.explanation,
        subject=content.subject if content is not None else None,
        text=content.text if content is not None else None,
    )


def rerun(engine: Engine, run_id: int, clock: Clock) -> RunRecord:
    """Create the next run of a chain (decisions.md "Re-run"); the runner sends it."""
    now = clock()
    with engine.begin() as connection:
        run = repository.run_by_id(connection, run_id)
        if run is None:
            raise RerunError(f"run {run_id} does not exist", missing=True)
        if run.status not in RERUNNABLE:
            raise RerunError(
                f"run {run_id} is {run.status.value}: only CREATED, FAILED and "
                "COMPLETED_WITH_ERRORS runs can be re-run"
            )
        if run.status is RunStatus.CREATED and run.expanded_at is None:
            raise RerunError(
                f"run {run_id} has not reached its recipients yet (it is being expanded): "
                "re-run it once it has, and only the recipients it could not reach are sent to"
            )
        root = run.original_run_id or run.id
        chain = repository.chain_runs(connection, root)
        plan = RunPlan(run.medium, RunStatus.CREATED)
        new_id = repository.insert_run(
            connection,
            _run_values(
                run.notification_type,
                plan,
                run.summary,
                run.event_id,
                now,
                original_run_id=root,
                seq_no=max(r.seq_no for r in chain) + 1,
            ),
        )
        _copy_object_links(connection, run.id, new_id)
        created = repository.run_by_id(connection, new_id)
    assert created is not None
    return created


def _copy_object_links(connection: Connection, from_run: int, to_run: int) -> None:
    links = [
        RunObjectLink(to_run, object_pk, position)
        for object_pk, position in repository.object_links(connection, from_run)
    ]
    logs_repository.link_objects(connection, links)


def expand_rerun(engine: Engine, run: RunRecord, clock: Clock) -> None:
    """Write a re-run's logs from the latest earlier run of its chain: delivered destinations
    get DUPLICATE, ignored ones keep their reason, the rest are sent again with the stored
    content (MISSING_CONTENT once it was purged)."""
    assert run.original_run_id is not None
    with engine.begin() as connection:
        repository.forget_partial_expansion(connection, run.id)
        chain = [
            r
            for r in repository.chain_runs(connection, run.original_run_id)
            if r.id != run.id and r.seq_no < run.seq_no
        ]
        repository.claim_delivered_in_chain(connection, run.id, [r.id for r in chain])
    base = chain[-1]
    after = 0
    while True:
        with engine.connect() as reader:
            past = repository.logs_after(reader, base.id, after, 500)
        if not past:
            break
        after = past[-1].id
        with engine.begin() as writer:
            drafts = _rerun_drafts(writer, run, base, past)
            repository.insert_logs(writer, run.id, drafts, clock())
    with engine.begin() as connection:
        repository.mark_expanded(connection, run.id, clock())


def _rerun_drafts(
    connection: Connection, run: RunRecord, base: RunRecord, past: list[repository.PastLog]
) -> list[LogDraft]:
    keys = [destination_key(run.medium, log.recipient_channel, log.recipient_email) for log in past]
    wanted = [
        key for key, log in zip(keys, past, strict=True) if log.status is not LogStatus.IGNORED
    ]
    claimed = repository.claim_destinations(connection, run.id, list(dict.fromkeys(wanted)))
    drafts = []
    for key, log in zip(keys, past, strict=True):
        user_id = log.recipient_user_id
        if log.recipient_channel is None and log.recipient_email:
            # Someone may have become a user since (or stopped being one).
            user = catalog.user_by_email(connection, log.recipient_email)
            user_id = user.id if user is not None else None
        status, ignored, failed, error, explanation, content = (
            LogStatus.READY,
            None,
            None,
            None,
            None,
            None,
        )
        if log.status is LogStatus.IGNORED:
            status, ignored = LogStatus.IGNORED, log.ignored_reason
            earlier = log.explanation or (log.ignored_reason or "").lower()
            explanation = f"ignored in run {base.id}: {earlier}"
        elif key not in claimed:
            status, ignored = LogStatus.IGNORED, IgnoredReason.DUPLICATE
            explanation = (
                f"still being delivered by run {base.id}"
                if log.status is LogStatus.READY
                else "already delivered by an earlier run of this chain"
            )
        else:
            claimed.discard(key)
            content = repository.content_of(connection, log.id)
            if content is None:
                status, failed = LogStatus.FAILED, FailedReason.MISSING_CONTENT
                error = explanation = f"the content of run {base.id} was purged after its retention"
        drafts.append(
            LogDraft(
                notification_type=run.notification_type,
                medium=run.medium,
                status=status,
                recipient_type=log.recipient_type,
                recipient_user_id=user_id,
                recipient_email=log.recipient_email,
                recipient_entity_id=log.recipient_entity_id,
                recipient_channel=log.recipient_channel,
                ignored_reason=ignored,
                failed_reason=failed,
                error_message=error,
                why=log.why or "a recipient of the run re-run",
                explanation=explanation,
                content=content,
            )
        )
    return drafts


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands after a turn of work: its status, and when it needs the next
    turn (some of its logs wait for another try), if it does."""

    status: RunStatus
    resume_at: datetime | None = None


async def process_run(
    engine: Engine,
    run_id: int,
    channels: Mapping[Medium, Channel],
    public_url: str,
    clock: Clock,
    *,
    backstage_url: str | None = None,
    retry_policy: RetryPolicy | None = None,
) -> RunProgress:
    """Expand (unless done), deliver what is due and settle one run when nothing is left to
    try; safe to call again at any time, after a crash too."""
    with engine.connect() as connection:
        run = repository.run_by_id(connection, run_id)
    if run is None or run.status is not RunStatus.CREATED:
        return RunProgress(run.status if run is not None else RunStatus.FAILED)
    if run.expanded_at is None:
        # Off the event loop: a large expansion takes seconds, and the loop must keep
        # answering (a worker's heartbeats, other runs' deliveries) meanwhile.
        failure = await asyncio.to_thread(_expand, engine, run, public_url, clock, backstage_url)
        if failure is not None:
            with engine.begin() as connection:
                repository.fail_run(connection, run.id, failure[0], failure[1], clock())
            return RunProgress(RunStatus.FAILED)
        with engine.connect() as connection:
            run = repository.run_by_id(connection, run_id)
        assert run is not None
    delivery = await deliver_run(engine, run, channels, clock, retry_policy)
    if delivery.resume_at is not None:
        return RunProgress(RunStatus.CREATED, delivery.resume_at)
    with engine.begin() as connection:
        return RunProgress(repository.settle_run(connection, run.id, clock()).status)


def _expand(
    engine: Engine, run: RunRecord, public_url: str, clock: Clock, backstage_url: str | None
) -> tuple[RunFailedReason, str] | None:
    if run.original_run_id is not None and _chain_has_logs(engine, run):
        expand_rerun(engine, run, clock)
        return None
    # A first run, or the re-run of a chain that never got as far as its recipients (its
    # context or content failed): everything is resolved again from the event.
    with engine.connect() as connection:
        payload = repository.event_payload(connection, run.event_id) if run.event_id else None
        if payload is None:
            return RunFailedReason.INTERNAL_ERROR, "the event of this run is no longer stored"
        event = EventIn.model_validate(payload)
        try:
            context = resolve_context(connection, event, public_url, backstage_url)
        except ContextError as error:
            return RunFailedReason.CONTEXT_RESOLUTION_ERROR, str(error)
    try:
        expand_run(engine, run, context, clock)
    except ContentError as error:
        return RunFailedReason.PACKET_GENERATOR_ERROR, str(error)
    return None


def _chain_has_logs(engine: Engine, run: RunRecord) -> bool:
    assert run.original_run_id is not None
    with engine.connect() as connection:
        earlier = [
            r.id
            for r in repository.chain_runs(connection, run.original_run_id)
            if r.seq_no < run.seq_no
        ]
        return repository.any_logs(connection, earlier)

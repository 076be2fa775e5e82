"""From a run to its logs: recipients streamed through the policy and the templates.

A run is expanded in batches, each committed on its own, so memory stays flat however many
recipients there are; delivery starts only when the run is fully expanded, so an interrupted
expansion is simply started again (what it wrote was never sent).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from sqlalchemy import Connection, Engine

from tidings.catalog import repository as catalog
from tidings.engine import repository
from tidings.engine.content import Content, render
from tidings.engine.context import Context
from tidings.engine.policy import (
    Decision,
    Facts,
    Failure,
    Seats,
    decide,
    duplicate,
    undeliverable,
)
from tidings.engine.recipients import Candidate, resolve_recipients
from tidings.engine.repository import LogDraft, RunRecord
from tidings.enums import FailedReason, LogStatus, Medium, NotificationType
from tidings.kit.clock import Clock

BATCH = 500
Item = TypeVar("Item")


def batches(items: Iterable[Item], size: int = BATCH) -> Iterator[list[Item]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def facts_for(connection: Connection, context: Context, medium: Medium) -> Facts:
    """The settings the policy applies to one run."""
    notification_type = context.event.type
    workspace = catalog.workspace_settings(connection)
    seats = None
    if workspace.seats is not None and notification_type is NotificationType.TEAM_MEMBER_INVITATION:
        seats = Seats(workspace.seats - catalog.user_count(connection))
    return Facts(
        notification_type,
        medium,
        workspace,
        catalog.unsubscribed_user_ids(connection, notification_type, medium),
        seats,
    )


def draft(
    candidate: Candidate,
    context: Context,
    medium: Medium,
    decision: Decision | None,
    content: Content | None,
    failure: Failure | None = None,
) -> LogDraft:
    """The log for a candidate, given what the policy and the templates made of it."""
    status, failed, error, explanation = LogStatus.READY, None, None, None
    if decision is not None:
        status, explanation = LogStatus.IGNORED, decision.sentence
    elif failure is not None:
        status, failed = LogStatus.FAILED, failure.reason
        error = explanation = failure.sentence
    elif content is not None and content.is_empty:
        status, failed = LogStatus.FAILED, FailedReason.MISSING_CONTENT
        error = explanation = "the message rendered empty: there is nothing to tell this recipient"
    user = candidate.user
    return LogDraft(
        notification_type=context.event.type,
        medium=medium,
        status=status,
        recipient_type=candidate.recipient_type,
        recipient_user_id=user.id if user is not None else None,
        recipient_email=None if candidate.channel is not None else candidate.email,
        recipient_entity_id=candidate.entity_id,
        recipient_channel=candidate.channel,
        ignored_reason=decision.reason if decision is not None else None,
        failed_reason=failed,
        error_message=error,
        why=candidate.why,
        explanation=explanation,
        content=content.as_tuple() if content is not None and status is LogStatus.READY else None,
    )


@dataclass
class Tally:
    """How many logs an expansion wrote."""

    logs: int = 0


def expand_run(engine: Engine, run: RunRecord, context: Context, clock: Clock) -> Tally:
    """Write every log of a run; raises ContentError (nothing kept) when templates fail."""
    tally = Tally()
    with engine.begin() as connection:
        repository.forget_partial_expansion(connection, run.id)
    try:
        with engine.connect() as reader:
            facts = facts_for(reader, context, run.medium)
            candidates = resolve_recipients(reader, context, run.medium, clock())
            for chunk in batches(candidates):
                drafts = _decide_batch(engine, run, context, facts, chunk)
                with engine.begin() as writer:
                    repository.insert_logs(writer, run.id, drafts, clock())
                tally.logs += len(drafts)
    except Exception:
        with engine.begin() as connection:
            repository.forget_partial_expansion(connection, run.id)
        raise
    with engine.begin() as connection:
        repository.mark_expanded(connection, run.id, clock())
    return tally


def _decide_batch(
    engine: Engine, run: RunRecord, context: Context, facts: Facts, chunk: list[Candidate]
) -> list[LogDraft]:
    decisions = [decide(candidate, facts) for candidate in chunk]
    wanted = [
        candidate.destination(run.medium)
        for candidate, decision in zip(chunk, decisions, strict=True)
        if decision is None
    ]
    with engine.begin() as writer:
        claimed = repository.claim_destinations(writer, run.id, list(dict.fromkeys(wanted)))
    drafts = []
    for candidate, decision in zip(chunk, decisions, strict=True):
        content = failure = None
        if decision is None:
            key = candidate.destination(run.medium)
            if key in claimed:
                claimed.discard(key)  # the first candidate with this key takes it
                failure = undeliverable(candidate, facts, context)
                if failure is None:
                    content = render(context, candidate, run.medium)
            else:
                decision = duplicate(candidate)
        drafts.append(draft(candidate, context, run.medium, decision, content, failure))
    return drafts

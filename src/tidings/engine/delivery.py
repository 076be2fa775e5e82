"""Stage 5: hand a run's due READY logs to their medium, record every try, and decide what
each answer means: delivered, failed, or another try later.

A transient failure (a timeout, a refused connection, a 5xx, an SMTP 4xx) is tried again
after an exponential backoff with full jitter, up to the retry budget; the log stays READY
meanwhile, and the time of its next try is stored, so a restart loses nothing. A 429's
Retry-After is honoured and never counts against the budget. When the budget runs out the
log is FAILED / CLIENT_ERROR with the provider's last words.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from tidings.catalog import repository as catalog
from tidings.channels.base import Answered, Attempt, Channel, OutgoingMessage
from tidings.engine import repository
from tidings.engine.repository import NewAttempt, Outcome, ReadyLog, Retry, RunRecord
from tidings.enums import AttemptOutcome, FailedReason, LogStatus, Medium
from tidings.kit.clock import Clock

# Logs handed to a medium at a time: larger batches drain the medium's workers less often
# (1,000 against 500: 436-447 us of sender CPU per webhook against 461-475).
BATCH = 1000
# How often the answers that came while a batch is out are written: a crash repeats about
# this long's worth of answers, plus the write in progress and the requests on the wire.
FLUSH_S = 0.1
# Answers waiting to be written beyond which the medium sends no more until the store has
# caught up: a store slower than the provider must not let unrecorded sends pile up.
UNWRITTEN_MAX = 512
# The store's side of delivery runs beside the event loop that sends, on two threads of its
# own: one writes the answers (one connection, as SQLite has a single writer anyway), one
# reads the next batches, so memory stays what it was however many runs are being
# delivered. Apart, because a batch's read takes longer than the medium takes to answer
# UNWRITTEN_MAX messages (SQLite's driver lets go of the GIL for every row it reads, and
# waits for the event loop's thread to give it back): queued behind a read, the answers'
# writes held up the sending.
STORE_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-delivery-reader")
STORE_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-delivery-writer")
URL_MEDIUMS = frozenset({Medium.MICROSOFT_TEAMS, Medium.WEBHOOK})
# How long the outcomes of messages already sent wait for a store that went away.
STORE_PATIENCE_S = 120.0
STORE_RETRY_S = 0.5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How long a message keeps being tried: by default 8 tries over about half an hour."""

    attempts: int = 8
    base_seconds: float = 30.0
    max_delay_seconds: float = 600.0
    # A provider that keeps answering 429 is given up on eventually all the same.
    max_rate_limited: int = 50
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, failures: int) -> float:
        """Seconds before the next try after `failures` counted failures (full jitter)."""
        ceiling = min(self.max_delay_seconds, self.base_seconds * 2 ** (failures - 1))
        return self.rng.uniform(0, ceiling)


@dataclass(frozen=True)
class DeliveryPass:
    """What one pass over a run's due logs did, and when the run needs another."""

    attempted: int
    resume_at: datetime | None


def _messages(
    connection: Connection, run: RunRecord, ready: Sequence[ReadyLog]
) -> list[OutgoingMessage]:
    identities = repository.chat_identities(
        connection, [log.recipient_user_id for log in ready if log.recipient_user_id]
    )
    addresses: dict[tuple[int, str], str] = {}
    if run.medium in URL_MEDIUMS:
        addresses = catalog.channel_addresses(
            connection,
            run.medium,
            [
                (log.recipient_entity_id, log.recipient_channel)
                for log in ready
                if log.recipient_entity_id is not None and log.recipient_channel is not None
            ],
        )
    messages = []
    for log in ready:
        slack_id, teams_id = identities.get(log.recipient_user_id or 0, (None, None))
        address = addresses.get((log.recipient_entity_id or 0, log.recipient_channel or ""))
        messages.append(
            OutgoingMessage(
                log_id=log.id,
                run_id=run.id,
                medium=run.medium,
                recipient_type=log.recipient_type,
                user_id=log.recipient_user_id,
                email=log.recipient_email,
                channel=log.recipient_channel,
                slack_user_id=slack_id,
                teams_user_id=teams_id,
                subject=log.subject or "",
                text=log.text or "",
                body=log.body or "{}",
                address=address,
            )
        )
    return messages


async def _try_all(
    channel: Channel, messages: list[OutgoingMessage], answered: Answered
) -> list[Attempt]:
    if not messages:
        return []
    try:
        return await channel.send_batch(messages, answered)
    except Exception as error:  # a medium's bug must not leave the logs READY for ever
        return [Attempt.retry(f"the medium failed: {type(error).__name__}: {error}")] * len(
            messages
        )


@dataclass
class _Verdicts:
    """What a batch's answers mean for the store."""

    outcomes: list[Outcome] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)
    attempts: list[NewAttempt] = field(default_factory=list)


def _judge(
    run: RunRecord,
    log: ReadyLog,
    attempt: Attempt,
    policy: RetryPolicy,
    now: datetime,
    verdicts: _Verdicts,
) -> None:
    number = log.attempts + 1
    verdicts.attempts.append(
        NewAttempt(
            log.id,
            number,
            attempt.started_at or now,
            attempt.latency_ms,
            attempt.outcome,
            attempt.status_code,
            attempt.provider_request_id,
            attempt.error_message,
            attempt.response_excerpt,
        )
    )
    if attempt.outcome is AttemptOutcome.DELIVERED:
        verdicts.outcomes.append(Outcome(log.id, LogStatus.DELIVERED))
        return
    error = attempt.error_message or "the provider gave no reason"
    if attempt.outcome is AttemptOutcome.FAILED:
        reason = attempt.failed_reason or FailedReason.CLIENT_ERROR
        verdicts.outcomes.append(Outcome(log.id, LogStatus.FAILED, reason, error, error))
        return
    failures = log.failures + (attempt.outcome is AttemptOutcome.RETRY)
    rate_limited = number - failures
    if failures >= policy.attempts or rate_limited > policy.max_rate_limited:
        given_up = f"gave up after {number} tries; the last answer: {error}"
        verdicts.outcomes.append(
            Outcome(log.id, LogStatus.FAILED, FailedReason.CLIENT_ERROR, error, given_up)
        )
        return
    wait = (
        attempt.retry_after or 1.0
        if attempt.outcome is AttemptOutcome.RATE_LIMITED
        else policy.delay(failures)
    )
    verdicts.retries.append(
        Retry(log.id, run.id, number, failures, now + timedelta(seconds=wait), error)
    )


def _missing_content(log: ReadyLog) -> Outcome:
    sentence = "the message content is no longer stored"
    return Outcome(log.id, LogStatus.FAILED, FailedReason.MISSING_CONTENT, sentence, sentence)


@dataclass(frozen=True)
class _Batch:
    """READY logs that are due, and the messages of those that still have content."""

    ready: list[ReadyLog]
    sendable: list[ReadyLog]
    messages: list[OutgoingMessage]


def _read_batch(engine: Engine, run: RunRecord, after: int, clock: Clock) -> _Batch:
    with engine.connect() as connection:
        ready = repository.ready_logs(connection, run.id, after, BATCH, clock())
        sendable = [log for log in ready if log.subject is not None]
        return _Batch(ready, sendable, _messages(connection, run, sendable))


def _record(
    engine: Engine,
    run: RunRecord,
    policy: RetryPolicy,
    clock: Clock,
    answers: list[tuple[ReadyLog, Attempt]],
    outcomes: list[Outcome],
) -> None:
    # Judged here, on the STORE_WRITER thread, not on the event loop's: that one sends every
    # message, and at thousands of answers a second what it spends on anything else is
    # messages not sent (judging was about 5 µs an answer).
    now = clock()
    verdicts = _Verdicts(outcomes)
    for log, attempt in answers:
        _judge(run, log, attempt, policy, now, verdicts)
    _write_verdicts(engine, verdicts, now)


def _write_verdicts(engine: Engine, verdicts: _Verdicts, now: datetime) -> None:
    # These messages are out: losing their outcomes means sending them again, so a store that
    # is briefly away (a restart, a failover) is waited for rather than given up on.
    waited = 0.0
    while True:
        try:
            with engine.begin() as connection:
                repository.record_attempts(connection, verdicts.attempts)
                repository.schedule_retries(connection, verdicts.retries)
                repository.record_outcomes(connection, verdicts.outcomes, now)
            return
        except OperationalError:
            if waited >= STORE_PATIENCE_S:
                raise
            log.warning("the store is away; keeping %d outcomes", len(verdicts.attempts))
            pause = min(STORE_RETRY_S * 2 ** int(waited), STORE_PATIENCE_S - waited, 5.0)
            time.sleep(pause)
            waited += pause


class _Recorder:
    """Writes a pass's answers to the store as they come: every FLUSH_S while messages are
    out, what has come since the last write, one write at a time on the STORE_WRITER
    thread. So a crash repeats only what was answered in the last moments, however large the
    batch."""

    def __init__(self, engine: Engine, run: RunRecord, policy: RetryPolicy, clock: Clock):
        self._engine, self._run, self._policy, self._clock = engine, run, policy, clock
        self._loop = asyncio.get_running_loop()
        self._answers: list[tuple[ReadyLog, Attempt]] = []
        self._outcomes: list[Outcome] = []
        self._writing: asyncio.Future[None] | None = None

    def answer(self, log: ReadyLog, attempt: Attempt) -> Awaitable[object] | None:
        """Keep an answer for the next write; when UNWRITTEN_MAX are waiting, what the
        medium must wait for before sending more (the store catching up)."""
        self.keep(log, attempt)
        if len(self._answers) < UNWRITTEN_MAX:
            return None
        if self._writing is None or self._writing.done():
            with contextlib.suppress(Exception):  # a failed write is raised by the pass
                self.flush()
        return asyncio.wait({self._writing}) if self._writing is not None else None

    def keep(self, log: ReadyLog, attempt: Attempt) -> None:
        """Keep an answer for the next write (one that came after its message was sent)."""
        self._answers.append((log, attempt))

    def fail_without_content(self, logs: Sequence[ReadyLog]) -> None:
        """Keep the outcome of logs whose content was purged before they were sent."""
        self._outcomes.extend(_missing_content(log) for log in logs)

    def flush(self) -> None:
        """Start writing what has come, unless a write is still going (it is then taken
        with the next); raises a write's failure."""
        if self._writing is not None:
            if not self._writing.done():
                return
            self._writing.result()
            self._writing = None
        if not self._answers and not self._outcomes:
            return
        answers, outcomes = self._answers, self._outcomes
        self._answers, self._outcomes = [], []
        self._writing = self._loop.run_in_executor(
            STORE_WRITER,
            _record,
            self._engine,
            self._run,
            self._policy,
            self._clock,
            answers,
            outcomes,
        )

    async def drain(self) -> None:
        """Write everything kept, and wait until it is written."""
        while self._writing is not None or self._answers or self._outcomes:
            if self._writing is not None:
                await asyncio.wait({self._writing})
            self.flush()

    async def settle(self) -> None:
        """Wait for the write in progress, if any, whatever its fate (when giving up)."""
        if self._writing is not None:
            await asyncio.wait({self._writing})


async def deliver_run(
    engine: Engine,
    run: RunRecord,
    channels: Mapping[Medium, Channel],
    clock: Clock,
    policy: RetryPolicy | None = None,
) -> DeliveryPass:
    """Try every READY log of a fully expanded run that is due; returns how many were
    tried and when the earliest one left waiting is due again (None: none is).

    While a batch is out, the next one is read and the answers that came are written every
    FLUSH_S (on the store's threads), so the provider is kept busy instead of waiting on the
    store and little is ever sent without its outcome being stored soon after.
    """
    channel = channels[run.medium]
    recorder = _Recorder(engine, run, policy or RetryPolicy(), clock)
    attempted = 0
    loop = asyncio.get_running_loop()
    batch = await loop.run_in_executor(STORE_READER, _read_batch, engine, run, 0, clock)
    sending: asyncio.Future[list[Attempt]] | None = None
    try:
        while batch.ready:
            recorder.fail_without_content([log for log in batch.ready if log.subject is None])
            answered_early = [False] * len(batch.sendable)

            def answered(
                index: int,
                attempt: Attempt,
                logs: list[ReadyLog] = batch.sendable,
                early: list[bool] = answered_early,
            ) -> Awaitable[object] | None:
                early[index] = True
                # Returned, for the medium to wait on while the store catches up.
                return recorder.answer(logs[index], attempt)

            sending = asyncio.ensure_future(_try_all(channel, batch.messages, answered))
            reading = loop.run_in_executor(
                STORE_READER, _read_batch, engine, run, batch.ready[-1].id, clock
            )
            while not sending.done():
                await asyncio.wait({sending}, timeout=FLUSH_S)
                recorder.flush()
            for log, attempt, early in zip(
                batch.sendable, sending.result(), answered_early, strict=True
            ):
                if not early:  # a medium that answers a batch at once, or one that broke
                    recorder.keep(log, attempt)
            recorder.flush()
            attempted += len(batch.ready)
            batch = await reading
        await recorder.drain()
    except BaseException:
        if sending is not None:
            # Whatever failed (most often the store), stop sending what cannot be recorded.
            sending.cancel()
        await recorder.settle()
        raise
    with engine.connect() as connection:
        return DeliveryPass(attempted, repository.next_attempt_at(connection, run.id))

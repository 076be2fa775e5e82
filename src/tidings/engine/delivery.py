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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from tidings.catalog import repository as catalog
from tidings.channels.base import Attempt, Channel, OutgoingMessage
from tidings.engine import repository
from tidings.engine.repository import Outcome, ReadyLog, Retry, RunRecord
from tidings.enums import AttemptOutcome, FailedReason, LogStatus, Medium
from tidings.kit.clock import Clock

# Logs read from the store at a time.
BATCH = 1000
# Messages handed to the medium per call, and calls out at once. Several calls out keep the
# medium's workers busy across the seams between calls; small calls mean outcomes are
# written soon after the answers, so a crash repeats at most CHUNK x (CHUNKS_OUT +
# WRITES_BEHIND) messages.
CHUNK = 128
CHUNKS_OUT = 4
# Answered chunks whose outcomes may wait for the store before no more are sent: a store
# slower than the medium must not let sent-but-unrecorded messages pile up.
WRITES_BEHIND = 2
# The store's side of delivery runs on one thread of its own, beside the event loop that
# sends: one connection at a time (as SQLite has a single writer anyway), so memory stays
# what it was however many runs are being delivered.
STORE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-delivery-store")
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


async def _try_all(channel: Channel, messages: list[OutgoingMessage]) -> list[Attempt]:
    if not messages:
        return []
    try:
        return await channel.send_batch(messages)
    except Exception as error:  # a medium's bug must not leave the logs READY for ever
        return [Attempt.retry(f"the medium failed: {type(error).__name__}: {error}")] * len(
            messages
        )


@dataclass
class _Verdicts:
    """What a batch's answers mean for the store."""

    outcomes: list[Outcome] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)
    attempts: list[dict[str, object]] = field(default_factory=list)


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
        {
            "log_id": log.id,
            "number": number,
            "started_at": attempt.started_at or now,
            "latency_ms": attempt.latency_ms,
            "outcome": attempt.outcome,
            "status_code": attempt.status_code,
            "provider_request_id": attempt.provider_request_id,
            "error_message": attempt.error_message,
            "response_excerpt": attempt.response_excerpt,
        }
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


class _DeliveryPass:
    """One pass over a run's due logs: chunks of messages out to the medium, each chunk's
    outcomes written (on the STORE thread) as soon as its answers are in."""

    def __init__(
        self, engine: Engine, run: RunRecord, channel: Channel, clock: Clock, policy: RetryPolicy
    ) -> None:
        self._engine, self._run, self._channel = engine, run, channel
        self._clock, self._policy = clock, policy
        self._loop = asyncio.get_running_loop()
        self._out: set[asyncio.Task[None]] = set()
        self._writes: list[asyncio.Future[None]] = []

    async def run(self) -> int:
        """Send every due log; returns how many were tried."""
        attempted = 0
        batch = await self._read(after=0)
        try:
            while batch.ready:
                reading = asyncio.ensure_future(self._read(after=batch.ready[-1].id))
                missing = [_missing_content(log) for log in batch.ready if log.subject is None]
                if missing:
                    self._write(_Verdicts(missing))
                for start in range(0, len(batch.sendable), CHUNK):
                    await self._room()
                    chunk = slice(start, start + CHUNK)
                    sending = asyncio.create_task(
                        self._send(batch.sendable[chunk], batch.messages[chunk])
                    )
                    self._out.add(sending)
                    sending.add_done_callback(self._out.discard)
                attempted += len(batch.ready)
                batch = await reading
            await asyncio.gather(*self._out)
        except BaseException:
            # Whatever failed (most often the store), stop sending what cannot be recorded.
            for sending in self._out:
                sending.cancel()
            raise
        finally:
            for writing in self._writes:
                with contextlib.suppress(Exception):  # the first failure is already raised
                    await writing
        self._raise_failed_writes()
        return attempted

    async def _read(self, after: int) -> _Batch:
        return await self._loop.run_in_executor(
            STORE, _read_batch, self._engine, self._run, after, self._clock
        )

    async def _room(self) -> None:
        """Wait until fewer than CHUNKS_OUT chunks are out and the store is at most
        WRITES_BEHIND chunks behind, raising what went wrong."""
        while len(self._out) >= CHUNKS_OUT:
            done, _ = await asyncio.wait(self._out, return_when=asyncio.FIRST_COMPLETED)
            for sending in done:
                sending.result()
        self._raise_failed_writes()
        while len(self._writes) > WRITES_BEHIND:
            await asyncio.wait(self._writes, return_when=asyncio.FIRST_COMPLETED)
            self._raise_failed_writes()

    async def _send(self, logs: list[ReadyLog], messages: list[OutgoingMessage]) -> None:
        answers = await _try_all(self._channel, messages)
        now = self._clock()
        verdicts = _Verdicts()
        for log, attempt in zip(logs, answers, strict=True):
            _judge(self._run, log, attempt, self._policy, now, verdicts)
        self._write(verdicts, now)

    def _write(self, verdicts: _Verdicts, now: datetime | None = None) -> None:
        at = now or self._clock()
        self._writes.append(
            self._loop.run_in_executor(STORE, _write_verdicts, self._engine, verdicts, at)
        )
        # Written ones need not be kept: only their failure matters, and it is checked here.
        self._raise_failed_writes()

    def _raise_failed_writes(self) -> None:
        pending = []
        for writing in self._writes:
            if not writing.done():
                pending.append(writing)
            elif writing.exception() is not None:
                raise writing.exception()  # type: ignore[misc]
        self._writes = pending


async def deliver_run(
    engine: Engine,
    run: RunRecord,
    channels: Mapping[Medium, Channel],
    clock: Clock,
    policy: RetryPolicy | None = None,
) -> DeliveryPass:
    """Try every READY log of a fully expanded run that is due; returns how many were
    tried and when the earliest one left waiting is due again (None: none is).

    Up to CHUNKS_OUT chunks of CHUNK messages are out at once, so the medium's workers never
    wait at the seam between two; each chunk's outcomes are written as soon as it is answered
    and the next batch of logs is read meanwhile, all on the STORE thread.
    """
    delivery = _DeliveryPass(engine, run, channels[run.medium], clock, policy or RetryPolicy())
    attempted = await delivery.run()
    with engine.connect() as connection:
        return DeliveryPass(attempted, repository.next_attempt_at(connection, run.id))

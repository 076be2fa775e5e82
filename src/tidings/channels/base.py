"""The port every medium implements, and what network mediums share.

A medium takes a batch of messages and says, for each, how the try went: delivered,
failed for good, worth another try later, or rate-limited for a while. Deciding when to try
again, and when to give up, is the delivery stage's job (engine.delivery), so it is the same
for every medium and survives a restart.
"""

import asyncio
import functools
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from tidings.enums import AttemptOutcome, FailedReason, Medium, RecipientType
from tidings.kit.clock import Clock

Made = TypeVar("Made")
EXCERPT_CHARS = 500
# Long runs of letters and digits (tokens, signatures, keys) and secret-looking parameters.
_SECRET_LOOKING = re.compile(
    r"(?i)((?:token|secret|password|sig|signature|key|authorization)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"'&,}]+|xox[abpr]-[\w-]+|[A-Za-z0-9+/_-]{32,}"
)
# A run too short to mask that ends where redact stops reading: maybe a long secret's start.
_CUT_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{1,31}$")


def redact(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a provider's answer with anything secret-looking masked."""
    window = text[: limit * 2]
    if len(text) > len(window):
        window = _CUT_RUN.sub("", window)
    return _masked(window)[:limit]


# A receiver answers nearly every message with the same few bodies (`{"ok":true}`, `OK`):
# masking each anew cost a few µs per delivery, a cached answer a dictionary look-up.
@functools.lru_cache(maxsize=256)
def _masked(window: str) -> str:
    return _SECRET_LOOKING.sub(
        lambda match: f"{match.group(1)}***" if match.group(1) else "***", window
    )


@dataclass(frozen=True)
class OutgoingMessage:
    """One log's message, addressed."""

    log_id: int
    run_id: int
    medium: Medium
    recipient_type: RecipientType
    user_id: int | None
    email: str | None
    channel: str | None
    slack_user_id: str | None
    teams_user_id: str | None
    subject: str
    text: str
    body: str  # the medium's structured form, as JSON
    # Where a channel's messages are posted when the channel is a URL (a Teams channel's
    # Workflows webhook, a webhook's endpoint). Never shown: such URLs hold secrets.
    address: str | None = None
    # The initiative's replyToEmails, for email.
    reply_to: tuple[str, ...] = ()

    @property
    def destination(self) -> str:
        """Where it goes, as people read it."""
        return self.channel or self.email or f"user {self.user_id}"


@dataclass(frozen=True)
class Attempt:
    """How one try to hand a message to its provider ended, with the provider's evidence."""

    outcome: AttemptOutcome
    failed_reason: FailedReason | None = None
    error_message: str | None = None
    status_code: int | None = None
    provider_request_id: str | None = None
    response_excerpt: str | None = None
    # RATE_LIMITED: how long the provider asked us to wait, in seconds.
    retry_after: float | None = None
    started_at: datetime | None = None
    latency_ms: float = 0.0

    @classmethod
    def answered(
        cls,
        outcome: AttemptOutcome,
        message: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        answer: str = "",
        *,
        reason: FailedReason | None = None,
        retry_after: float | None = None,
    ) -> "Attempt":
        """A try as the provider answered it, its answer kept redacted."""
        return cls(
            outcome,
            reason,
            message,
            status_code=status_code,
            provider_request_id=request_id,
            response_excerpt=redact(answer) or None,
            retry_after=retry_after,
        )

    @classmethod
    def delivered(
        cls, status_code: int | None = None, request_id: str | None = None, answer: str = ""
    ) -> "Attempt":
        """The provider accepted the message."""
        return cls.answered(AttemptOutcome.DELIVERED, None, status_code, request_id, answer)

    @classmethod
    def failed(
        cls,
        reason: FailedReason,
        message: str,
        status_code: int | None = None,
        request_id: str | None = None,
        answer: str = "",
    ) -> "Attempt":
        """The provider refused it for good."""
        return cls.answered(
            AttemptOutcome.FAILED, message, status_code, request_id, answer, reason=reason
        )

    @classmethod
    def retry(
        cls,
        message: str,
        status_code: int | None = None,
        request_id: str | None = None,
        answer: str = "",
    ) -> "Attempt":
        """A transient failure: worth another try later."""
        return cls.answered(AttemptOutcome.RETRY, message, status_code, request_id, answer)

    @classmethod
    def rate_limited(
        cls,
        seconds: float,
        message: str,
        status_code: int | None = 429,
        request_id: str | None = None,
        answer: str = "",
    ) -> "Attempt":
        """The provider asked to wait `seconds` before the next try."""
        return cls.answered(
            AttemptOutcome.RATE_LIMITED,
            message,
            status_code,
            request_id,
            answer,
            retry_after=max(0.0, seconds),
        )

    def timed(self, started_at: datetime, latency_ms: float) -> "Attempt":
        """This try, stamped with when it started and how long it took."""
        # Built directly rather than with dataclasses.replace, which takes twice as long: a
        # medium stamps every message it sends.
        return Attempt(
            self.outcome,
            self.failed_reason,
            self.error_message,
            self.status_code,
            self.provider_request_id,
            self.response_excerpt,
            self.retry_after,
            started_at,
            latency_ms,
        )


# Told each answer (the message's index in the batch); may return an awaitable the medium
# waits for before it sends more (the store catching up with what was answered).
Answered = Callable[[int, Attempt], Awaitable[object] | None]


class Channel(Protocol):
    """A medium that can deliver messages.

    The delivery stage hands over a batch at a time (up to a thousand messages of one
    run); a network medium sends them concurrently within its own limits, a local one can
    write them at once.
    """

    medium: Medium

    async def send_batch(
        self, messages: Sequence[OutgoingMessage], answered: Answered | None = None
    ) -> list[Attempt]:
        """Try each message once; one attempt per message, in order. Never raises.

        A medium that answers messages one by one reports each answer to `answered` (its
        index in `messages`) as soon as it has it, so it can be recorded before the batch
        ends; one that answers the batch at once need not.
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class PerLoop(Generic[Made]):
    """One object per event loop, made on first use in it: asyncio's semaphores and locks
    belong to one loop, and a command (or a test) may run several loops one after another."""

    def __init__(self, make: Callable[[], Made]) -> None:
        self._make = make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._made: Made | None = None

    def get(self) -> Made:
        """The object of the running loop."""
        loop = asyncio.get_running_loop()
        if self._made is None or self._loop is not loop:
            self._made, self._loop = self._make(), loop
        return self._made

    def take_own(self) -> Made | None:
        """The object made in the running loop, if any, forgetting it (to be closed)."""
        made = self._made if self._loop is asyncio.get_running_loop() else None
        self._made = self._loop = None
        return made


class Pacer:
    """At most `per_second` sends a second to each destination, and a pause for one that
    asked to wait (a 429), shared by every batch of this process.

    Messages to one destination take their turns one after another; each looks at when the
    destination is free again after every wait, so a pause that arrives meanwhile (a 429
    to the message just before) holds back the messages already waiting too.
    """

    # Past this many destinations, those whose turn has passed are forgotten.
    PRUNE_AT = 10_000

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next_free: dict[str, float] = {}
        self._queues: PerLoop[dict[str, asyncio.Lock]] = PerLoop(dict)

    async def wait_turn(self, destination: str) -> None:
        """Sleep until the destination may take one more message, and take the turn."""
        if not self._interval and destination not in self._next_free:
            return  # unpaced and never paused: nothing to wait for
        queues = self._queues.get()
        if len(queues) >= self.PRUNE_AT:
            for idle in [key for key, lock in queues.items() if not lock.locked()]:
                del queues[idle]
        queue = queues.setdefault(destination, asyncio.Lock())
        async with queue:
            waited_until = 0.0
            while (free_at := self._next_free.get(destination, 0.0)) > (
                now := max(time.monotonic(), waited_until)
            ):
                await asyncio.sleep(free_at - now)
                waited_until = free_at
            self._remember(destination, now + self._interval)

    def pause(self, destination: str, seconds: float) -> None:
        """Keep the destination quiet for `seconds` (it said so)."""
        until = time.monotonic() + seconds
        self._remember(destination, max(self._next_free.get(destination, 0.0), until))

    def _remember(self, destination: str, free_at: float) -> None:
        if len(self._next_free) >= self.PRUNE_AT:
            now = time.monotonic()
            self._next_free = {key: at for key, at in self._next_free.items() if at > now}
        self._next_free[destination] = free_at


class NetworkChannel(ABC):
    """A medium that talks to a provider: bounded concurrency, per-destination pacing, and
    every try timed; subclasses say how to send one message."""

    medium: Medium
    # Facts of the provider, overridable by settings.
    concurrency: int = 16
    per_destination_per_second: float = 0.0  # 0: not paced

    def __init__(self, clock: Clock, *, concurrency: int | None = None, pace: float | None = None):
        self._clock = clock
        self._limit = limit = concurrency or self.concurrency
        # Shared by every batch in flight: the medium never has more than `limit` requests
        # out, however many runs are being delivered at once.
        self._slots = PerLoop(lambda: asyncio.Semaphore(limit))
        self._pacer = Pacer(self.per_destination_per_second if pace is None else pace)

    @abstractmethod
    def pacing_key(self, message: OutgoingMessage) -> str:
        """What the provider paces by (a channel, a webhook URL, a mail server)."""

    @abstractmethod
    async def send_one(self, message: OutgoingMessage) -> Attempt:
        """One try; raises only for a bug (a transport error is an Attempt)."""

    async def close(self) -> None:
        """Release connections."""
        return None

    async def send_batch(
        self, messages: Sequence[OutgoingMessage], answered: Answered | None = None
    ) -> list[Attempt]:
        """Send every message concurrently within the medium's limits, reporting each answer
        to `answered` as it comes."""
        results: list[Attempt | None] = [None] * len(messages)
        # Workers draw from one iterator: a few coroutines instead of a task per message.
        pending = iter(enumerate(messages))
        slots = self._slots.get()

        async def work() -> None:
            for index, message in pending:
                key = self.pacing_key(message)
                # The turn is awaited before a slot is taken, so messages waiting for one busy
                # channel do not hold the slots others could use.
                await self._pacer.wait_turn(key)
                async with slots:
                    attempt = results[index] = await self._timed(message, key)
                hold = answered(index, attempt) if answered is not None else None
                if hold is not None:
                    await hold

        await asyncio.gather(*(work() for _ in range(min(self._limit, len(messages)))))
        return [result for result in results if result is not None]

    async def _timed(self, message: OutgoingMessage, key: str) -> Attempt:
        started_at, started = self._clock(), time.perf_counter()
        try:
            attempt = await self.send_one(message)
        except Exception as error:  # a bug in a medium must not strand the log
            attempt = Attempt.retry(f"{type(error).__name__}: {error}")
        latency_ms = (time.perf_counter() - started) * 1000
        if attempt.outcome is AttemptOutcome.RATE_LIMITED and attempt.retry_after:
            self._pacer.pause(key, attempt.retry_after)
        return attempt.timed(started_at, latency_ms)

"""The live tail of a run: server-sent events while the run is still delivering.

The server looks at the run about once a second (the session, the run's row and its logs
counted by status: three small reads) and sends the page's live part again only when any of
it changed. The stream ends when the run has settled, when the session has ended (sign-out,
a revoked key), when the run is gone, or when the browser goes away; after a while it ends
by itself too, and the browser's EventSource reconnects, so no stream is held for hours.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from tidings.enums import RunStatus
from tidings.web.repository import RunProgress

POLL_SECONDS = 1.0
# About five minutes of polls, then the browser reconnects (after RETRY_MILLISECONDS).
MAX_POLLS = 300
RETRY_MILLISECONDS = 1000
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class LiveEvent(StrEnum):
    """The events of the stream; all but PROGRESS end it."""

    PROGRESS = "progress"  # the live part, rendered again
    SETTLED = "settled"  # the live part, the run no longer CREATED
    SIGNED_OUT = "signed-out"  # the session ended
    GONE = "gone"  # the run no longer exists


@dataclass(frozen=True)
class Look:
    """One look at the store: whether the session lives, and the run's progress."""

    signed_in: bool
    progress: RunProgress | None


def event_text(event: LiveEvent, data: str) -> bytes:
    """One server-sent event; every line of `data` becomes a `data:` field."""
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"event: {event.value}\n{lines}\n".encode()


def is_settled(progress: RunProgress) -> bool:
    """Whether the run is past delivering (anything but CREATED)."""
    return progress.status != RunStatus.CREATED.value


async def live_events(
    look: Callable[[], Awaitable[Look]],
    render: Callable[[], Awaitable[str]],
    disconnected: Callable[[], Awaitable[bool]],
    poll_seconds: float | None = None,
    max_polls: int = MAX_POLLS,
) -> AsyncIterator[bytes]:
    """The event stream: the live part at once, again on every change, then an ending."""
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    seen: RunProgress | None = None
    for _poll in range(max_polls):
        current = await look()
        if not current.signed_in:
            yield event_text(LiveEvent.SIGNED_OUT, "You signed out: this page no longer updates.")
            return
        if current.progress is None:
            yield event_text(LiveEvent.GONE, "This run no longer exists.")
            return
        settled = is_settled(current.progress)
        if current.progress != seen:
            seen = current.progress
            kind = LiveEvent.SETTLED if settled else LiveEvent.PROGRESS
            yield event_text(kind, await render())
        if settled or await disconnected():
            return
        await asyncio.sleep(POLL_SECONDS if poll_seconds is None else poll_seconds)

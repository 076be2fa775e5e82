"""One tick of the scheduler: every occurrence due since the last tick becomes an event.

A tick covers the window from where the last one stopped (at most LOOKBACK back) to now, and
each occurrence is submitted with the idempotency key `schedule:<occurrence>`: a tick that
fires twice (a restart between submitting and saving the bookmark, two processes ticking at
once) is answered from the first event and sends nothing again.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from tidings.catalog import repository as catalog
from tidings.engine import flows
from tidings.engine.schemas import EventAnswer
from tidings.schedules import repository
from tidings.schedules.occurrences import (
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

JOB = "notification-schedules"
# Shorter than the idempotency window (24 h), so a re-fired occurrence is always recognised.
LOOKBACK = timedelta(hours=23)


@dataclass
class TickResult:
    """What a tick covered and sent."""

    window: Window
    answers: list[EventAnswer] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)

    @property
    def new_events(self) -> int:
        """Events this tick created (replays not counted)."""
        return sum(1 for answer in self.answers if not answer.replayed)


def due(connection: Connection, window: Window) -> Iterator[Occurrence]:
    """Every occurrence of every time-driven type in the window."""
    settings = catalog.workspace_settings(connection)
    morning = settings.weekly_report
    initiatives = catalog.initiatives(connection)
    highlights = repository.weekly_highlights(connection, window.end)
    if highlights:  # a quiet week has nothing to report: no report rather than empty ones
        yield from weekly_reports(window, morning, highlights)
    yield from initiative_deadlines(window, initiatives, morning)
    yield from initiative_reminders(window, initiatives)
    yield from oncall_reminders(
        window,
        catalog.oncall_shifts_starting(
            connection, window.start + timedelta(days=1), window.end + timedelta(days=8)
        ),
    )
    yield from token_reminders(window, repository.expiring_keys(connection))
    yield from rule_activations(
        window, repository.rules_with_scorecards(connection, window.start, window.end), morning
    )
    yield from verification_notices(window, repository.periods_with_entities(connection))


def tick(engine: Engine, now: datetime, public_url: str) -> TickResult:
    """Fire everything due since the last tick, up to `now`."""
    with engine.connect() as connection:
        last = repository.covered_until(connection, JOB)
        start = max(last or now - LOOKBACK, now - LOOKBACK)
        window = Window(start, now)
        occurrences = sorted(due(connection, window), key=lambda item: (item.at, item.key))
    result = TickResult(window)
    for occurrence in occurrences:
        answer, run_ids = flows.submit_event(engine, occurrence.event, public_url, lambda: now)
        result.answers.append(answer)
        result.run_ids.extend(run_ids)
    with engine.begin() as connection:
        repository.cover(connection, JOB, now)
    return result

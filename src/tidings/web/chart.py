"""The chart of logs per day: delivered, failed and ignored over the retention window, laid
out here as SVG geometry (the template only writes it down), so the page needs no chart
library and no JavaScript."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from tidings.enums import LogStatus, Medium
from tidings.web.pages import medium_label

EPOCH_DAY = date(1970, 1, 1)
# Stacked from the bottom in this order; the legend and the table follow it too.
CHART_STATUSES = (LogStatus.DELIVERED, LogStatus.FAILED, LogStatus.IGNORED)
STATUS_WORDS = {
    LogStatus.DELIVERED: "delivered",
    LogStatus.FAILED: "failed",
    LogStatus.IGNORED: "ignored",
}
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 30
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
Y_TICKS = 4
BAR_SHARE = 0.72  # of a day's slot; the rest is the gap between bars


def _words(day: date) -> str:
    """A day as "2 Dec 2026"."""
    return f"{day.day} {day:%b %Y}"


def day_number(day: date) -> int:
    """Days since 1970-01-01, as the tallies count them."""
    return (day - EPOCH_DAY).days


@dataclass(frozen=True)
class StatusCount:
    """One status of one day: how many logs, and how many over each medium."""

    status: LogStatus
    total: int
    by_medium: tuple[tuple[Medium, int], ...]

    @property
    def word(self) -> str:
        """The status as the chart words it."""
        return STATUS_WORDS[self.status]

    @property
    def breakdown(self) -> str:
        """The mediums in words, "Slack 5, Email 2" (empty when there are no logs)."""
        return ", ".join(f"{medium_label(medium)} {count}" for medium, count in self.by_medium)


@dataclass(frozen=True)
class Segment:
    """One status's part of a day's stacked bar."""

    status: LogStatus
    y: float
    height: float


@dataclass(frozen=True)
class ChartDay:
    """One UTC day: its counts and its bar."""

    day: date
    counts: tuple[StatusCount, ...]  # in CHART_STATUSES order
    x: float
    width: float
    segments: tuple[Segment, ...]
    label: str | None  # written under the axis for some days only

    @property
    def total(self) -> int:
        """Logs of the day over the charted statuses."""
        return sum(count.total for count in self.counts)

    @property
    def tooltip(self) -> str:
        """The day in words with each status's breakdown by medium."""
        parts = [
            f"{count.total} {count.word}" + (f" ({count.breakdown})" if count.total else "")
            for count in self.counts
        ]
        return f"{self.day:%a} {_words(self.day)} (UTC): {'; '.join(parts)}"


@dataclass(frozen=True)
class Tick:
    """A value on the y axis and its height."""

    value: int
    y: float


@dataclass(frozen=True)
class DailyChart:
    """The whole chart: days oldest first, the y axis, totals over the window."""

    days: tuple[ChartDay, ...]
    ticks: tuple[Tick, ...]
    totals: tuple[StatusCount, ...]
    first_day: date
    last_day: date
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = PLOT_WIDTH
    plot_height: int = PLOT_HEIGHT

    @property
    def baseline(self) -> int:
        """The y of the x axis."""
        return TOP + PLOT_HEIGHT

    @property
    def empty(self) -> bool:
        """Whether no log falls in the window."""
        return all(count.total == 0 for count in self.totals)

    @property
    def description(self) -> str:
        """The chart in a sentence, for its <desc>."""
        totals = ", ".join(f"{count.total} {count.word}" for count in self.totals)
        return (
            f"Stacked bars, one per day from {_words(self.first_day)} to "
            f"{_words(self.last_day)} (UTC): {totals} in all. "
            "The table below the chart has the same numbers."
        )


def nice_step(peak: int) -> int:
    """The y axis step: 1, 2 or 5 times a power of ten, so that Y_TICKS steps cover `peak`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step * Y_TICKS >= peak:
                return factor * step
        step *= 10


def _status_counts(status: LogStatus, by_medium: dict[Medium, int] | None = None) -> StatusCount:
    per_medium = tuple(
        (medium, (by_medium or {}).get(medium, 0))
        for medium in Medium
        if (by_medium or {}).get(medium, 0)
    )
    return StatusCount(status, sum(count for _m, count in per_medium), per_medium)


def daily_chart(
    tallies: Iterable[tuple[int, str, str, int]], last_day: date, days: int
) -> DailyChart:
    """The chart of `days` UTC days up to `last_day` from (day, status, medium, logs) rows."""
    first_day = last_day - timedelta(days=days - 1)
    counted: dict[tuple[int, LogStatus], dict[Medium, int]] = {}
    for tally_day, status, medium, logs in tallies:
        per_medium = counted.setdefault((tally_day, LogStatus(status)), {})
        per_medium[Medium(medium)] = per_medium.get(Medium(medium), 0) + logs
    per_day = [
        (
            first_day + timedelta(days=offset),
            tuple(
                _status_counts(status, counted.get((day_number(first_day) + offset, status)))
                for status in CHART_STATUSES
            ),
        )
        for offset in range(days)
    ]
    step = nice_step(max((sum(c.total for c in counts) for _d, counts in per_day), default=0))
    top_value = step * Y_TICKS
    scale = PLOT_HEIGHT / top_value
    slot = PLOT_WIDTH / days
    label_every = max(1, round(days / 6))
    chart_days = []
    for offset, (day, counts) in enumerate(per_day):
        y = float(TOP + PLOT_HEIGHT)
        segments = []
        for count in counts:
            if count.total:
                height = count.total * scale
                y -= height
                segments.append(Segment(count.status, round(y, 2), round(height, 2)))
        labelled = (days - 1 - offset) % label_every == 0
        chart_days.append(
            ChartDay(
                day=day,
                counts=counts,
                x=round(LEFT + offset * slot + slot * (1 - BAR_SHARE) / 2, 2),
                width=round(slot * BAR_SHARE, 2),
                segments=tuple(segments),
                label=f"{day.day} {day:%b}" if labelled else None,
            )
        )
    ticks = tuple(
        Tick(step * index, round(TOP + PLOT_HEIGHT - step * index * scale, 2))
        for index in range(Y_TICKS + 1)
    )
    totals = tuple(
        _status_counts(
            status,
            {
                medium: sum(
                    dict(count.by_medium).get(medium, 0)
                    for _d, counts in per_day
                    for count in counts
                    if count.status is status
                )
                for medium in Medium
            },
        )
        for status in CHART_STATUSES
    )
    return DailyChart(tuple(chart_days), ticks, totals, first_day, last_day)

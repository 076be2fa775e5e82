"""What the admin pages show, read through the repositories of the API, the catalog and
the admin page.

No SQL is written here: the tiles count with the read API's statements (which sum the
trigger-kept tallies for whole days), the chart sums the tallies by day, the runs and logs
lists are the API's own `list_runs` and `list_logs`, and the run detail is the engine's
`run_detail`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from tidings.catalog import repository as catalog
from tidings.catalog.records import WorkspaceSettings
from tidings.engine import repository as engine_repository
from tidings.engine.views import attempts_to_wire, run_detail
from tidings.enums import LogStatus, Medium, NotificationType
from tidings.kit.pagination import PageRequest
from tidings.logs import repository as logs_repository
from tidings.logs import service as logs_service
from tidings.logs.filters import LogFilter, RunFilter
from tidings.notification_types import TYPE_INFO, display_name
from tidings.web import repository
from tidings.web.chart import CHART_STATUSES, DailyChart, daily_chart, day_number

TILE_WINDOW = timedelta(days=7)


class PairState(StrEnum):
    """Whether the workspace sends one notification type over one medium, and if not why."""

    ENABLED = "ENABLED"
    TYPE_OFF = "TYPE_OFF"  # the type is switched off over this medium
    MEDIUM_OFF = "MEDIUM_OFF"  # the whole medium is switched off
    NOT_AVAILABLE = "NOT_AVAILABLE"  # the type cannot go over this medium at all


def pair_state(
    workspace: WorkspaceSettings, notification_type: NotificationType, medium: Medium
) -> PairState:
    """The state of one (type, medium) pair under the workspace's switches."""
    if medium not in TYPE_INFO[notification_type].mediums:
        return PairState.NOT_AVAILABLE
    if not workspace.medium_enabled(medium):
        return PairState.MEDIUM_OFF
    if not workspace.type_enabled(notification_type, medium):
        return PairState.TYPE_OFF
    return PairState.ENABLED


@dataclass(frozen=True)
class TypeRow:
    """One row of the type by medium matrix."""

    notification_type: NotificationType
    name: str
    states: tuple[PairState, ...]  # in the order of `Medium`
    to_channels: bool
    channels_enabled: bool


def type_rows(workspace: WorkspaceSettings) -> list[TypeRow]:
    """Every notification type with its state over each medium."""
    return [
        TypeRow(
            notification_type=kind,
            name=display_name(kind),
            states=tuple(pair_state(workspace, kind, medium) for medium in Medium),
            to_channels=TYPE_INFO[kind].to_channels,
            channels_enabled=workspace.channel_type_enabled(kind),
        )
        for kind in NotificationType
    ]


@dataclass(frozen=True)
class Tiles:
    """The three numbers at the top of the page, and the window the last two cover."""

    enabled_notifications: int
    available_notifications: int
    delivered: int
    failed: int
    since: datetime
    until: datetime


def _logs_counted(
    connection: Connection, status: LogStatus, since: datetime, until: datetime
) -> int:
    statement = logs_repository.log_count_statement(
        LogFilter(statuses=frozenset({status}), from_date=since, until_date=until)
    )
    return logs_repository.count(connection, statement)


def tiles(connection: Connection, now: datetime, rows: list[TypeRow] | None = None) -> Tiles:
    """Enabled (type, medium) pairs, and logs delivered and failed in the last 7 days."""
    if rows is None:
        rows = type_rows(catalog.workspace_settings(connection))
    states = [state for row in rows for state in row.states]
    since = now - TILE_WINDOW
    return Tiles(
        enabled_notifications=states.count(PairState.ENABLED),
        available_notifications=len(states) - states.count(PairState.NOT_AVAILABLE),
        delivered=_logs_counted(connection, LogStatus.DELIVERED, since, now),
        failed=_logs_counted(connection, LogStatus.FAILED, since, now),
        since=since,
        until=now,
    )


@dataclass(frozen=True)
class WorkspaceView:
    """The settings page: the switches, the matrix, and the counts behind the tiles."""

    workspace: WorkspaceSettings
    mediums: list[tuple[Medium, bool]]
    rows: list[TypeRow]
    tiles: Tiles
    counts: dict[PairState, int]


def workspace_view(connection: Connection, now: datetime) -> WorkspaceView:
    """Everything the read-only settings page shows."""
    workspace = catalog.workspace_settings(connection)
    rows = type_rows(workspace)
    counts = dict.fromkeys(PairState, 0)
    for row in rows:
        for state in row.states:
            counts[state] += 1
    return WorkspaceView(
        workspace=workspace,
        mediums=[(medium, workspace.medium_enabled(medium)) for medium in Medium],
        rows=rows,
        tiles=tiles(connection, now, rows),
        counts=counts,
    )


def runs_page(connection: Connection, f: RunFilter, page: PageRequest) -> dict[str, Any]:
    """One page of runs as the API answers it."""
    return logs_service.list_runs(connection, f, page, include_objects=False)


def run_page(
    connection: Connection, run_id: int, page: int, page_size: int
) -> dict[str, Any] | None:
    """A run with its chain, counts and one page of logs, each with its attempts and the
    content still kept for it."""
    body = run_detail(connection, run_id, page, page_size)
    if body is None:
        return None
    for log in body["logs"]:
        log["attempts"] = attempts_to_wire(connection, log["id"])
        content = engine_repository.content_of(connection, log["id"])
        if content is not None:
            log["content"] = {"subject": content[0], "text": content[1]}
    return body


def logs_per_day(connection: Connection, now: datetime, retention_days: int) -> DailyChart:
    """Delivered, failed and ignored logs on each UTC day of the retention window up to
    today, summed from the tallies."""
    today = now.date()
    last = day_number(today)
    first = last - retention_days + 1
    rows = repository.daily_tallies(connection, first, last, CHART_STATUSES)
    return daily_chart(rows, today, retention_days)


def logs_page(connection: Connection, f: LogFilter, page: PageRequest) -> dict[str, Any]:
    """One page of logs as the API answers it."""
    return logs_service.list_logs(connection, f, page)

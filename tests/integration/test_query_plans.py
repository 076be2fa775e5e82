"""Each single filter of both lists reads one range of its own index, in list order.

Checked on SQLite's plans (EXPLAIN QUERY PLAN) for the page statement of each filter, in both
orders: the store holds a generated history, so the planner has real choices to make.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, Select

from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
    SortOrder,
)
from tidings.generator.history import HistorySpec, write_history
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import upgrade
from tidings.kit.pagination import PageRequest
from tidings.logs import repository
from tidings.logs.filters import LogFilter, RunFilter

END = datetime(2026, 11, 20, tzinfo=UTC)
FROM, UNTIL = datetime(2026, 11, 3, 12, tzinfo=UTC), datetime(2026, 11, 6, 12, tzinfo=UTC)

# Each filter alone, and the index whose range holds exactly its rows in list order.
LOG_FILTERS = {
    "no filter": (LogFilter(), "ix_logs_created"),
    "notificationRunIds": (LogFilter(run_ids=frozenset({7})), "ix_logs_run_created"),
    "notificationTypes": (
        LogFilter(types=frozenset({NotificationType.WEEKLY_REPORT})),
        "ix_logs_type_created",
    ),
    "statuses": (LogFilter(statuses=frozenset({LogStatus.FAILED})), "ix_logs_status_created"),
    "recipientTypes": (
        LogFilter(recipient_types=frozenset({RecipientType.TEAM})),
        "ix_logs_recipient_type_created",
    ),
    "recipientEmails": (
        LogFilter(recipient_emails=frozenset({"Ada.Berg@example.com"})),
        "ix_logs_email_created",
    ),
    "recipientEntityIds": (
        LogFilter(recipient_entity_ids=frozenset({5001})),
        "ix_logs_entity_created",
    ),
    "recipientChannels": (
        LogFilter(recipient_channels=frozenset({"#team-payments"})),
        "ix_logs_channel_created",
    ),
    "mediums": (LogFilter(mediums=frozenset({Medium.WEBHOOK})), "ix_logs_medium_created"),
    "ignoredReasons": (
        LogFilter(ignored_reasons=frozenset({IgnoredReason.DUPLICATE})),
        "ix_logs_ignored_created",
    ),
    "failedReasons": (
        LogFilter(failed_reasons=frozenset({FailedReason.CLIENT_ERROR})),
        "ix_logs_failed_created",
    ),
    "dates": (LogFilter(from_date=FROM, until_date=UNTIL), "ix_logs_created"),
}
RUN_FILTERS = {
    "deliveredOnly (default)": (RunFilter(), "ix_runs_delivered_created"),
    "no filter": (RunFilter(delivered_only=False), "ix_runs_created"),
    "notificationTypes": (
        RunFilter(types=frozenset({NotificationType.WEEKLY_REPORT}), delivered_only=False),
        "ix_runs_type_created",
    ),
    "statuses": (
        RunFilter(statuses=frozenset({RunStatus.FAILED}), delivered_only=False),
        "ix_runs_status_created",
    ),
    "mediums": (
        RunFilter(mediums=frozenset({Medium.EMAIL}), delivered_only=False),
        "ix_runs_medium_created",
    ),
    "ignoredReasons": (
        RunFilter(
            ignored_reasons=frozenset({RunIgnoredReason.NO_RECIPIENTS}), delivered_only=False
        ),
        "ix_runs_ignored_created",
    ),
    "failedReasons": (
        RunFilter(failed_reasons=frozenset({RunFailedReason.INTERNAL_ERROR}), delivered_only=False),
        "ix_runs_failed_created",
    ),
    "dates": (
        RunFilter(from_date=FROM, until_date=UNTIL, delivered_only=False),
        "ix_runs_created",
    ),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite store with a generated history, analysed as after a bulk load."""
    path: Path = tmp_path_factory.mktemp("plans") / "tidings.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    write_history(engine, HistorySpec(runs=400, logs=None, seed=3, end=END))
    yield engine
    engine.dispose()


def _plan(engine: Engine, statement: Select[object]) -> list[str]:
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        return [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


def _reads_only(plan: list[str], index: str) -> bool:
    """One step, reading `index` (no other table pass, no sort of the matches)."""
    return len(plan) == 1 and (
        plan[0].endswith(f"USING INDEX {index}") or f"USING INDEX {index} (" in plan[0]
    )


@pytest.mark.parametrize("order", list(SortOrder))
@pytest.mark.parametrize("name", list(LOG_FILTERS))
def test_a_page_of_logs_reads_its_filters_index(store: Engine, name: str, order: SortOrder) -> None:
    log_filter, index = LOG_FILTERS[name]

    plan = _plan(store, repository.log_page_statement(log_filter, PageRequest(order=order)))

    assert _reads_only(plan, index), plan


@pytest.mark.parametrize("order", list(SortOrder))
@pytest.mark.parametrize("name", list(RUN_FILTERS))
def test_a_page_of_runs_reads_its_filters_index(store: Engine, name: str, order: SortOrder) -> None:
    run_filter, index = RUN_FILTERS[name]

    plan = _plan(store, repository.run_page_statement(run_filter, PageRequest(order=order)))

    assert _reads_only(plan, index), plan

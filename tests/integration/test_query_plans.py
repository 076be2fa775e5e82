"""Each single filter of both lists reads one range of its own index, in list order, and
`total` reads the tallies wherever they can answer.

Checked on SQLite's plans (EXPLAIN QUERY PLAN) for the page statement of each filter, in both
orders, and on both databases' plans for the totals and the search: the stores hold a
generated history, so the planners have real choices to make.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Select, create_engine

from tests.support.postgres import PostgresServer
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


# Totals ------------------------------------------------------------------------------------
# What `total` reads on both databases: the tallies alone where they can answer, so that it
# costs the same at ten million logs as at a thousand.

TALLIED_TOTALS = {
    "logs, enum filters": (
        repository.log_count_statement(LogFilter(statuses=frozenset({LogStatus.FAILED}))),
        {"notification_log_tallies"},
    ),
    "logs, an address": (
        repository.log_count_statement(LogFilter(recipient_emails=frozenset({"Ada@x.com"}))),
        {"notification_log_address_tallies"},
    ),
    "runs, deliveredOnly": (
        repository.run_count_statement(RunFilter()),
        {"notification_run_tallies"},
    ),
    "runs, enum filters": (
        repository.run_count_statement(
            RunFilter(mediums=frozenset({Medium.EMAIL}), delivered_only=False)
        ),
        {"notification_run_tallies"},
    ),
    "runs, whole hours and days": (
        repository.run_count_statement(
            RunFilter(
                from_date=FROM - timedelta(hours=2),
                until_date=UNTIL - timedelta(hours=1, milliseconds=1),
            )
        ),
        {"notification_run_tallies", "notification_run_hour_tallies"},
    ),
}
TABLES = (
    "notification_logs",
    "notification_runs",
    "notification_log_tallies",
    "notification_log_hour_tallies",
    "notification_log_address_tallies",
    "notification_run_tallies",
    "notification_run_hour_tallies",
)


def _sqlite_tables(plan: list[str]) -> set[str]:
    """The tables (or their indexes' tables) a SQLite plan reads."""
    return {table for table in TABLES for step in plan if f" {table} " in f"{step} "}


@pytest.mark.parametrize("name", list(TALLIED_TOTALS))
def test_a_total_reads_only_the_tallies_on_sqlite(store: Engine, name: str) -> None:
    statement, tables = TALLIED_TOTALS[name]

    assert _sqlite_tables(_plan(store, statement)) == tables


@pytest.fixture(scope="module")
def postgres_store(postgres_server: PostgresServer, postgres_template: str) -> Iterator[Engine]:
    """A PostgreSQL store with the same history, vacuumed and analysed."""
    name = f"plans_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {postgres_template}")
    engine = create_db_engine(postgres_server.url(name))
    write_history(engine, HistorySpec(runs=400, logs=None, seed=3, end=END))
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _postgres_plan(engine: Engine, statement: Select[Any], *settings: str) -> dict[str, Any]:
    """PostgreSQL's plan of `statement` (EXPLAIN, JSON), under the given settings."""
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        for setting in settings:
            connection.exec_driver_sql(f"SET LOCAL {setting}")
        [[plan]] = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").one()
    return cast(dict[str, Any], plan["Plan"])


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.postgres
@pytest.mark.parametrize("name", list(TALLIED_TOTALS))
def test_a_total_reads_only_the_tallies_on_postgresql(postgres_store: Engine, name: str) -> None:
    statement, tables = TALLIED_TOTALS[name]

    plan = _postgres_plan(postgres_store, statement)

    assert {node["Relation Name"] for node in _nodes(plan) if "Relation Name" in node} == tables


@pytest.mark.postgres
@pytest.mark.parametrize("delivered_only", [False, True], ids=["every run", "deliveredOnly"])
@pytest.mark.parametrize("order", list(SortOrder))
def test_a_search_reads_the_runs_of_a_summary_and_of_an_object_from_indexes_alone(
    postgres_store: Engine, order: SortOrder, delivered_only: bool
) -> None:
    # Whole-table and bitmap scans are off, and each row costs as much to read as a page:
    # at 400 runs reading a partition whole (or in list order) would win, at a million it
    # loses. What is left to choose is whether an index alone holds what the search needs.
    searched = RunFilter(search_query="Payments", delivered_only=delivered_only)
    statement = repository.run_search_statement(searched, PageRequest(order=order))

    plan = _postgres_plan(
        postgres_store,
        statement,
        "enable_seqscan = off",
        "enable_bitmapscan = off",
        "cpu_tuple_cost = 1",
    )

    # Partitions, where there are, are read each with its own copy of the index.
    by_summary = [
        node["Node Type"]
        for node in _nodes(plan)
        if node.get("Alias", "").startswith("listed_runs")
        and "summary = ANY" in node.get("Index Cond", "")
    ]
    links = [
        node["Node Type"]
        for node in _nodes(plan)
        if node.get("Relation Name", "").startswith("notification_run_objects")
    ]
    assert by_summary
    assert set(by_summary) == {"Index Only Scan"}
    assert links
    assert set(links) == {"Index Only Scan"}

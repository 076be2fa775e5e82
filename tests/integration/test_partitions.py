"""On PostgreSQL the log-sized tables are partitioned by week, and retention drops partitions.

An id carries the UTC day its row was created on (`day << 38 | n`); a table's partition for
a week (Monday to Sunday) holds the ids of its days, and the tables that hang off a run or a
log are partitioned by that run's or log's id with the same bounds. Retention drops a
partition once all its rows are past it, without deleting rows one by one, and keeps the
tallies exact.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, event, select

from tests.support.builders import RunSpec, store_runs
from tidings.generator.history import HistorySpec, write_history
from tidings.kit import partitions
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import alembic_config, upgrade
from tidings.logs import run_tallies, tallies
from tidings.logs.models import NotificationLog, NotificationRun
from tidings.schedules import retention

pytestmark = pytest.mark.postgres
DAY = timedelta(days=1)


@pytest.fixture
def engine(postgres_engine: Engine) -> Engine:
    """A migrated, empty PostgreSQL store."""
    return postgres_engine


def database_now(engine: Engine) -> datetime:
    """The database's clock, which stamps the ids."""
    with engine.connect() as connection:
        moment: datetime = connection.exec_driver_sql("SELECT now()").scalar_one()
    return moment.astimezone(UTC)


def partition_of(engine: Engine, table: str, key: str, value: int) -> str:
    """The partition holding `table`'s row whose `key` is `value`."""
    with engine.connect() as connection:
        found = connection.exec_driver_sql(
            f"SELECT tableoid::regclass::text FROM {table} WHERE {key} = %(value)s",
            {"value": value},
        )
        return str(found.scalar_one())


def rows_of(engine: Engine, table: str) -> int:
    """How many rows `table` holds."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


class TestLayout:
    """What `tidings migrate` builds."""

    def test_every_log_sized_table_is_partitioned_with_today_the_next_days_and_a_default(
        self, engine: Engine
    ) -> None:
        today = partitions.day_of(database_now(engine))
        with engine.connect() as connection:
            for table in partitions.PARTITIONED:
                assert partitions.is_partitioned(connection, table.name), table.name
                spans = partitions.partition_days(connection, table.name)
                coming = range(today, today + partitions.DAYS_AHEAD + 1)
                assert {partitions.span_start(day) for day in coming} <= set(spans)
                default = connection.exec_driver_sql(
                    "SELECT to_regclass(%(name)s)",
                    {"name": partitions.default_partition_name(table.name)},
                ).scalar_one()
                assert default is not None, table.name

    def test_no_foreign_key_points_into_a_partitioned_table(self, engine: Engine) -> None:
        with engine.connect() as connection:
            pointing = connection.exec_driver_sql(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f'"
            ).all()
        assert [pair for pair in pointing if pair[1] in partitions.PARTITIONED_NAMES] == []


class TestIds:
    """Ids carry their day, so a row lands in its day's partition."""

    def test_a_row_gets_an_id_of_its_day_and_sits_in_that_weeks_partition(
        self, engine: Engine
    ) -> None:
        # The history spans the last day, so the newest run may still be of yesterday.
        now = database_now(engine)
        write_history(engine, HistorySpec(runs=3, logs=None, seed=1, end=now, days=1))
        with engine.connect() as connection:
            run_id, created = connection.execute(
                select(NotificationRun.id, NotificationRun.date_created)
                .order_by(NotificationRun.id.desc())
                .limit(1)
            ).one()
            log_id = int(connection.scalars(select(NotificationLog.id).limit(1)).one())

        day = partitions.day_of(created)
        assert day in (partitions.day_of(now) - 1, partitions.day_of(now))
        assert run_id >> partitions.DAY_SHIFT == day
        expected = partitions.partition_name("notification_runs", partitions.span_start(day))
        assert partition_of(engine, "notification_runs", "id", run_id) == expected
        assert partition_of(engine, "notification_logs", "id", log_id).startswith(
            "notification_logs_p"
        )

    def test_the_database_stamps_todays_day_on_ids_it_numbers(self, engine: Engine) -> None:
        now = database_now(engine)
        with engine.begin() as connection:
            stamped = connection.exec_driver_sql(
                "INSERT INTO notification_events (notification_type, payload, received_at) "
                "VALUES ('WEEKLY_REPORT', '{}', now()) RETURNING id"
            ).scalar_one()
            attempt = connection.exec_driver_sql(
                "INSERT INTO notification_attempts (log_id, number, started_at, latency_ms, "
                "outcome) VALUES (1, 1, now(), 1, 'DELIVERED') RETURNING id"
            ).scalar_one()
        assert stamped < 1 << partitions.DAY_SHIFT  # events are not partitioned
        assert attempt >> partitions.DAY_SHIFT == partitions.day_of(now)

    def test_ids_stay_exact_in_javascript_until_mid_2059(self) -> None:
        last_day = partitions.day_of(datetime(2059, 6, 30, tzinfo=UTC))
        assert partitions.day_id(last_day, (1 << partitions.DAY_SHIFT) - 1) < 2**53

    def test_rows_of_a_day_without_partition_wait_in_the_default_and_move_in_later(
        self, engine: Engine
    ) -> None:
        far_day = partitions.day_of(datetime(2031, 5, 4, tzinfo=UTC))
        log_id = partitions.day_id(far_day, 7)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO notification_contents (log_id, subject, text, body, date_created) "
                f"VALUES ({log_id}, 's', 't', '{{}}', now())"
            )
        default = partitions.default_partition_name("notification_contents")
        assert partition_of(engine, "notification_contents", "log_id", log_id) == default

        with engine.begin() as connection:
            created = partitions.ensure_partitions(connection, far_day, far_day)

        assert created == len(partitions.PARTITIONED)
        assert partition_of(engine, "notification_contents", "log_id", log_id) == (
            partitions.partition_name("notification_contents", partitions.span_start(far_day))
        )


@pytest.fixture
def history(engine: Engine) -> datetime:
    """Forty days of history up to the database's now; returns that now."""
    now = database_now(engine)
    write_history(engine, HistorySpec(runs=400, logs=None, seed=11, end=now, days=40))
    return now


class TestRetentionByPartition:
    """A purge drops the weeks past retention as whole partitions."""

    def test_expired_weeks_are_dropped_as_partitions_not_deleted_row_by_row(
        self, engine: Engine, history: datetime
    ) -> None:
        cutoff = retention.cutoff(history, timedelta(days=30))
        deletes: list[tuple[str, int]] = []

        @event.listens_for(engine, "after_cursor_execute")
        def record_deletes(_c: Any, cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("DELETE FROM NOTIFICATION_LOGS"):
                deletes.append((statement, cursor.rowcount))

        purged = retention.purge(engine, history, timedelta(days=30), timedelta(days=14))

        with engine.connect() as connection:
            log_days = partitions.partition_days(connection, "notification_logs")
            oldest = connection.exec_driver_sql(
                "SELECT min(date_created) FROM notification_logs"
            ).scalar_one()
        first_kept = partitions.span_start(partitions.day_of(cutoff))
        assert min(log_days) == first_kept
        assert partitions.day_start(first_kept) <= oldest < cutoff  # its week is not over
        assert purged.partitions_dropped >= len(partitions.PARTITIONED)
        assert purged.counts["logs"] > 0
        assert sum(rows for _, rows in deletes) == 0

    def test_contents_go_by_their_own_shorter_retention(
        self, engine: Engine, history: datetime
    ) -> None:
        retention.purge(engine, history, timedelta(days=30), timedelta(days=14))

        with engine.connect() as connection:
            content_days = partitions.partition_days(connection, "notification_contents")
            log_days = partitions.partition_days(connection, "notification_logs")
        today = partitions.day_of(history)
        assert min(content_days) == partitions.span_start(today - 14)
        assert min(log_days) == partitions.span_start(today - 30)

    @pytest.mark.parametrize(
        "tally", [*tallies.LOG_TALLIES, *run_tallies.RUN_TALLIES], ids=lambda t: t.table
    )
    def test_every_tally_still_equals_a_count_of_its_rows(
        self, engine: Engine, history: datetime, tally: tallies.Tally
    ) -> None:
        retention.purge(engine, history, timedelta(days=30), timedelta(days=14))

        *_, recount = tally.rebuild_statements("postgresql")
        with engine.connect() as connection:
            kept = connection.exec_driver_sql(
                f"SELECT {tally.columns}, count FROM {tally.table} WHERE count <> 0"
            ).all()
            counted = connection.exec_driver_sql(recount[recount.index("SELECT") :]).all()
        assert sorted(kept) == sorted(counted)
        assert kept != []

    def test_a_week_holding_a_row_still_within_retention_is_not_dropped(
        self, engine: Engine, history: datetime
    ) -> None:
        old_week = partitions.span_start(partitions.day_of(history) - 35)
        young_log = partitions.day_id(old_week, 10**9)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO notification_logs (id, run_id, notification_type, medium, status, "
                "recipient_type, date_created, date_updated) VALUES "
                f"({young_log}, 1, 'WEEKLY_REPORT', 'EMAIL', 'READY', 'USER', now(), now())"
            )

        retention.purge(engine, history, timedelta(days=30), timedelta(days=14))

        with engine.connect() as connection:
            log_spans = partitions.partition_days(connection, "notification_logs")
            kept = connection.exec_driver_sql(
                f"SELECT count(*) FROM notification_logs WHERE id = {young_log}"
            ).scalar_one()
        assert old_week in log_spans
        assert kept == 1

    def test_expired_rows_of_the_default_partition_go_row_by_row(
        self, engine: Engine, history: datetime
    ) -> None:
        cutoff = retention.cutoff(history, timedelta(days=30))
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO notification_logs (id, run_id, notification_type, medium, status, "
                "recipient_type, date_created, date_updated) VALUES "
                "(11, 1, 'WEEKLY_REPORT', 'EMAIL', 'READY', 'USER', %(old)s, %(old)s), "
                "(12, 1, 'WEEKLY_REPORT', 'EMAIL', 'READY', 'USER', %(young)s, %(young)s)",
                {"old": cutoff - timedelta(milliseconds=1), "young": cutoff},
            )

        retention.purge(engine, history, timedelta(days=30), timedelta(days=14))

        with engine.connect() as connection:
            left = connection.exec_driver_sql(
                "SELECT id FROM notification_logs_default ORDER BY id"
            ).scalars()
            assert list(left) == [12]

    def test_a_second_purge_drops_nothing_more(self, engine: Engine, history: datetime) -> None:
        retention.purge(engine, history, timedelta(days=30), timedelta(days=14))
        again = retention.purge(engine, history, timedelta(days=30), timedelta(days=14))
        assert again.partitions_dropped == 0
        assert again.total == 0


def test_the_migration_keeps_the_rows_stored_before_it(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    # Appended to the store as that revision left it: a bulk load into an empty store would
    # rebuild the search's indexes of today's revision.
    store_runs(engine, [RunSpec(logs=[{}])])
    now = database_now(engine)
    write_history(engine, HistorySpec(runs=200, logs=None, seed=2, end=now, days=3))
    before = {table: rows_of(engine, table) for table in partitions.PARTITIONED_NAMES}

    upgrade(engine)

    after = {table: rows_of(engine, table) for table in partitions.PARTITIONED_NAMES}
    assert after == before
    assert before["notification_logs"] > 0
    with engine.connect() as connection:
        assert partitions.is_partitioned(connection, "notification_logs")
    engine.dispose()

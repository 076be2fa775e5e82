"""Generated histories: reproducible, realistic, and consistent with the product's rules."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from tidings.engine.settle import settle
from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)
from tidings.generator.history import HistorySpec, write_history
from tidings.kit.db import create_db_engine
from tidings.runtime import Runtime

END = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
RUNS = 3000


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


@pytest.fixture(scope="module")
def history(module_database_url: str) -> Iterator[Engine]:
    """A store holding a generated month of history, shared by the read-only tests."""
    engine = create_db_engine(module_database_url)
    write_history(engine, HistorySpec(runs=RUNS, logs=None, seed=11, end=END))
    yield engine
    engine.dispose()


class TestRealism:
    def test_every_type_medium_and_status_appears(self, history: Engine) -> None:
        runs = _rows(history, "SELECT notification_type, medium, status FROM notification_runs")

        assert {NotificationType(t) for t, _, _ in runs} == set(NotificationType)
        assert {Medium(m) for _, m, _ in runs} == set(Medium)
        assert {RunStatus(s) for _, _, s in runs} == set(RunStatus)

    def test_every_reason_appears(self, history: Engine) -> None:
        run_reasons = _rows(history, "SELECT ignored_reason, failed_reason FROM notification_runs")
        log_reasons = _rows(
            history, "SELECT DISTINCT ignored_reason, failed_reason FROM notification_logs"
        )

        assert {r for r, _ in run_reasons if r} == {r.value for r in RunIgnoredReason}
        assert {r for _, r in run_reasons if r} == {r.value for r in RunFailedReason}
        expected_ignored = {r.value for r in IgnoredReason}
        assert {r for r, _ in log_reasons if r} == expected_ignored
        assert {r for _, r in log_reasons if r} == {r.value for r in FailedReason}

    def test_most_runs_complete_and_failures_are_a_minority(self, history: Engine) -> None:
        statuses = Counter(s for (s,) in _rows(history, "SELECT status FROM notification_runs"))

        assert statuses["COMPLETED"] > RUNS * 0.6
        assert statuses["FAILED"] < RUNS * 0.1
        assert 0 < statuses["CREATED"] < RUNS * 0.05

    def test_recipient_counts_range_from_one_to_hundreds(self, history: Engine) -> None:
        sizes = [
            n for (n,) in _rows(history, "SELECT count(*) FROM notification_logs GROUP BY run_id")
        ]

        assert min(sizes) == 1
        assert max(sizes) >= 100

    def test_dates_spread_over_the_last_30_days(self, history: Engine) -> None:
        with history.connect() as connection:
            from tidings.logs.repository import runs as runs_table

            dates = [
                row[0]
                for row in connection.execute(
                    runs_table.select().with_only_columns(runs_table.c.date_created)
                )
            ]
        assert min(dates) >= END - timedelta(days=30)
        assert max(dates) <= END
        assert max(dates) - min(dates) > timedelta(days=28)

    def test_objects_have_tags_and_entity_cids(self, history: Engine) -> None:
        objects = _rows(history, "SELECT object_type, tag, cid FROM notification_objects")

        entities = [(tag, cid) for kind, tag, cid in objects if kind == "ENTITY"]
        assert entities
        assert all(tag and cid and len(str(cid)) == 18 for tag, cid in entities)


class TestConsistency:
    def test_delivered_count_is_the_number_of_delivered_logs(self, history: Engine) -> None:
        mismatched = _rows(
            history,
            """
            SELECT r.id FROM notification_runs r
            WHERE r.delivered_count <> (SELECT count(*) FROM notification_logs l
                                        WHERE l.run_id = r.id AND l.status = 'DELIVERED')
        """,
        )

        assert mismatched == []

    def test_run_status_is_settled_from_its_logs(self, history: Engine) -> None:
        logs: dict[int, list[LogStatus]] = {}
        for run_id, status in _rows(history, "SELECT run_id, status FROM notification_logs"):
            logs.setdefault(int(str(run_id)), []).append(LogStatus(status))
        runs = _rows(history, "SELECT id, status, ignored_reason FROM notification_runs")

        for run_id, status, ignored in runs:
            statuses = logs.get(int(str(run_id)))
            if statuses is None:
                assert status in ("FAILED", "IGNORED")  # stopped before any recipient
                continue
            settlement = settle(statuses)
            assert (status, ignored) == (
                settlement.status.value,
                settlement.ignored_reason.value if settlement.ignored_reason else None,
            )

    def test_reruns_point_at_their_original_and_count_from_one(self, history: Engine) -> None:
        reruns = _rows(
            history,
            """
            SELECT r.seq_no, o.seq_no, o.original_run_id, r.notification_type = o.notification_type
            FROM notification_runs r JOIN notification_runs o ON o.id = r.original_run_id
        """,
        )

        assert reruns
        assert all(
            seq >= 1 and original_seq == 0 and root is None and same
            for seq, original_seq, root, same in reruns
        )

    def test_a_rerun_never_delivers_twice_to_a_recipient(self, history: Engine) -> None:
        twice = _rows(
            history,
            """
            SELECT r.id FROM notification_runs r
            JOIN notification_logs a ON a.run_id = r.original_run_id AND a.status = 'DELIVERED'
            JOIN notification_logs b ON b.run_id = r.id AND b.status = 'DELIVERED'
            WHERE a.recipient_user_id IS NOT DISTINCT FROM b.recipient_user_id
              AND a.recipient_email IS NOT DISTINCT FROM b.recipient_email
              AND a.recipient_entity_id IS NOT DISTINCT FROM b.recipient_entity_id
              AND a.recipient_channel IS NOT DISTINCT FROM b.recipient_channel
        """,
        )

        assert twice == []

    @pytest.mark.parametrize(
        ("tallies", "rows"),
        [
            ("notification_log_tallies", "notification_logs"),
            ("notification_log_hour_tallies", "notification_logs"),
            ("notification_run_tallies", "notification_runs"),
            ("notification_run_hour_tallies", "notification_runs"),
        ],
    )
    def test_tallies_match_the_rows(self, history: Engine, tallies: str, rows: str) -> None:
        tallied = _rows(history, f"SELECT sum(count) FROM {tallies}")
        counted = _rows(history, f"SELECT count(*) FROM {rows}")

        assert tallied == counted

    def test_run_tallies_count_the_delivered_runs(self, history: Engine) -> None:
        tallied = _rows(history, "SELECT sum(count) FROM notification_run_tallies WHERE delivered")
        counted = _rows(
            history, "SELECT count(*) FROM notification_runs WHERE delivered_count >= 1"
        )

        assert tallied == counted


class TestReproducibility:
    def test_same_size_seed_and_end_give_the_same_history(
        self, runtime: Runtime, tmp_path: object
    ) -> None:
        from tidings.kit.migrate import upgrade

        spec = HistorySpec(runs=200, logs=None, seed=5, end=END)
        write_history(runtime.engine, spec)
        other = create_db_engine(f"sqlite:///{tmp_path}/other.db")
        upgrade(other)
        write_history(other, spec)

        query = """SELECT r.notification_type, r.medium, r.status, r.summary, r.seq_no,
                          l.status, l.recipient_email, l.recipient_channel, l.ignored_reason,
                          l.failed_reason
                   FROM notification_logs l JOIN notification_runs r ON r.id = l.run_id
                   ORDER BY l.id"""
        assert _rows(runtime.engine, query) == _rows(other, query)
        other.dispose()

    def test_generating_into_a_store_with_history_appends(self, runtime: Runtime) -> None:
        write_history(runtime.engine, HistorySpec(runs=50, logs=None, seed=1, end=END))
        write_history(runtime.engine, HistorySpec(runs=30, logs=None, seed=2, end=END))

        assert _rows(runtime.engine, "SELECT count(*) FROM notification_runs") == [(80,)]
        tallied = _rows(runtime.engine, "SELECT sum(count) FROM notification_log_tallies")
        assert tallied == _rows(runtime.engine, "SELECT count(*) FROM notification_logs")
        tallied = _rows(runtime.engine, "SELECT sum(count) FROM notification_run_tallies")
        assert tallied == [(80,)]

    def test_logs_goal_is_reached(self, runtime: Runtime) -> None:
        written = write_history(runtime.engine, HistorySpec(runs=None, logs=5000, seed=4, end=END))

        assert written.logs >= 5000
        assert _rows(runtime.engine, "SELECT count(*) FROM notification_logs") == [(written.logs,)]

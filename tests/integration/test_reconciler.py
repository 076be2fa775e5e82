"""The reconciler (runner.distributed): every unfinished run without a live job is queued
again, at once if none of its jobs failed for good, later and later the more did."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from tests.support.builders import RunSpec, store_runs
from tidings.enums import RunStatus
from tidings.runner.distributed import (
    REQUEUE_BACKOFF_FIRST_S,
    RUN_TASK,
    RUNS_QUEUE,
    build_app,
    requeue_orphan_runs,
    run_lock,
)
from tidings.settings import Settings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MINUTE = timedelta(seconds=REQUEUE_BACKOFF_FIRST_S)


def unfinished_run(store: Engine) -> int:
    [run_id] = store_runs(store, [RunSpec(fields={"status": RunStatus.CREATED})])
    return run_id


def record_failed_jobs(store: Engine, run_id: int, count: int) -> None:
    """Jobs of the run whose every attempt failed, as procrastinate leaves them."""
    with store.begin() as connection:
        for _ in range(count):
            connection.execute(
                text(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status, "
                    "attempts) VALUES (:queue, :task, :lock, :args, 'failed', 5)"
                ),
                {
                    "queue": RUNS_QUEUE,
                    "task": RUN_TASK,
                    "lock": run_lock(run_id),
                    "args": f'{{"run_id": {run_id}}}',
                },
            )


def waiting_turns(store: Engine, run_id: int) -> list[datetime | None]:
    """When the run's waiting jobs may start (None: at once)."""
    with store.connect() as connection:
        return list(
            connection.scalars(
                text(
                    "SELECT scheduled_at FROM procrastinate_jobs "
                    "WHERE lock = :lock AND status = 'todo'"
                ),
                {"lock": run_lock(run_id)},
            )
        )


def reconcile(store: Engine, postgres_url: str) -> list[int]:
    """One pass of the reconciler at NOW."""
    settings = Settings(_env_file=None, database_url=postgres_url)

    async def one_pass() -> list[int]:
        async with build_app(settings, store).open_async() as app:
            return await requeue_orphan_runs(app, store, NOW)

    return asyncio.run(one_pass())


@pytest.mark.postgres
class TestReconciler:
    def test_a_run_never_queued_is_queued_to_start_at_once(
        self, postgres_engine: Engine, postgres_url: str
    ) -> None:
        run_id = unfinished_run(postgres_engine)

        assert reconcile(postgres_engine, postgres_url) == [run_id]
        assert waiting_turns(postgres_engine, run_id) == [None]

    def test_a_run_whose_jobs_failed_for_good_waits_before_its_next_turn(
        self, postgres_engine: Engine, postgres_url: str
    ) -> None:
        run_id = unfinished_run(postgres_engine)
        record_failed_jobs(postgres_engine, run_id, 3)

        assert reconcile(postgres_engine, postgres_url) == [run_id]
        assert waiting_turns(postgres_engine, run_id) == [NOW + 4 * MINUTE]

    def test_a_run_with_a_turn_waiting_is_left_alone(
        self, postgres_engine: Engine, postgres_url: str
    ) -> None:
        run_id = unfinished_run(postgres_engine)
        record_failed_jobs(postgres_engine, run_id, 1)
        reconcile(postgres_engine, postgres_url)

        assert reconcile(postgres_engine, postgres_url) == []
        assert waiting_turns(postgres_engine, run_id) == [NOW + MINUTE]

    def test_a_settled_run_is_not_queued(self, postgres_engine: Engine, postgres_url: str) -> None:
        [run_id] = store_runs(postgres_engine, [RunSpec()])
        record_failed_jobs(postgres_engine, run_id, 2)

        assert reconcile(postgres_engine, postgres_url) == []
        assert waiting_turns(postgres_engine, run_id) == []

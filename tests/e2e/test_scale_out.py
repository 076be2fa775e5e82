"""tidings on PostgreSQL as a cluster: API processes queue runs, `tidings worker` processes
deliver them, and nothing is lost or sent twice beyond what was in flight when a process or
the database died. Every process is real (`python -m tidings ...`), killed with SIGKILL.
"""

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.support.cluster import (
    FAST_RECOVERY,
    Cluster,
    api_key,
    attempts_recorded,
    broken_spec_event,
    import_webhooks,
    kill_mid_run,
    log_statuses,
    run_status,
    submit_broken_spec,
    tally,
    wait_for,
    wait_healthy,
    webhook_receiver,
)
from tests.support.postgres import free_port, start_server
from tidings.emulators.suite import EmulatorSuite
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import upgrade
from tidings.runner.distributed import DistributedRunner
from tidings.runtime import RunnerMode, Runtime
from tidings.settings import Settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def receiver() -> Iterator[EmulatorSuite]:
    with webhook_receiver(latency_s=0.01) as suite:
        yield suite


@pytest.fixture
def store(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def cluster(postgres_url: str, receiver: EmulatorSuite, tmp_path: Path) -> Iterator[Cluster]:
    settings = FAST_RECOVERY | {
        "webhook_signing_secret": receiver.webhook_secret,
        "webhook_allowed_networks": "127.0.0.0/8",
    }
    running = Cluster(postgres_url, tmp_path, settings)
    yield running
    running.stop()


def queue(store: Engine, cluster: Cluster, run_id: int) -> None:
    """Queue the run as an API process does."""
    settings = Settings(_env_file=None, database_url=cluster.database_url)  # type: ignore[call-arg]
    runtime = Runtime.from_settings(settings, runner=RunnerMode.QUEUE_ONLY)
    assert isinstance(runtime.runner, DistributedRunner)
    runtime.runner.submit_runs([run_id])
    runtime.close()


class TestWorkers:
    def test_a_worker_delivers_a_run_queued_by_an_api_process(
        self, store: Engine, cluster: Cluster, receiver: EmulatorSuite, tmp_path: Path
    ) -> None:
        import_webhooks(store, tmp_path, receiver.base_url("webhook"), 50)
        run_id = submit_broken_spec(store)
        cluster.start("worker", "--concurrency", "2")

        queue(store, cluster, run_id)

        wait_for(lambda: run_status(store, run_id) == "COMPLETED", 60, "the run to complete")
        assert log_statuses(store, run_id) == {"DELIVERED": 50}
        received = tally(receiver)
        assert (received.distinct, received.duplicates) == (50, 0)

    def test_serve_alone_on_postgresql_works_runs_in_its_own_process(
        self, store: Engine, cluster: Cluster, receiver: EmulatorSuite, tmp_path: Path
    ) -> None:
        import_webhooks(store, tmp_path, receiver.base_url("webhook"), 20)
        run_id = submit_broken_spec(store)
        port = free_port()

        server = cluster.start("serve", "--port", str(port))

        wait_healthy(port, server)
        wait_for(lambda: run_status(store, run_id) == "COMPLETED", 60, "the run to complete")
        assert log_statuses(store, run_id) == {"DELIVERED": 20}
        assert "this process and any `tidings worker`" in cluster.output(server)

    def test_a_worker_refuses_a_store_that_is_not_migrated(self, cluster: Cluster) -> None:
        with create_db_engine(cluster.database_url).begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0008'")

        refused = cluster.run("worker")

        assert refused.returncode == 2
        assert "run `tidings migrate` first" in refused.stderr

    @pytest.mark.parametrize("command", [("worker",), ("serve", "--no-worker")])
    def test_a_period_no_cron_line_can_hold_is_refused_at_start(
        self, cluster: Cluster, command: tuple[str, ...]
    ) -> None:
        cluster.settings["maintenance_seconds"] = "45"

        refused = cluster.run(*command)

        assert refused.returncode == 2
        assert "TIDINGS_MAINTENANCE_SECONDS: 45" in refused.stderr
        assert "does not divide a minute or an hour" in refused.stderr


BIG_RUN = 10_000


def assert_every_recipient_delivered(
    store: Engine, receiver: EmulatorSuite, run_id: int, recipients: int, duplicates_at_most: int
) -> None:
    """The run completed, each log DELIVERED, the receiver saw each recipient, and no more
    duplicates than allowed."""
    assert run_status(store, run_id) == "COMPLETED"
    assert log_statuses(store, run_id) == {"DELIVERED": recipients}
    received = tally(receiver)
    assert received.distinct == recipients
    assert received.duplicates <= duplicates_at_most, (received.duplicates, duplicates_at_most)


class TestCrashSafety:
    def test_a_worker_killed_mid_run_loses_nothing_and_repeats_only_what_was_in_flight(
        self, store: Engine, cluster: Cluster, receiver: EmulatorSuite, tmp_path: Path
    ) -> None:
        import_webhooks(store, tmp_path, receiver.base_url("webhook"), BIG_RUN)
        run_id = submit_broken_spec(store)
        doomed = cluster.start("worker")
        queue(store, cluster, run_id)

        kill = kill_mid_run(cluster, doomed, store, receiver, run_id, after=BIG_RUN // 3)
        assert kill.received < BIG_RUN, "the run finished before the kill: make it slower"
        cluster.start("worker")

        wait_for(lambda: run_status(store, run_id) == "COMPLETED", 300, "the run to complete")
        assert_every_recipient_delivered(store, receiver, run_id, BIG_RUN, kill.in_flight)
        assert attempts_recorded(store, run_id) >= BIG_RUN

    def test_a_run_stored_without_a_job_is_queued_by_the_reconciler(
        self, store: Engine, cluster: Cluster, receiver: EmulatorSuite, tmp_path: Path
    ) -> None:
        # What an API process killed between storing an event and queueing its run leaves.
        import_webhooks(store, tmp_path, receiver.base_url("webhook"), 20)
        run_id = submit_broken_spec(store)

        cluster.start("worker")

        wait_for(lambda: run_status(store, run_id) == "COMPLETED", 60, "the run to complete")
        assert_every_recipient_delivered(store, receiver, run_id, 20, 0)

    def test_an_api_process_killed_right_after_accepting_events_loses_none(
        self, store: Engine, cluster: Cluster, receiver: EmulatorSuite, tmp_path: Path
    ) -> None:
        import_webhooks(store, tmp_path, receiver.base_url("webhook"), 10)
        port = free_port()
        api = cluster.start("serve", "--no-worker", "--port", str(port))
        wait_healthy(port, api)
        headers = {"Authorization": f"Bearer {api_key(store)}"}
        body = broken_spec_event().model_dump(mode="json", exclude_none=True)

        accepted = []
        for _ in range(5):
            answer = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/notifications/events", json=body, headers=headers
            )
            assert answer.status_code == 202, answer.text
            accepted += [run["id"] for run in answer.json()["runs"] if run["medium"] == "WEBHOOK"]
        cluster.kill(api)
        cluster.start("worker")

        for run_id in accepted:
            wait_for(lambda r=run_id: run_status(store, r) == "COMPLETED", 60, f"run {run_id}")
        assert [log_statuses(store, run_id) for run_id in accepted] == [{"DELIVERED": 10}] * 5
        assert tally(receiver).total == 50

    def test_workers_reconnect_by_themselves_after_postgresql_restarts_mid_run(
        self, receiver: EmulatorSuite, tmp_path: Path
    ) -> None:
        # Its own server, so the restart disturbs no other test; durable commits, as in production.
        server = start_server(synchronous_commit=True)
        with ExitStack() as stack:
            stack.callback(server.stop)
            url = server.url()
            engine = create_db_engine(url)
            upgrade(engine)
            settings = FAST_RECOVERY | {
                "webhook_signing_secret": receiver.webhook_secret,
                "webhook_allowed_networks": "127.0.0.0/8",
            }
            cluster = Cluster(url, tmp_path, settings)
            stack.callback(cluster.stop)
            recipients = 1_500
            import_webhooks(engine, tmp_path, receiver.base_url("webhook"), recipients)
            run_id = submit_broken_spec(engine)
            worker = cluster.start("worker")
            queue(engine, cluster, run_id)
            wait_for(lambda: tally(receiver).total >= recipients // 4, 120, "a quarter delivered")

            server.restart()

            try:
                wait_for(lambda: run_status(engine, run_id) == "COMPLETED", 90, "the run")
            except AssertionError as error:
                said = cluster.output(worker)
                raise AssertionError(f"{error}; the worker said:\n{said}") from None
            # Outcomes of messages already sent wait for the store to come back, so at most
            # the requests on the wire when a turn gave up (the medium's concurrency) repeat.
            assert_every_recipient_delivered(engine, receiver, run_id, recipients, 64)
            assert all(process.poll() is None for process in cluster.processes)
            engine.dispose()


class TestPeriodicWork:
    def test_each_tick_fires_once_for_the_whole_cluster(self, cluster: Cluster) -> None:
        cluster.settings["schedule_tick_seconds"] = "1"
        workers = [cluster.start("worker"), cluster.start("worker")]

        def ticks() -> list[str]:
            said = "".join(cluster.output(worker) for worker in workers)
            return re.findall(r"Starting job tidings\.tick\[\d+\]\(timestamp=(\d+)\)", said)

        wait_for(lambda: len(set(ticks())) >= 4, 60, "four ticks")

        fired = ticks()
        assert len(fired) == len(set(fired)), sorted(fired)
        # Both workers took part: each defers the ticks, only one of them wins each.
        assert all("Starting worker" in cluster.output(worker) for worker in workers)

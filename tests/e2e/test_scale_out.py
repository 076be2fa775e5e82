"""tidings on PostgreSQL as a cluster: API processes queue runs, `tidings worker` processes
deliver them, and nothing is lost or sent twice beyond what was in flight when a process or
the database died. Every process is real (`python -m tidings ...`), killed with SIGKILL.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.cluster import (
    Cluster,
    import_webhooks,
    log_statuses,
    run_status,
    submit_broken_spec,
    tally,
    wait_for,
    webhook_receiver,
)
from tidings.emulators.suite import EmulatorSuite
from tidings.kit.db import create_db_engine
from tidings.runner.distributed import DistributedRunner
from tidings.runtime import RunnerMode, Runtime
from tidings.settings import Settings

pytestmark = pytest.mark.postgres

# Quick failure detection, so a test waits seconds, not the production half-minute.
FAST_RECOVERY = {
    "worker_heartbeat_seconds": "1",
    "worker_stalled_seconds": "4",
    "maintenance_seconds": "2",
    "retry_base_seconds": "1",
    "retry_max_delay_seconds": "2",
    "worker_shutdown_seconds": "5",
}


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

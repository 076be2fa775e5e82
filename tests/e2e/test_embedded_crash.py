"""The embedded runner on SQLite survives a SIGKILL mid-run: the restarted process resumes the
run from the store, every recipient gets the message, and only what was in flight repeats.
One process per store: a second one is refused while the first lives, and the lock dies
with it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.cluster import (
    Cluster,
    attempts_recorded,
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
from tests.support.postgres import free_port
from tidings.emulators.suite import EmulatorSuite
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import upgrade

RECIPIENTS = 10_000


@pytest.fixture
def receiver() -> Iterator[EmulatorSuite]:
    with webhook_receiver(latency_s=0.01) as suite:
        yield suite


@pytest.fixture
def sqlite_cluster(tmp_path: Path, receiver: EmulatorSuite) -> Iterator[tuple[Cluster, Engine]]:
    url = f"sqlite:///{tmp_path / 'tidings.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    settings = {
        "webhook_signing_secret": receiver.webhook_secret,
        "webhook_allowed_networks": "127.0.0.0/8",
        "retry_base_seconds": "1",
    }
    cluster = Cluster(url, tmp_path, settings)
    yield cluster, engine
    cluster.stop()
    engine.dispose()


def test_a_serving_process_killed_mid_run_resumes_it_after_a_restart(
    sqlite_cluster: tuple[Cluster, Engine], receiver: EmulatorSuite, tmp_path: Path
) -> None:
    cluster, store = sqlite_cluster
    import_webhooks(store, tmp_path, receiver.base_url("webhook"), RECIPIENTS)
    run_id = submit_broken_spec(store)  # the serving process resumes unfinished runs at start
    port = free_port()
    doomed = cluster.start("serve", "--port", str(port))

    kill = kill_mid_run(cluster, doomed, store, receiver, run_id, after=RECIPIENTS // 3)
    assert kill.received < RECIPIENTS, "the run finished before the kill: make it slower"
    cluster.start("serve", "--port", str(port))

    wait_for(lambda: run_status(store, run_id) == "COMPLETED", 300, "the run to complete")
    assert log_statuses(store, run_id) == {"DELIVERED": RECIPIENTS}
    received = tally(receiver)
    assert received.distinct == RECIPIENTS
    assert received.duplicates <= kill.in_flight
    assert attempts_recorded(store, run_id) >= RECIPIENTS


def test_a_second_process_on_the_same_sqlite_store_is_refused(
    sqlite_cluster: tuple[Cluster, Engine],
) -> None:
    cluster, _store = sqlite_cluster
    port = free_port()
    first = cluster.start("serve", "--port", str(port))
    wait_healthy(port, first)

    second = cluster.run("serve", "--port", str(free_port()))

    assert second.returncode == 2
    assert "already works on the SQLite store" in second.stderr
    assert f"pid {first.pid}" in second.stderr


def test_the_lock_dies_with_a_killed_process(sqlite_cluster: tuple[Cluster, Engine]) -> None:
    cluster, _store = sqlite_cluster
    port = free_port()
    first = cluster.start("serve", "--port", str(port))
    wait_healthy(port, first)
    cluster.kill(first)

    second = cluster.start("serve", "--port", str(port))

    wait_healthy(port, second)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(("worker",), "tidings worker needs PostgreSQL", id="worker"),
        pytest.param(("serve", "--no-worker"), "--no-worker needs PostgreSQL", id="API only"),
    ],
)
def test_what_needs_postgresql_is_refused_on_sqlite(
    sqlite_cluster: tuple[Cluster, Engine], arguments: tuple[str, ...], message: str
) -> None:
    cluster, _store = sqlite_cluster

    refused = cluster.run(*arguments)

    assert refused.returncode == 2
    assert message in refused.stderr

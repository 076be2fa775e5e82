"""tidings as an operator runs it: real `tidings` processes over one store, delivering to a
webhook receiver in the test's process.

The receiver is the webhook emulator; each of the catalog's N webhooks is one recipient, and
the receiver keeps every delivery so a test can count, per webhook-id, what arrived.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tidings.catalog.service import import_catalog
from tidings.emulators.received import Received
from tidings.emulators.suite import EmulatorSuite
from tidings.engine import flows
from tidings.engine.schemas import EventIn
from tidings.enums import LogStatus, Medium
from tidings.kit.clock import system_clock
from tidings.logs.repository import logs, runs

TEAM_TAG = "cluster-team"
SERVICE_TAG = "cluster-service"
PUBLIC_URL = "http://127.0.0.1:8000"
TERMINAL = {LogStatus.DELIVERED.value, LogStatus.FAILED.value, LogStatus.IGNORED.value}
# Quick failure detection, so a crash costs seconds, not the production half-minute.
FAST_RECOVERY = {
    "worker_heartbeat_seconds": "1",
    "worker_stalled_seconds": "4",
    "maintenance_seconds": "2",
    "retry_base_seconds": "1",
    "retry_max_delay_seconds": "2",
    "worker_shutdown_seconds": "5",
}


def hook_names(count: int) -> list[str]:
    """hook-00001, hook-00002, ..."""
    return [f"hook-{index:05d}" for index in range(1, count + 1)]


def write_webhook_catalog(directory: Path, receiver_url: str, count: int) -> Path:
    """A team owning a service that declares `count` webhooks at the receiver."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "team.yaml").write_text(
        "openapi: 3.0.1\ninfo:\n  title: Cluster Team\n"
        f"  x-cortex-tag: {TEAM_TAG}\n  x-cortex-type: team\n"
    )
    with (directory / "service.yaml").open("w") as service:
        service.write(
            "openapi: 3.0.1\ninfo:\n  title: Cluster Service\n"
            f"  x-cortex-tag: {SERVICE_TAG}\n  x-cortex-type: service\n  x-cortex-owners:\n"
            f"    - {{type: group, name: {TEAM_TAG}, provider: CORTEX}}\n"
            "  x-tidings-webhooks:\n"
        )
        for name in hook_names(count):
            service.write(f'    - {{name: {name}, url: "{receiver_url}/hooks/{name}"}}\n')
    return directory


def broken_spec_event() -> EventIn:
    """The event whose WEBHOOK run reaches every webhook of the service."""
    return EventIn.model_validate(
        {
            "type": "BROKEN_OPEN_API_SPEC",
            "objects": [{"type": "ENTITY", "tag": SERVICE_TAG}],
            "data": {"spec": "openapi.yaml"},
        }
    )


@contextmanager
def webhook_receiver(latency_s: float = 0.0, keep: int = 100_000) -> Iterator[EmulatorSuite]:
    """The webhook emulator, answering each request `latency_s` late, keeping `keep`."""
    from tidings.emulators.faults import FaultRule

    suite = EmulatorSuite()
    suite.webhook.received = Received(keep=keep, clock=suite.webhook.clock)
    if latency_s:
        suite.webhook.faults.add(FaultRule.delay(latency_s, times=0))
    suite.start()
    try:
        yield suite
    finally:
        suite.stop()


@dataclass
class Tally:
    """What the receiver got: deliveries per webhook-id."""

    per_id: Counter[str]

    @property
    def distinct(self) -> int:
        """Recipients reached at least once."""
        return len(self.per_id)

    @property
    def total(self) -> int:
        """Every delivery received."""
        return sum(self.per_id.values())

    @property
    def duplicates(self) -> int:
        """Deliveries beyond the first of each recipient."""
        return sum(self.per_id.values()) - len(self.per_id)


def tally(suite: EmulatorSuite) -> Tally:
    """Count the receiver's deliveries by webhook-id."""
    items = suite.webhook.received.items()
    return Tally(Counter(item["webhook_id"] for item in items if item["hook"].startswith("hook-")))


@dataclass
class Cluster:
    """`tidings` processes over one store, with the settings the test chose."""

    database_url: str
    directory: Path
    settings: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)
    _paths: dict[int, Path] = field(default_factory=dict)  # by pid

    def environment(self) -> dict[str, str]:
        """The process environment: this interpreter's, plus TIDINGS_* settings."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
        environment["TIDINGS_DATABASE_URL"] = self.database_url
        environment.update({f"TIDINGS_{k.upper()}": v for k, v in self.settings.items()})
        return environment

    def start(self, *arguments: str) -> subprocess.Popen[bytes]:
        """Start `tidings <arguments>` in the cluster's directory (no .env of the repo)."""
        path = self.directory / f"process-{len(self._paths)}.log"
        log = path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tidings", *arguments],
            cwd=self.directory,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        self._logs.append(log)
        self._paths[process.pid] = path
        return process

    def start_worker(self, *arguments: str, timeout: float = 60) -> subprocess.Popen[bytes]:
        """Start `tidings worker <arguments>` and wait until it polls for jobs."""
        process = self.start("worker", *arguments)

        def working() -> bool:
            if process.poll() is not None:
                said = self.output(process)[-3000:]
                raise AssertionError(f"a worker exited with {process.returncode}:\n{said}")
            return "Starting worker" in self.output(process)

        wait_for(working, timeout, "a worker to start")
        return process

    def output(self, process: subprocess.Popen[bytes]) -> str:
        """What a process printed so far."""
        return self._paths[process.pid].read_text(errors="replace")

    def run(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `tidings <arguments>` to its end."""
        return subprocess.run(
            [sys.executable, "-m", "tidings", *arguments],
            cwd=self.directory,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no chance to finish or clean up anything."""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM every process still running, then SIGKILL what lingers."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        self.processes.clear()
        self._logs.clear()


def import_webhooks(engine: Engine, directory: Path, receiver_url: str, count: int) -> None:
    """Import the catalog of `count` webhooks at the receiver into the store."""
    catalog = write_webhook_catalog(directory / "catalog", receiver_url, count)
    outcomes = import_catalog(engine, [catalog], system_clock)
    assert all(outcome.imported for outcome in outcomes), outcomes


def submit_broken_spec(engine: Engine) -> int:
    """Store the event (no runner queues it); returns the id of its WEBHOOK run."""
    answer, _queued = flows.submit_event(engine, broken_spec_event(), PUBLIC_URL, system_clock)
    [run_id] = [run.id for run in answer.runs if run.medium is Medium.WEBHOOK]
    return run_id


def log_statuses(engine: Engine, run_id: int) -> Counter[str]:
    """How many logs of the run are in each status."""
    statement = (
        select(logs.c.status, func.count()).where(logs.c.run_id == run_id).group_by(logs.c.status)
    )
    with engine.connect() as connection:
        return Counter({str(status): int(count) for status, count in connection.execute(statement)})


def run_status(engine: Engine, run_id: int) -> str:
    """The run's status."""
    with engine.connect() as connection:
        return str(connection.scalar(select(runs.c.status).where(runs.c.id == run_id)))


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `condition()` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def attempts_recorded(engine: Engine, run_id: int) -> int:
    """Delivery attempts of the run's logs written to the store."""
    from tidings.engine.models import DeliveryAttempt

    attempts = DeliveryAttempt.__table__
    statement = (
        select(func.count())
        .select_from(attempts.join(logs, logs.c.id == attempts.c.log_id))
        .where(logs.c.run_id == run_id)
    )
    with engine.connect() as connection:
        return int(connection.scalar(statement) or 0)


@dataclass(frozen=True)
class Kill:
    """What the store and the receiver held once a killed process's last requests landed."""

    received: int
    recorded: int

    @property
    def in_flight(self) -> int:
        """Attempts the receiver got whose outcome the store never learnt."""
        return self.received - self.recorded


def kill_mid_run(
    cluster: Cluster,
    process: subprocess.Popen[bytes],
    engine: Engine,
    receiver: EmulatorSuite,
    run_id: int,
    after: int,
) -> Kill:
    """SIGKILL `process` once the receiver holds `after` deliveries of the run."""
    wait_for(lambda: tally(receiver).total >= after, 120, f"{after} deliveries")
    cluster.kill(process)
    time.sleep(0.5)  # requests already on the wire reach the receiver's record
    return Kill(tally(receiver).total, attempts_recorded(engine, run_id))


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until a serving process answers /healthz (fail at once if it exited)."""
    import urllib.error
    import urllib.request

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    wait_for(healthy, timeout, f"the server on port {port}")


def api_key(engine: Engine) -> str:
    """A new key that may send events and view logs."""
    from datetime import UTC, datetime

    from tidings.auth import service as keys
    from tidings.auth.permissions import Permission

    with Session(engine) as session, session.begin():
        return keys.create_key(session, "cluster", list(Permission), datetime.now(UTC)).secret

"""Deliveries per second with one and with two `tidings worker` processes against a webhook
receiver that answers 50 ms late; then a worker killed with SIGKILL in the middle of a
10,000-recipient run, and what another worker makes of it.

Everything is real: a throwaway PostgreSQL server (the test suite's `tests.support.postgres.
start_server`, imported from the repository root — the one thing this benchmark takes from
`tests/`), `python -m tidings worker` subprocesses with TIDINGS_* settings, and the webhook
emulator in a receiver process of its own (`fanout.py --serve-receiver`), every request
delayed 50 ms (a `delay` fault, for ever) and every delivery kept, so each webhook-id can be
counted. Runs are stored as the API stores them (`flows.submit_event`) and queued as an API
process queues them (`Runtime.from_settings(..., runner=RunnerMode.QUEUE_ONLY)`).

1. Scale-out. One service declares K webhooks; E events about it make E WEBHOOK runs of K
   logs each (16 x 1,000; `--quick` 8 x 250). A run is delivered by one worker at a time (its
   jobs share a lock), so E runs is what lets two workers share the work. Timed from storing
   the events (their runs are queued right after) to the last run COMPLETED (its
   `date_updated` in the store), once with one worker
   and once with two, both with the same settings (`--concurrency`, the webhook medium's
   concurrency): with 50 ms per request, a worker's rate is bounded by its webhook
   concurrency / 0.05 s, so two workers should come close to twice one. Goal: at least 1.8x.
2. Crash. A second service declares C webhooks (10,000; `--quick` 2,000); one event makes a
   run of C logs, worked by one worker that is killed (SIGKILL) once the receiver holds a
   third of them. Half a second later (requests already on the wire land) the receiver's
   count and the attempts the store recorded (notification_attempts of the run's logs) are
   read: their difference is what was in flight at the kill. Another worker is started (the
   killed one's job is handed back once its heartbeat is stale) and the run waited for.
   lost = recipients the receiver never got + logs not in a terminal status; duplicates =
   deliveries beyond the first per webhook-id. Goal: lost 0, duplicates <= in flight.

The machine's CPU is shared by PostgreSQL, the receiver, the workers and this process: the
table shows each worker's CPU per delivery and the machine's busy share during each
measurement, to tell a latency-bound rate from a CPU-bound one. The last line printed is one
JSON object with the figures.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other benchmarks
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the test suite's PostgreSQL

from tests.support.cluster import FAST_RECOVERY, Cluster, attempts_recorded, wait_for
from tests.support.postgres import start_server

from engine import show
from fanout import Receiver, hook_names, process_cpu_s, receiving
from tidings.catalog.service import import_catalog
from tidings.engine import flows
from tidings.engine.schemas import EventIn
from tidings.enums import LogStatus, Medium, RunStatus
from tidings.kit.clock import system_clock
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import upgrade
from tidings.logs.repository import logs, runs
from tidings.runner.base import Runner
from tidings.runtime import RunnerMode, Runtime
from tidings.settings import Settings

RUNS = 16
HOOKS_PER_RUN = 1_000
CRASH_RECIPIENTS = 10_000
QUICK_RUNS = 8
QUICK_HOOKS_PER_RUN = 250
QUICK_CRASH_RECIPIENTS = 2_000
LATENCY_S = 0.05
# Per worker process: 8 / 50 ms = 160 deliveries/s at most. Low enough that on two cores,
# shared with PostgreSQL and the receiver, a worker stays bound by the receiver's latency (the
# machine about 20-40 % busy), so the ratio measures how the work spreads, not CPU contention;
# at 16 the machine nears 60 % busy and quiet runs gave 1.73x and 1.84x.
WEBHOOK_CONCURRENCY = 8
WORKER_CONCURRENCY = 4  # runs a worker works on at once
GOAL_RATIO = 1.8
KILL_SHARE = 1 / 3
TEAM_TAG = "scale-team"
SCALE_TAG = "scale-service"
CRASH_TAG = "crash-service"
PUBLIC_URL = "http://127.0.0.1:8000"
TERMINAL = frozenset({LogStatus.DELIVERED, LogStatus.FAILED, LogStatus.IGNORED})
WORKER_SETTINGS = FAST_RECOVERY | {"webhook_allowed_networks": "127.0.0.0/8"}
WORKER_START_S = 60.0
RUN_TIMEOUT_S = 600.0
LANDING_S = 0.5  # requests already on the wire at a kill reach the receiver's record


# The receiver's record ---------------------------------------------------------------------------


@dataclass
class Deliveries:
    """What the receiver got since it last forgot, read a little at a time: count per id."""

    receiver: Receiver
    per_id: Counter[str] = field(default_factory=Counter)
    seen: int = 0

    def forget(self) -> None:
        """Make the receiver (and this record) start from nothing."""
        self.receiver.forget()
        self.per_id.clear()
        self.seen = 0

    def refresh(self) -> int:
        """Read the deliveries recorded since the last read; returns the total so far."""
        url = f"{self.receiver.webhook}/_emulator/received?since={self.seen}"
        with urllib.request.urlopen(url, timeout=120) as answer:
            items: list[dict[str, Any]] = orjson.loads(answer.read())
        for item in items:
            self.per_id[str(item["webhook_id"])] += 1
            self.seen = max(self.seen, int(item["seq"]))
        return self.seen

    @property
    def total(self) -> int:
        """Every delivery read so far."""
        return sum(self.per_id.values())

    @property
    def duplicates(self) -> int:
        """Deliveries beyond the first of each webhook-id."""
        return self.total - len(self.per_id)


def delay_every_request(receiver: Receiver, seconds: float) -> None:
    """Make the webhook emulator answer every request `seconds` late, for ever."""
    rules = [{"delay": seconds, "times": 0}]
    request = urllib.request.Request(
        f"{receiver.webhook}/_emulator/faults", data=orjson.dumps(rules), method="POST"
    )
    urllib.request.urlopen(request, timeout=30).close()


# The catalog and the events ----------------------------------------------------------------------


def write_catalog(directory: Path, receiver: Receiver, scale_hooks: int, crash_hooks: int) -> Path:
    """A team owning two services: one with `scale_hooks` webhooks, one with `crash_hooks`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "team.yaml").write_text(
        "openapi: 3.0.1\ninfo:\n  title: Scale Team\n"
        f"  x-cortex-tag: {TEAM_TAG}\n  x-cortex-type: team\n"
    )
    for tag, prefix, count in (
        (SCALE_TAG, "scale", scale_hooks),
        (CRASH_TAG, "crash", crash_hooks),
    ):
        with (directory / f"{tag}.yaml").open("w") as service:
            service.write(
                f"openapi: 3.0.1\ninfo:\n  title: {tag}\n"
                f"  x-cortex-tag: {tag}\n  x-cortex-type: service\n  x-cortex-owners:\n"
                f"    - {{type: group, name: {TEAM_TAG}, provider: CORTEX}}\n"
                "  x-tidings-webhooks:\n"
            )
            for name in hook_names(count):
                hook = f"{prefix}-{name}"
                service.write(f'    - {{name: {hook}, url: "{receiver.hook_url(hook)}"}}\n')
    return directory


def submit_runs(engine: Engine, service_tag: str, count: int) -> list[int]:
    """Store `count` BROKEN_OPEN_API_SPEC events about the service (as the API does, without
    queueing); returns the ids of their WEBHOOK runs."""
    event = EventIn.model_validate(
        {
            "type": "BROKEN_OPEN_API_SPEC",
            "objects": [{"type": "ENTITY", "tag": service_tag}],
            "data": {"spec": "openapi.yaml"},
        }
    )
    run_ids = []
    for _ in range(count):
        answer, _queued = flows.submit_event(engine, event, PUBLIC_URL, system_clock)
        run_ids += [run.id for run in answer.runs if run.medium is Medium.WEBHOOK]
    return run_ids


# The store ---------------------------------------------------------------------------------------


def unfinished(engine: Engine, run_ids: Sequence[int]) -> int:
    """How many of the runs are still CREATED."""
    statement = select(func.count()).where(
        runs.c.id.in_(run_ids), runs.c.status == RunStatus.CREATED.value
    )
    with engine.connect() as connection:
        return int(connection.scalar(statement) or 0)


def settled(engine: Engine, run_ids: Sequence[int]) -> tuple[datetime, int, Counter[str]]:
    """When the last of the runs settled, their delivered logs, and their runs per status."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(runs.c.date_updated, runs.c.delivered_count, runs.c.status).where(
                runs.c.id.in_(run_ids)
            )
        ).all()
    last = max(row.date_updated for row in rows)
    return last, sum(int(row.delivered_count) for row in rows), Counter(str(r.status) for r in rows)


def log_ids_by_status(engine: Engine, run_id: int) -> dict[str, set[str]]:
    """The run's log ids (as webhook-ids) per log status."""
    statement = select(logs.c.id, logs.c.status).where(logs.c.run_id == run_id)
    found: dict[str, set[str]] = {}
    with engine.connect() as connection:
        for log_id, status in connection.execute(statement):
            found.setdefault(str(status), set()).add(str(log_id))
    return found


# Worker processes --------------------------------------------------------------------------------


def postgres_cpu_s(data: Path) -> float:
    """CPU seconds of the PostgreSQL server: its postmaster and the processes it runs now
    (a backend that exited took its share with it; the workers keep theirs open)."""
    postmaster = int((data / "postmaster.pid").read_text().split("\n")[0])
    total = process_cpu_s(postmaster)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == postmaster:
                total += process_cpu_s(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total


def machine_busy_s() -> tuple[float, float]:
    """CPU seconds the machine spent busy and in all, summed over cores (from /proc/stat;
    time stolen by the hypervisor counts as neither, guest time is already in user)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = fields[:7]
    busy = user + nice + system + irq + softirq
    ticks = os.sysconf("SC_CLK_TCK")
    return busy / ticks, (busy + idle + iowait) / ticks


@dataclass
class Bench:
    """What the measurements drive and watch: the store, the runs' queue, the workers, the
    receiver's record."""

    engine: Engine
    postgres_data: Path
    runner: Runner
    workers: Cluster
    worker_concurrency: int
    deliveries: Deliveries

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start one worker and wait until it polls for jobs."""
        return self.workers.start_worker(
            "--concurrency", str(self.worker_concurrency), timeout=WORKER_START_S
        )


# 1. Scale-out ------------------------------------------------------------------------------------


@dataclass
class Throughput:
    """One measurement of the scale-out: so many workers delivering so many runs."""

    workers: int
    runs: int
    deliveries: int
    seconds: float
    received: int
    distinct_ids: int
    statuses: Counter[str]
    worker_cpu_s: list[float]
    receiver_cpu_s: float
    postgres_cpu_s: float
    machine_busy_share: float

    @property
    def per_s(self) -> float:
        """Delivered logs per second, from queueing to the last run settled."""
        return self.deliveries / self.seconds if self.seconds else 0.0


def measure_throughput(bench: Bench, count: int, runs_per_measurement: int) -> Throughput:
    """Deliver `runs_per_measurement` runs with `count` fresh workers; stop them afterwards."""
    engine, deliveries = bench.engine, bench.deliveries
    deliveries.forget()
    started = [bench.start_worker() for _ in range(count)]
    cpu_before = [process_cpu_s(process.pid) for process in started]
    receiver_before = process_cpu_s(deliveries.receiver.pid)
    postgres_before = postgres_cpu_s(bench.postgres_data)
    busy_before, all_before = machine_busy_s()
    # From before the events are stored: the workers' reconciler may queue a stored run
    # before this process does.
    queued_at = datetime.now(UTC)
    run_ids = submit_runs(engine, SCALE_TAG, runs_per_measurement)
    bench.runner.submit_runs(run_ids)
    wait_for(lambda: unfinished(engine, run_ids) == 0, RUN_TIMEOUT_S, f"{count} worker(s)")
    busy_after, all_after = machine_busy_s()
    worker_cpu = [
        process_cpu_s(process.pid) - before
        for process, before in zip(started, cpu_before, strict=True)
    ]
    receiver_cpu = process_cpu_s(deliveries.receiver.pid) - receiver_before
    postgres_cpu = postgres_cpu_s(bench.postgres_data) - postgres_before
    bench.workers.stop()
    last, delivered, statuses = settled(engine, run_ids)
    deliveries.refresh()
    return Throughput(
        workers=count,
        runs=len(run_ids),
        deliveries=delivered,
        seconds=(last - queued_at).total_seconds(),
        received=deliveries.total,
        distinct_ids=len(deliveries.per_id),
        statuses=statuses,
        worker_cpu_s=worker_cpu,
        receiver_cpu_s=receiver_cpu,
        postgres_cpu_s=postgres_cpu,
        machine_busy_share=(busy_after - busy_before) / max(all_after - all_before, 1e-9),
    )


# 2. Crash ----------------------------------------------------------------------------------------


@dataclass
class Crash:
    """A worker killed mid-run, and the run as another worker finished it."""

    recipients: int
    received_at_kill: int
    recorded_at_kill: int
    run_status: str
    lost_unreceived: int
    not_terminal: int
    duplicates: int
    received: int
    recovery_s: float
    log_statuses: dict[str, int]

    @property
    def in_flight(self) -> int:
        """Attempts the receiver got whose outcome the store never learnt."""
        return self.received_at_kill - self.recorded_at_kill

    @property
    def lost(self) -> int:
        """Recipients never reached, and logs left without a final status."""
        return self.lost_unreceived + self.not_terminal


def measure_crash(bench: Bench, recipients: int) -> Crash:
    """Kill the only worker a third of the way through a run; let a new one finish it."""
    engine, runner, workers, deliveries = (
        bench.engine,
        bench.runner,
        bench.workers,
        bench.deliveries,
    )
    deliveries.forget()
    doomed = bench.start_worker()
    [run_id] = submit_runs(engine, CRASH_TAG, 1)
    runner.submit_runs([run_id])
    after = int(recipients * KILL_SHARE)
    wait_for(lambda: deliveries.refresh() >= after, RUN_TIMEOUT_S, f"{after:,} deliveries")
    workers.kill(doomed)
    killed_at = time.monotonic()
    time.sleep(LANDING_S)
    received_at_kill = deliveries.refresh()
    recorded_at_kill = attempts_recorded(engine, run_id)
    show(f"  killed the worker: receiver {received_at_kill:,}, store {recorded_at_kill:,} attempts")
    if received_at_kill >= recipients:
        show("  the run was done before the kill: nothing was in its middle")
    bench.start_worker()
    wait_for(lambda: unfinished(engine, [run_id]) == 0, RUN_TIMEOUT_S, "the crashed run")
    recovery_s = time.monotonic() - killed_at
    workers.stop()
    deliveries.refresh()
    by_status = log_ids_by_status(engine, run_id)
    every_log = set().union(*by_status.values()) if by_status else set()
    _, _, statuses = settled(engine, [run_id])
    return Crash(
        recipients=recipients,
        received_at_kill=received_at_kill,
        recorded_at_kill=recorded_at_kill,
        run_status=next(iter(statuses)),
        lost_unreceived=recipients - len(every_log & set(deliveries.per_id)),
        not_terminal=sum(
            len(ids) for status, ids in by_status.items() if LogStatus(status) not in TERMINAL
        ),
        duplicates=deliveries.duplicates,
        received=deliveries.total,
        recovery_s=recovery_s,
        log_statuses={status: len(ids) for status, ids in sorted(by_status.items())},
    )


# Report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The sizes and the workers' settings of one benchmark run."""

    runs: int
    hooks_per_run: int
    crash_recipients: int
    webhook_concurrency: int
    worker_concurrency: int

    def settings(self) -> dict[str, Any]:
        """What the workers were given, for the report."""
        return {
            "latency_ms": round(LATENCY_S * 1000),
            "runs": self.runs,
            "hooks_per_run": self.hooks_per_run,
            "webhook_concurrency": self.webhook_concurrency,
            "worker_concurrency": self.worker_concurrency,
            "ceiling_per_worker_per_s": round(self.webhook_concurrency / LATENCY_S),
            "crash_recipients": self.crash_recipients,
            "cores": os.cpu_count(),
        }


def _us_per(seconds: float, count: int) -> float:
    return seconds / count * 1e6 if count else 0.0


def show_table(plan: Plan, one: Throughput, two: Throughput, crash: Crash) -> None:
    """The figures against the goals."""
    show()
    show(
        f"{'workers':<8} {'runs':>5} {'delivered':>10} {'seconds':>8} {'per s':>7} "
        f"{'ceiling':>8} {'worker CPU':>11} {'receiver CPU':>13} {'PG CPU':>10} {'busy':>5}"
    )
    for result in (one, two):
        ceiling = result.workers * plan.webhook_concurrency / LATENCY_S
        worker_us = _us_per(sum(result.worker_cpu_s), result.deliveries)
        receiver_us = _us_per(result.receiver_cpu_s, result.deliveries)
        postgres_us = _us_per(result.postgres_cpu_s, result.deliveries)
        show(
            f"{result.workers:<8} {result.runs:>5} {result.deliveries:>10,} "
            f"{result.seconds:>8.2f} {result.per_s:>7,.0f} {ceiling:>8,.0f} "
            f"{worker_us:>8.0f} µs {receiver_us:>10.0f} µs {postgres_us:>7.0f} µs "
            f"{result.machine_busy_share:>5.0%}"
        )
    ratio = two.per_s / one.per_s if one.per_s else 0.0
    show(f"two workers / one: {ratio:.2f}x (goal >= {GOAL_RATIO}x)")
    for result in (one, two):
        shares = ", ".join(f"{cpu:.1f}" for cpu in result.worker_cpu_s)
        show(
            f"  {result.workers} worker(s): CPU s per worker {shares}; received "
            f"{result.received:,}, distinct ids {result.distinct_ids:,}; "
            f"runs {dict(result.statuses)}"
        )
    show()
    verdict = "ok" if crash.lost == 0 and crash.duplicates <= crash.in_flight else "FAILED"
    show(
        f"crash, {crash.recipients:,} recipients: killed at {crash.received_at_kill:,} received, "
        f"{crash.recorded_at_kill:,} attempts recorded (in flight {crash.in_flight:,}); "
        f"run {crash.run_status} {crash.recovery_s:.1f} s after the kill"
    )
    show(
        f"  lost {crash.lost} (never received {crash.lost_unreceived}, not terminal "
        f"{crash.not_terminal}), duplicates {crash.duplicates:,} <= in flight {crash.in_flight:,}: "
        f"{verdict}; logs {crash.log_statuses}; received {crash.received:,}"
    )


def figures(plan: Plan, one: Throughput, two: Throughput, crash: Crash) -> dict[str, Any]:
    """The JSON figures."""
    return {
        "one_worker_per_s": round(one.per_s),
        "two_workers_per_s": round(two.per_s),
        "ratio": round(two.per_s / one.per_s, 3) if one.per_s else None,
        "lost": crash.lost,
        "duplicates": crash.duplicates,
        "in_flight_at_kill": crash.in_flight,
        "received_at_kill": crash.received_at_kill,
        "recorded_at_kill": crash.recorded_at_kill,
        "crash_run_status": crash.run_status,
        "crash_recovery_seconds": round(crash.recovery_s, 1),
        "one_worker_seconds": round(one.seconds, 2),
        "two_workers_seconds": round(two.seconds, 2),
        "deliveries_per_measurement": one.deliveries,
        "worker_cpu_us_per_delivery_one": round(_us_per(sum(one.worker_cpu_s), one.deliveries)),
        "worker_cpu_us_per_delivery_two": round(_us_per(sum(two.worker_cpu_s), two.deliveries)),
        "receiver_cpu_us_per_delivery": round(_us_per(one.receiver_cpu_s, one.deliveries)),
        "postgres_cpu_us_per_delivery_one": round(_us_per(one.postgres_cpu_s, one.deliveries)),
        "postgres_cpu_us_per_delivery_two": round(_us_per(two.postgres_cpu_s, two.deliveries)),
        "machine_busy_share_one": round(one.machine_busy_share, 3),
        "machine_busy_share_two": round(two.machine_busy_share, 3),
        "settings": plan.settings(),
    }


# Command line ------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_RUNS} runs of {QUICK_HOOKS_PER_RUN} and a crash at "
        f"{QUICK_CRASH_RECIPIENTS:,} recipients",
    )
    parser.add_argument(
        "--webhook-concurrency",
        type=int,
        default=WEBHOOK_CONCURRENCY,
        help=f"webhook requests at once per worker (default {WEBHOOK_CONCURRENCY})",
    )
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=WORKER_CONCURRENCY,
        help=f"runs a worker works on at once (default {WORKER_CONCURRENCY})",
    )
    return parser.parse_args(argv)


@contextmanager
def postgres_store() -> Iterator[tuple[str, Engine, Path]]:
    """A throwaway PostgreSQL server, migrated, until the block ends."""
    server = start_server()
    try:
        url = server.url()
        engine = create_db_engine(url)
        try:
            upgrade(engine)
            yield url, engine, server.data
        finally:
            engine.dispose()
    finally:
        server.stop()


def run(plan: Plan, directory: Path) -> tuple[Throughput, Throughput, Crash]:
    """Start the store and the receiver, import the catalog, and measure."""
    keep = 2 * max(plan.runs * plan.hooks_per_run, plan.crash_recipients)
    with (
        postgres_store() as (url, engine, data),
        receiving(require_signature=True, keep=keep) as rec,
    ):
        delay_every_request(rec, LATENCY_S)
        catalog = write_catalog(
            directory / "catalog", rec, plan.hooks_per_run, plan.crash_recipients
        )
        began = time.monotonic()
        outcomes = import_catalog(engine, [catalog], system_clock)
        if not all(outcome.imported for outcome in outcomes):
            raise RuntimeError(f"the catalog did not import: {outcomes}")
        show(f"catalog imported in {time.monotonic() - began:.1f} s")
        settings = WORKER_SETTINGS | {
            "webhook_signing_secret": rec.secret,
            "webhook_concurrency": str(plan.webhook_concurrency),
        }
        workers = Cluster(url, directory, settings)
        queueing = Runtime.from_settings(
            Settings(_env_file=None, database_url=url),
            runner=RunnerMode.QUEUE_ONLY,
        )
        try:
            assert queueing.runner is not None
            bench = Bench(
                engine, data, queueing.runner, workers, plan.worker_concurrency, Deliveries(rec)
            )
            measured = []
            for count in (1, 2):
                result = measure_throughput(bench, count, plan.runs)
                show(f"{count} worker(s): {result.per_s:,.0f} deliveries/s")
                measured.append(result)
            show(f"crash: {plan.crash_recipients:,} recipients, kill at a third")
            crash = measure_crash(bench, plan.crash_recipients)
        finally:
            workers.stop()
            queueing.close()
    return measured[0], measured[1], crash


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark; the last line printed is the JSON figures."""
    options = parse_options(argv)
    plan = Plan(
        runs=QUICK_RUNS if options.quick else RUNS,
        hooks_per_run=QUICK_HOOKS_PER_RUN if options.quick else HOOKS_PER_RUN,
        crash_recipients=QUICK_CRASH_RECIPIENTS if options.quick else CRASH_RECIPIENTS,
        webhook_concurrency=options.webhook_concurrency,
        worker_concurrency=options.worker_concurrency,
    )
    show(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; {plan.settings()}")
    directory = Path(tempfile.mkdtemp(prefix="scale-out-"))
    try:
        one, two, crash = run(plan, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    show_table(plan, one, two, crash)
    show(json.dumps(figures(plan, one, two, crash)))


if __name__ == "__main__":
    main()

"""The distributed runner: procrastinate jobs in PostgreSQL, worked by any number of workers.

A job is only a pointer to a run (`tidings.process_run`, run id): the runs and logs tables
stay the truth. Every job of a run carries the run's lock, so no two workers ever take turns
on one run at once, and its queueing lock, so a run has at most one job waiting.

What procrastinate does not do by itself is done by a maintenance task that every worker
defers on the same cron (procrastinate defers each tick once for the whole cluster):
- the sweeper hands the jobs of workers that stopped sending heartbeats (killed, frozen,
  cut off) back to the queue;
- the reconciler queues every unfinished run that has no live job: an API process killed
  between storing an event and queueing its run, a job that failed for good, a job table
  restored from an older backup. A run whose jobs keep failing for good (a bug its data
  trips, say) waits longer each time, so it neither spins a worker nor floods the log.
"""

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import procrastinate
import uvloop
from procrastinate import JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Engine, make_url, text

from tidings.runner.base import Progress
from tidings.settings import Settings

log = logging.getLogger(__name__)

RUN_TASK = "tidings.process_run"
TICK_TASK = "tidings.tick"
PURGE_TASK = "tidings.purge"
MAINTAIN_TASK = "tidings.maintain"
RUNS_QUEUE = "runs"
PERIODIC_QUEUE = "periodic"
# A turn that fails (the database went away mid-run, say) is tried again soon; once these
# are spent the reconciler still queues the run at its next pass.
RUN_RETRY = RetryStrategy(max_attempts=5, wait=5, exponential_wait=2)
IDLE_POLL_SECONDS = 0.05
RECONNECT_FIRST_S = 1.0
RECONNECT_MAX_S = 30.0

# A run whose jobs failed for good is queued again after a minute, then after twice as long
# at each further failure, up to an hour.
REQUEUE_BACKOFF_FIRST_S = 60.0
REQUEUE_BACKOFF_MAX_S = 3600.0

# Unfinished runs with no job waiting or in hand, and how many of their jobs failed for
# good: both counted in one reading of the run's jobs.
ORPHAN_RUNS = text(
    """
    SELECT r.id, jobs.failed
    FROM notification_runs r
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE j.status IN ('todo', 'doing')) AS live,
               count(*) FILTER (WHERE j.status = 'failed') AS failed
        FROM procrastinate_jobs j
        WHERE j.lock = 'tidings.run:' || r.id
    ) jobs
    WHERE r.status = 'CREATED' AND jobs.live = 0
    ORDER BY r.id
    """
)
LIVE_RUN_JOBS = text(
    "SELECT count(*) FROM procrastinate_jobs "
    "WHERE task_name = :task AND status IN ('todo', 'doing')"
)


class Work(Protocol):
    """What the tasks need from the process that runs them (its Runtime)."""

    async def process_run(self, run_id: int) -> Progress:
        """Expand, deliver what is due and settle one run."""
        ...

    def tick(self, now: datetime) -> object:
        """Fire the time-driven notifications due by `now` and queue their runs."""
        ...

    def purge(self, now: datetime) -> object:
        """Delete what is older than the retention settings allow."""
        ...

    async def close_channels(self) -> None:
        """Close the mediums' connections made on the running event loop."""
        ...


def run_lock(run_id: int) -> str:
    """The lock (and queueing lock) of every job of one run."""
    return f"tidings.run:{run_id}"


def conninfo_of(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the distributed runner needs PostgreSQL (TIDINGS_DATABASE_URL)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def every_seconds_cron(seconds: float) -> str:
    """A cron line firing every `seconds` (which must divide a minute or an hour evenly)."""
    whole = int(seconds)
    if whole != seconds or whole < 1:
        raise ValueError(f"{seconds} s is not a whole number of seconds")
    if whole < 60 and 60 % whole == 0:
        return f"* * * * * */{whole}"  # procrastinate's croniter reads a 6th field: seconds
    if whole % 60 == 0 and 3600 % whole == 0:
        return f"*/{whole // 60} * * * *"
    raise ValueError(f"{whole} s does not divide a minute or an hour evenly")


def _work_of(context: JobContext) -> Work:
    work: Work = (context.additional_context or {})["work"]
    return work


def build_app(settings: Settings, engine: Engine) -> procrastinate.App:
    """A procrastinate app with tidings' tasks, over the PostgreSQL of `settings`."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo_of(settings.database_url))
    )
    stalled_seconds = settings.worker_stalled_seconds

    @app.task(name=RUN_TASK, queue=RUNS_QUEUE, pass_context=True, retry=RUN_RETRY)
    async def process_run(context: JobContext, run_id: int) -> None:
        progress = await _work_of(context).process_run(run_id)
        if progress.resume_at is not None:
            await defer_run(app, run_id, progress.resume_at)

    @app.periodic(cron=every_seconds_cron(settings.schedule_tick_seconds), periodic_id="tick")
    @app.task(name=TICK_TASK, queue=PERIODIC_QUEUE, pass_context=True)
    async def tick(context: JobContext, timestamp: int) -> None:
        await asyncio.to_thread(_work_of(context).tick, datetime.fromtimestamp(timestamp, UTC))

    @app.periodic(cron="0 * * * *", periodic_id="purge")
    @app.task(name=PURGE_TASK, queue=PERIODIC_QUEUE, pass_context=True)
    async def purge(context: JobContext, timestamp: int) -> None:
        await asyncio.to_thread(_work_of(context).purge, datetime.fromtimestamp(timestamp, UTC))
        await app.job_manager.delete_old_jobs(
            nb_hours=settings.retention_days * 24, include_failed=True
        )

    @app.periodic(cron=every_seconds_cron(settings.maintenance_seconds), periodic_id="maintain")
    @app.task(name=MAINTAIN_TASK, queue=PERIODIC_QUEUE)
    async def maintain(timestamp: int) -> None:
        await maintain_jobs(app, engine, stalled_seconds)

    return app


async def defer_run(app: procrastinate.App, run_id: int, at: datetime | None = None) -> None:
    """Queue a turn of the run (at `at`), unless one is already waiting."""
    # A turn already waiting will see whatever this one was for.
    with contextlib.suppress(AlreadyEnqueued):
        await app.configure_task(
            RUN_TASK, lock=run_lock(run_id), queueing_lock=run_lock(run_id), schedule_at=at
        ).defer_async(run_id=run_id)


async def sweep_stalled_jobs(app: procrastinate.App, stalled_seconds: float) -> int:
    """Give the jobs of workers silent for `stalled_seconds` back to the queue."""
    manager = app.job_manager
    swept = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        assert job.id is not None
        try:
            await manager.retry_job_by_id_async(job.id, retry_at=datetime.now(UTC))
        except Exception:
            # The run already has a waiting turn (the dead worker queued it): that one
            # carries on, this one is closed as failed.
            await manager.finish_job_by_id_async(
                job.id, status=procrastinate.jobs.Status.FAILED, delete_job=False
            )
        swept += 1
    await manager.prune_stalled_workers(stalled_seconds)
    return swept


def requeue_delay(failed_jobs: int) -> timedelta:
    """How long the reconciler lets an orphan run wait for its next turn: not at all if no
    job of it failed for good (it was never queued, or its job was lost), else doubling
    from REQUEUE_BACKOFF_FIRST_S with each failed job, up to REQUEUE_BACKOFF_MAX_S.

    A failed job is one whose every retry failed, or the duplicate the sweeper closes when
    a dead worker's run already has a turn waiting (rare: at most one wait more)."""
    if failed_jobs <= 0:
        return timedelta(0)
    doublings = min(failed_jobs - 1, 32)  # 2**32 minutes is far past the cap already
    return timedelta(seconds=min(REQUEUE_BACKOFF_FIRST_S * 2**doublings, REQUEUE_BACKOFF_MAX_S))


async def requeue_orphan_runs(
    app: procrastinate.App, engine: Engine, now: datetime | None = None
) -> list[int]:
    """Queue every unfinished run that has no job waiting or in hand, after `requeue_delay`."""

    def orphans() -> list[tuple[int, int]]:
        with engine.connect() as connection:
            return [
                (int(run_id), int(failed)) for run_id, failed in connection.execute(ORPHAN_RUNS)
            ]

    found = await asyncio.to_thread(orphans)
    moment = now or datetime.now(UTC)
    for run_id, failed_jobs in found:
        delay = requeue_delay(failed_jobs)
        if delay:
            log.warning(
                "run %d: %d of its jobs failed for good; queued again to start in %d s",
                run_id,
                failed_jobs,
                delay.total_seconds(),
            )
        await defer_run(app, run_id, moment + delay if delay else None)
    return [run_id for run_id, _ in found]


async def maintain_jobs(app: procrastinate.App, engine: Engine, stalled_seconds: float) -> None:
    """One pass of the sweeper, then of the reconciler."""
    swept = await sweep_stalled_jobs(app, stalled_seconds)
    requeued = await requeue_orphan_runs(app, engine)
    if swept or requeued:
        log.warning(
            "recovered %d jobs of silent workers; queued %d orphan runs", swept, len(requeued)
        )


def worker_options(settings: Settings, work: Work) -> dict[str, Any]:
    """procrastinate's worker options for this process."""
    return {
        "name": f"tidings@{socket.gethostname()}",
        "concurrency": settings.worker_concurrency,
        "delete_jobs": "successful",  # a job is a pointer: once done, the run table says all
        "additional_context": {"work": work},
        "update_heartbeat_interval": settings.worker_heartbeat_seconds,
        "stalled_worker_timeout": settings.worker_stalled_seconds,
        "shutdown_graceful_timeout": settings.worker_shutdown_seconds,
    }


async def run_worker(
    settings: Settings, engine: Engine, work: Work, stop: asyncio.Event | None = None
) -> None:
    """Work jobs until `stop` is set (or SIGINT/SIGTERM when no event is given), recovering
    what it can first. A worker that loses the database starts again once it is back:
    procrastinate's own worker stops when its connection breaks."""
    stop = stop or _stop_on_signals()
    delay = RECONNECT_FIRST_S
    try:
        while not stop.is_set():
            try:
                await _work_until_stopped_or_cut_off(settings, engine, work, stop)
                delay = RECONNECT_FIRST_S
            except Exception as error:  # the database is away: wait, then try again
                log.warning("the worker lost the database (%s)", type(error).__name__)
            if stop.is_set():
                break
            log.warning("reconnecting to the database in %.0f s", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, RECONNECT_MAX_S)
    finally:
        await work.close_channels()


async def _work_until_stopped_or_cut_off(
    settings: Settings, engine: Engine, work: Work, stop: asyncio.Event
) -> None:
    app = build_app(settings, engine)
    async with app.open_async():
        await maintain_jobs(app, engine, settings.worker_stalled_seconds)
        worker = asyncio.create_task(
            app.run_worker_async(**worker_options(settings, work), install_signal_handlers=False)
        )
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not worker.done():
                worker.cancel()  # procrastinate stops gracefully: running jobs get their time
            with contextlib.suppress(asyncio.CancelledError):
                await worker


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    return stop


class DistributedRunner:
    """The runner port over procrastinate: queues runs, and may work them in this process."""

    def __init__(self, settings: Settings, engine: Engine, work: Work, *, in_process: bool):
        self._settings = settings
        self._engine = engine
        self._work = work
        self._in_process = in_process
        self._app: procrastinate.App | None = None
        self._app_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def _opened_app(self) -> procrastinate.App:
        """The app used to queue jobs from this process's threads (opened once)."""
        with self._app_lock:
            if self._app is None:
                self._app = build_app(self._settings, self._engine).open()
            return self._app

    def start(self) -> None:
        """Start the in-process worker, if this process has one (it recovers unfinished work
        first); an API-only process leaves that to the workers."""
        if not self._in_process or self._thread is not None:
            return
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._work_jobs, args=(started,), name="tidings-worker", daemon=True
        )
        self._thread.start()
        started.wait()

    def _work_jobs(self, started: threading.Event) -> None:
        async def work() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            started.set()
            await run_worker(self._settings, self._engine, self._work, self._stop)

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            try:
                runner.run(work())
            except Exception:
                log.exception("the in-process worker stopped")

    def stop(self) -> None:
        """Stop the in-process worker (its jobs finish or go back to the queue)."""
        if self._thread is not None and self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join()
            self._thread = None
        with self._app_lock:
            if self._app is not None:
                self._app.close()
                self._app = None

    def submit_runs(self, run_ids: Sequence[int]) -> None:
        """Queue a turn of each run (skipping runs that already have one waiting)."""
        app = self._opened_app()
        for run_id in run_ids:
            with contextlib.suppress(AlreadyEnqueued):
                app.configure_task(
                    RUN_TASK, lock=run_lock(run_id), queueing_lock=run_lock(run_id)
                ).defer(run_id=run_id)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no turn of any run is waiting or in hand (False on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._engine.connect() as connection:
                if connection.scalar(LIVE_RUN_JOBS, {"task": RUN_TASK}) == 0:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(IDLE_POLL_SECONDS)

"""What a running process shares: settings, the database, the clock, the rate limiter."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from tidings.channels.base import Channel
from tidings.channels.registry import build_channels
from tidings.engine import flows
from tidings.engine import repository as engine_repository
from tidings.engine.delivery import RetryPolicy
from tidings.enums import Medium
from tidings.kit.clock import Clock, system_clock
from tidings.kit.db import create_db_engine, session_factory
from tidings.kit.ratelimit import RateLimiter, rate_limiter_for
from tidings.kit.reads import Reads
from tidings.runner.base import Runner
from tidings.runner.distributed import DistributedRunner
from tidings.runner.local import LocalRunner
from tidings.schedules import retention, ticks
from tidings.schedules.retention import Purged
from tidings.schedules.scheduler import Scheduler
from tidings.schedules.ticks import TickResult
from tidings.settings import Settings

PURGE_EVERY = timedelta(hours=1)
WORK_POOL_SIZE = 4
WORK_CACHE_KIB = 4096


class RunnerMode(StrEnum):
    """Who works the runs of this process."""

    EMBEDDED = "embedded"  # a thread of this process, alone on its store (SQLite, a laptop)
    DISTRIBUTED = "distributed"  # procrastinate jobs, worked here and by `tidings worker`s
    QUEUE_ONLY = "queue-only"  # procrastinate jobs, worked only by `tidings worker`s


@dataclass
class Runtime:
    """The long-lived objects of one process, built once from its settings."""

    settings: Settings
    engine: Engine
    # The runner's and the mediums' connections: on SQLite a small page cache and no mmap,
    # so a run of a hundred thousand recipients leaves the process no bigger than a small
    # one (the API's readers keep large caches). On PostgreSQL it is the same engine.
    work_engine: Engine
    sessions: sessionmaker[Session]
    rate_limiter: RateLimiter
    reads: Reads
    clock: Clock = field(default=system_clock)
    channels: Mapping[Medium, Channel] = field(default_factory=dict)
    runner: Runner | None = None
    scheduler: Scheduler | None = None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        clock: Clock = system_clock,
        runner: RunnerMode = RunnerMode.EMBEDDED,
    ) -> "Runtime":
        """Open the database and build the shared objects for `settings`."""
        engine = create_db_engine(
            settings.database_url,
            synchronous=settings.sqlite_synchronous,
            pool_size=settings.database_pool_size,
        )
        work_engine = (
            create_db_engine(
                settings.database_url,
                synchronous=settings.sqlite_synchronous,
                pool_size=WORK_POOL_SIZE,
                cache_kib=WORK_CACHE_KIB,
                mmap_bytes=0,
            )
            if engine.dialect.name == "sqlite"
            else engine
        )
        runtime = cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            rate_limiter=rate_limiter_for(engine, settings.rate_limit_per_minute, clock),
            reads=Reads(
                engine,
                inline_deadline_s=settings.inline_read_ms / 1000
                if settings.inline_read_ms
                else None,
            ),
            clock=clock,
            work_engine=work_engine,
            channels=build_channels(settings, work_engine, clock),
            retry_policy=RetryPolicy(
                attempts=settings.retry_attempts,
                base_seconds=settings.retry_base_seconds,
                max_delay_seconds=settings.retry_max_delay_seconds,
            ),
        )
        if runner is not RunnerMode.EMBEDDED:
            # The cluster's periodic tasks fire the schedules and the purge, not a thread here.
            runtime.runner = DistributedRunner(
                settings, work_engine, runtime, in_process=runner is RunnerMode.DISTRIBUTED
            )
            return runtime
        runtime.runner = LocalRunner(
            runtime.process_run, runtime.unfinished_runs, clock, on_stop=runtime.close_channels
        )
        runtime.scheduler = Scheduler(
            runtime.tick,
            runtime.purge,
            clock,
            timedelta(seconds=settings.schedule_tick_seconds),
            PURGE_EVERY,
        )
        return runtime

    def tick(self, now: datetime) -> TickResult:
        """Fire the time-driven notifications due by `now` and queue their runs."""
        result = ticks.tick(self.work_engine, now, self.settings.public_url)
        if result.run_ids and self.runner is not None:
            self.runner.submit_runs(result.run_ids)
        return result

    def purge(self, now: datetime) -> Purged:
        """Delete what is older than the retention settings allow."""
        return retention.purge(
            self.work_engine,
            now,
            timedelta(days=self.settings.retention_days),
            timedelta(days=self.settings.content_retention_days),
        )

    async def process_run(self, run_id: int) -> flows.RunProgress:
        """Expand, deliver what is due and settle one run with this process's mediums."""
        return await flows.process_run(
            self.work_engine,
            run_id,
            self.channels,
            self.settings.public_url,
            self.clock,
            backstage_url=self.settings.backstage_base_url,
            retry_policy=self.retry_policy,
        )

    async def close_channels(self) -> None:
        """Close the mediums' connections made on the running event loop."""
        for channel in self.channels.values():
            await channel.close()

    def unfinished_runs(self) -> list[int]:
        """The runs a restarted runner must pick up."""
        with self.engine.connect() as connection:
            return engine_repository.unfinished_run_ids(connection)

    def close(self) -> None:
        """Stop the background work and release the database connections."""
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.runner is not None:
            self.runner.stop()
        self.reads.close()
        self.engine.dispose()
        if self.work_engine is not self.engine:
            self.work_engine.dispose()


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The runtime of the app serving a request."""
    runtime: Runtime = connection.app.state.runtime
    return runtime

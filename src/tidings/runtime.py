"""What a running process shares: settings, the database, the clock, the rate limiter."""

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from tidings.kit.clock import Clock, system_clock
from tidings.kit.db import create_db_engine, session_factory
from tidings.kit.ratelimit import RateLimiter
from tidings.settings import Settings


@dataclass
class Runtime:
    """The long-lived objects of one process, built once from its settings."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    rate_limiter: RateLimiter
    clock: Clock = field(default=system_clock)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = system_clock) -> "Runtime":
        """Open the database and build the shared objects for `settings`."""
        engine = create_db_engine(
            settings.database_url,
            synchronous=settings.sqlite_synchronous,
            pool_size=settings.database_pool_size,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            rate_limiter=RateLimiter(settings.rate_limit_per_minute),
            clock=clock,
        )

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The runtime of the app serving a request."""
    runtime: Runtime = connection.app.state.runtime
    return runtime

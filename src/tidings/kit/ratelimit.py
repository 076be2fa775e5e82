"""Per-client request budgets: a sliding one-minute window, kept in memory or in the database.

The window is the sliding-window counter: two counts a client (this minute's and the last
one's), the last one weighted by how much of it still lies inside the sliding minute. Unlike
a fixed window it allows no double burst at a window boundary, and unlike a log of
timestamps it costs the same for a client making one request a minute or a thousand.

With one process the counts live in memory. Several API processes share one budget through
the database (PostgreSQL), on an UNLOGGED table because a budget is worth nothing after a
crash; each process takes the budget in small leases, so most requests never wait for it.
"""

import math
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import BigInteger, Engine, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column
from starlette.concurrency import run_in_threadpool

from tidings.kit.clock import Clock
from tidings.kit.errors import RateLimitExceededError
from tidings.kit.orm import Base

WINDOW_SECONDS = 60


class RateLimitWindow(Base):
    """One client's request count in one minute of the sliding-window counter."""

    __tablename__ = "rate_limit_windows"  # UNLOGGED on PostgreSQL: see migration 0009

    client: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class Counts:
    """A client's requests in the current and the previous window."""

    current: int
    previous: int


class WindowStore(Protocol):
    """Where the counts live; `spend` checks and counts in one atomic step."""

    async def spend(self, client: str, window_index: int, weight: float, limit: int) -> bool:
        """Count a request unless `previous * weight + current + 1` would exceed `limit`."""
        ...

    async def counts(self, client: str, window_index: int) -> Counts:
        """The client's counts for this window and the one before."""
        ...


class MemoryWindowStore:
    """The counts of one process, in a dict (used with SQLite, where there is one process)."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int, int]] = {}  # client -> (index, current, previous)
        self._pruned_at = 0

    def _counts(self, client: str, window_index: int) -> Counts:
        index, current, previous = self._windows.get(client, (window_index, 0, 0))
        if index == window_index:
            return Counts(current, previous)
        return Counts(0, current if index == window_index - 1 else 0)

    async def spend(self, client: str, window_index: int, weight: float, limit: int) -> bool:
        """Count a request unless it would exceed `limit`."""
        if window_index != self._pruned_at:
            self._prune(window_index)
        counts = self._counts(client, window_index)
        if counts.previous * weight + counts.current + 1 > limit:
            return False
        self._windows[client] = (window_index, counts.current + 1, counts.previous)
        return True

    async def counts(self, client: str, window_index: int) -> Counts:
        """The client's counts for this window and the one before."""
        return self._counts(client, window_index)

    def _prune(self, window_index: int) -> None:
        """Forget clients quiet for two windows, so the dict holds only recent callers."""
        self._windows = {
            client: entry for client, entry in self._windows.items() if entry[0] >= window_index - 1
        }
        self._pruned_at = window_index


ENSURE_WINDOW = text(
    "INSERT INTO rate_limit_windows (client, window_index, hits) "
    "VALUES (:client, :window_index, 0) ON CONFLICT (client, window_index) DO NOTHING"
)
LOCK_WINDOW = text(
    "SELECT hits FROM rate_limit_windows "
    "WHERE client = :client AND window_index = :window_index FOR UPDATE"
)
PREVIOUS_WINDOW = text(
    "SELECT hits FROM rate_limit_windows "
    "WHERE client = :client AND window_index = :window_index - 1"
)
ADD_HITS = text(
    "UPDATE rate_limit_windows SET hits = hits + :granted "
    "WHERE client = :client AND window_index = :window_index"
)
COUNTS = text(
    "SELECT window_index, hits FROM rate_limit_windows "
    "WHERE client = :client AND window_index IN (:window_index, :window_index - 1)"
)
PRUNE = text("DELETE FROM rate_limit_windows WHERE window_index < :window_index - 1")
# The share of a budget an API process takes from the database at once (at least 1 request).
LEASE_SHARE = 0.02


@dataclass
class Lease:
    """Requests a process took from a client's budget for one window and has yet to spend."""

    window_index: int
    left: int


class DatabaseWindowStore:
    """The counts in the database, shared by every process that uses it.

    A process takes a client's budget in leases of LEASE_SHARE of it (20 of 1,000) and spends
    them in memory, so most requests cost no database round trip. Leases are counted as spent
    when taken, so processes together never let more through than the budget; a process's
    unspent lease is lost to the others until the window ends (at most one lease each).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pruned_at = 0
        self._leases: dict[str, Lease] = {}

    async def spend(self, client: str, window_index: int, weight: float, limit: int) -> bool:
        """Count a request unless it would exceed `limit`, atomically across processes."""
        lease = self._leases.get(client)
        if lease is None or lease.window_index != window_index or lease.left == 0:
            if window_index != self._pruned_at:
                self._leases = {
                    name: held
                    for name, held in self._leases.items()
                    if held.window_index == window_index
                }
            block = max(1, int(limit * LEASE_SHARE))
            granted = await run_in_threadpool(
                self._take, client, window_index, weight, limit, block
            )
            lease = self._leases[client] = Lease(window_index, granted)
        if lease.left == 0:
            return False
        lease.left -= 1
        return True

    def _take(self, client: str, window_index: int, weight: float, limit: int, block: int) -> int:
        """Take up to `block` requests of the client's budget; how many it got."""
        key = {"client": client, "window_index": window_index}
        with self._engine.begin() as connection:
            if window_index != self._pruned_at:
                connection.execute(PRUNE, {"window_index": window_index})
                self._pruned_at = window_index
            connection.execute(ENSURE_WINDOW, key)
            # The row lock makes processes take turns: each sees the hits the last one added.
            current = int(connection.scalar(LOCK_WINDOW, key) or 0)
            previous = int(connection.scalar(PREVIOUS_WINDOW, key) or 0)
            granted = min(block, math.floor(limit - current - previous * weight + 1e-9))
            if granted < 1:
                return 0
            connection.execute(ADD_HITS, key | {"granted": granted})
            return granted

    async def counts(self, client: str, window_index: int) -> Counts:
        """The client's counts for this window and the one before."""
        return await run_in_threadpool(self._counts, client, window_index)

    def _counts(self, client: str, window_index: int) -> Counts:
        with self._engine.connect() as connection:
            rows = connection.execute(COUNTS, {"client": client, "window_index": window_index})
            hits = {int(index): int(count) for index, count in rows}
        return Counts(hits.get(window_index, 0), hits.get(window_index - 1, 0))


def seconds_until_admitted(counts: Counts, elapsed: float, limit: int) -> float:
    """How long until one more request fits, `elapsed` seconds into the current window."""
    fraction = elapsed / WINDOW_SECONDS
    if counts.current + 1 <= limit:
        # Within this window: wait until enough of the previous one has slid out.
        needed = 1 - (limit - counts.current - 1) / counts.previous if counts.previous else 0
        return max(0.0, needed - fraction) * WINDOW_SECONDS
    # Only the next window can take it, with this window's count as its previous one.
    needed = 1 - (limit - 1) / counts.current
    return (1 - fraction + max(0.0, needed)) * WINDOW_SECONDS


class RateLimiter:
    """`per_minute` requests per client in any sliding minute, counted in `store`."""

    def __init__(self, per_minute: int, store: WindowStore, clock: Clock) -> None:
        self._limit = per_minute
        self._store = store
        self._clock = clock

    async def spend(self, client: str) -> None:
        """Count one request by `client`, or raise with the seconds until it may retry."""
        now = self._clock().timestamp()
        window_index = math.floor(now / WINDOW_SECONDS)
        elapsed = now - window_index * WINDOW_SECONDS
        weight = 1 - elapsed / WINDOW_SECONDS
        if await self._store.spend(client, window_index, weight, self._limit):
            return
        counts = await self._store.counts(client, window_index)
        raise RateLimitExceededError(seconds_until_admitted(counts, elapsed, self._limit))


def rate_limiter_for(engine: Engine, per_minute: int, clock: Clock) -> RateLimiter:
    """A limiter shared through PostgreSQL by every API process, or in memory on SQLite."""
    if engine.dialect.name == "postgresql":
        return RateLimiter(per_minute, DatabaseWindowStore(engine), clock)
    return RateLimiter(per_minute, MemoryWindowStore(), clock)

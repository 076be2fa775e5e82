"""Per-client request budgets: a token bucket decided by pyrate-limiter, in memory or shared.

The policy is the library's GCRA with one `Rate(per_minute, Duration.MINUTE)`: a bucket of
`per_minute` requests that refills at `per_minute` a minute. A quiet client may spend its
whole budget at once and then as fast as it refills; a client that paces itself with a token
bucket of the same size and rate is never refused by one process. The library decides each
request (`StateAlgorithm.step`) and says how long a refused one waits (`Decision`); time is
our injectable clock, read as the library reads it (epoch milliseconds).

A clock that goes back (a host's clock set right, or a test) leaves a state owing more than
a whole bucket, which would refuse the client for as long as the clock went back: such a
state is taken for a new client's instead, a forgiveness like that of a restart.

With one process (SQLite) each client's state is the library's `InMemoryStateStore`.
Several API processes (PostgreSQL) share one state per client in a row of the UNLOGGED table
`rate_limit_buckets` (a budget is worth nothing after a crash), through `PostgresStateStore`,
which applies the library's step under a row lock.

So that most requests cost no database round trip, a process takes a client's units in
leases, one `step` with the lease's size as weight, and spends them in memory. A lease is
sized by the demand the process saw (1 unit at first, twice the last one when that ran out
while valid, what the last one served when it expired; at most LEASE_SHARE of the budget),
and a unit is spendable for LEASE_SECONDS only. The bound: every request let through was
taken from the bucket at most LEASE_SECONDS before, so in any interval of T seconds all
processes together let through at most what the token bucket admits in T + LEASE_SECONDS,

    per_minute + per_minute * T / 60 + per_minute * LEASE_SECONDS / 60,

that is at most `per_minute * LEASE_SECONDS / 60` (17 at 1,000 a minute) beyond the library's
own bound for T, however many processes there are (given that their clocks agree). The
other way round, units that expire unspent are lost to the client, which is why leases are
sized by demand rather than fixed: a fixed lease of 20 units taken for each request of a
client polling once a second would waste 19 a second, more than the 16.7 that refill, and
leave the client a fraction of its burst. A lease is at most twice what the process served
the client from the lease before (or 1), so a client whose demand holds steady wastes
next to nothing.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Protocol

from pyrate_limiter import (
    GCRA,
    AbstractClock,
    Decision,
    Duration,
    InMemoryStateStore,
    Rate,
    StateAlgorithm,
    StateStore,
    WallClock,
)
from sqlalchemy import BigInteger, Engine, String, text
from sqlalchemy.orm import Mapped, mapped_column
from starlette.concurrency import run_in_threadpool

from tidings.kit.clock import Clock
from tidings.kit.errors import RateLimitExceededError
from tidings.kit.orm import EPOCH, ONE_MILLISECOND, Base

# Stateless, so one instance serves every client and thread.
ALGORITHM: StateAlgorithm = GCRA()
ADMITTED = Decision()
# The largest lease: the share of a budget a process takes from the database at once.
LEASE_SHARE = 0.02
LEASE_SECONDS = 1
# How often a process forgets the clients whose bucket is full again (and prunes the table).
FORGET_EVERY_MS = 60_000


class RateLimitBucket(Base):
    """One client's token bucket, shared by every API process (PostgreSQL)."""

    __tablename__ = "rate_limit_buckets"  # UNLOGGED on PostgreSQL: see migration 0013

    client: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The library's state, opaque to us: for GCRA the theoretical arrival time in epoch µs.
    state: Mapped[str] = mapped_column(String(200))
    # Epoch ms from which the state is as good as a new client's, so the row may go.
    expires_at: Mapped[int] = mapped_column(BigInteger)


def minute_rates(per_minute: int) -> list[Rate]:
    """The library's rates for `per_minute` requests a minute, with a burst of as many."""
    if per_minute < 1:
        raise ValueError(f"the rate limit must be at least 1 request per minute, not {per_minute}")
    return [Rate(per_minute, Duration.MINUTE)]


class MillisecondClock(AbstractClock):
    """Our injectable clock as the library reads time: whole milliseconds since the epoch."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> int:
        """The clock's instant in epoch milliseconds."""
        return (self._clock() - EPOCH) // ONE_MILLISECOND


def owes_more_than_a_bucket(
    algorithm: StateAlgorithm, rates: list[Rate], state: tuple[float, ...], now: int
) -> bool:
    """Whether `state` owes more than a whole bucket at `now`: only a clock gone back does."""
    return algorithm.consumed(rates, state, now) > max(rate.burst for rate in rates)


def _due(last: int, now: int) -> bool:
    # Also when the clock went back, or nothing would be forgotten until it caught up.
    return not 0 <= now - last < FORGET_EVERY_MS


def _decided(outcome: object) -> Decision:
    # The stores used here are synchronous; the library's signatures allow awaitables too.
    assert isinstance(outcome, Decision)
    return outcome


class Budgets(Protocol):
    """Where clients' buckets live; `take` spends one request of `client` at `now` (epoch ms)."""

    async def take(self, client: str, now: int) -> Decision:
        """The library's decision on one more request by `client`."""
        ...


class LocalBudgets:
    """The buckets of one process, one InMemoryStateStore a client (SQLite: one process)."""

    def __init__(self, per_minute: int) -> None:
        self._rates = minute_rates(per_minute)
        self._stores: dict[str, StateStore] = {}
        self._forgotten_at = 0

    def __len__(self) -> int:
        """How many clients it remembers."""
        return len(self._stores)

    async def take(self, client: str, now: int) -> Decision:
        """The library's decision on one more request by `client`."""
        if _due(self._forgotten_at, now):
            self._forget_full_buckets(now)
        store = self._stores.get(client)
        if store is None:
            store = self._stores[client] = InMemoryStateStore()
        elif owes_more_than_a_bucket(ALGORITHM, self._rates, self._state(store), now):
            store.reset()
        return _decided(store.check(ALGORITHM, self._rates, now, 1))

    def _state(self, store: StateStore) -> tuple[float, ...]:
        state = store.read(ALGORITHM, self._rates)
        assert isinstance(state, tuple)  # the in-memory store answers at once
        return state

    def _forget_full_buckets(self, now: int) -> None:
        """Drop clients whose bucket is full again: a new client's bucket is the same."""
        self._stores = {
            client: store
            for client, store in self._stores.items()
            if ALGORITHM.consumed(self._rates, self._state(store), now)
        }
        self._forgotten_at = now


def _encode(state: Sequence[float]) -> str:
    return " ".join(str(value) for value in state)


def settled_after_ms(rates: Sequence[Rate]) -> int:
    """How long until a bucket emptied now is full again (twice, as the library's Redis store
    keeps its state): a state older than that is a new client's."""
    return max(ceil(2 * rate.burst * rate.interval / rate.limit) for rate in rates)


# ON CONFLICT DO UPDATE locks the existing row, so one statement both creates and locks it.
LOCK_BUCKET = text(
    "INSERT INTO rate_limit_buckets (client, state, expires_at) VALUES (:client, :state, 0) "
    "ON CONFLICT (client) DO UPDATE SET expires_at = rate_limit_buckets.expires_at "
    "RETURNING state"
)
SAVE_BUCKET = text(
    "UPDATE rate_limit_buckets SET state = :state, expires_at = :expires_at WHERE client = :client"
)
READ_BUCKET = text("SELECT state FROM rate_limit_buckets WHERE client = :client")
FORGET_BUCKET = text("DELETE FROM rate_limit_buckets WHERE client = :client")
# SKIP LOCKED: a row being spent is not settled, and the prune never waits for it.
PRUNE_BUCKETS = text(
    "DELETE FROM rate_limit_buckets WHERE client IN (SELECT client FROM rate_limit_buckets "
    "WHERE expires_at < :now FOR UPDATE SKIP LOCKED)"
)


class PostgresStateStore(StateStore):
    """One client's state in a row of `rate_limit_buckets`, shared by every process."""

    is_async = False
    # Processes on several hosts share the state: a monotonic clock means nothing there.
    default_clock: AbstractClock = WallClock()

    def __init__(self, engine: Engine, client: str) -> None:
        self._engine = engine
        self._client = client

    def check(
        self, algorithm: StateAlgorithm, rates: list[Rate], now: int, weight: int
    ) -> Decision:
        """Apply `algorithm.step` to the stored state, atomically across processes."""
        return self.check_any(algorithm, rates, now, (weight,))[1]

    def check_any(
        self, algorithm: StateAlgorithm, rates: list[Rate], now: int, weights: Sequence[int]
    ) -> tuple[int, Decision]:
        """Apply `algorithm.step` with the first of `weights` it admits, in one transaction:
        that weight (0 if none) and the decision (for the last weight when none fits)."""
        if not weights:
            raise ValueError("no weight to check")
        with self._engine.begin() as connection:
            stored = connection.execute(
                LOCK_BUCKET, {"client": self._client, "state": _encode(algorithm.initial(rates))}
            ).scalar_one()
            state = algorithm.decode(stored.split())
            if len(state) != len(rates) or owes_more_than_a_bucket(algorithm, rates, state, now):
                state = algorithm.initial(rates)  # the rates changed, or the clock went back
            for weight in weights:
                advanced, decision = algorithm.step(rates, state, now, weight)
                if decision.allowed:
                    expires_at = now + settled_after_ms(rates)
                    saved = {"client": self._client, "state": _encode(advanced)}
                    connection.execute(SAVE_BUCKET, saved | {"expires_at": expires_at})
                    return weight, decision
        return 0, decision

    def read(self, algorithm: StateAlgorithm, rates: list[Rate]) -> tuple[float, ...]:
        """The stored state (for reporting only)."""
        with self._engine.connect() as connection:
            stored = connection.execute(READ_BUCKET, {"client": self._client}).scalar()
        return algorithm.initial(rates) if stored is None else algorithm.decode(stored.split())

    def reset(self) -> None:
        """Forget the client, as though it had never made a request."""
        with self._engine.begin() as connection:
            connection.execute(FORGET_BUCKET, {"client": self._client})


def prune_buckets(engine: Engine, now: int) -> None:
    """Delete the rows whose state is a new client's by `now` (epoch ms)."""
    with engine.begin() as connection:
        connection.execute(PRUNE_BUCKETS, {"now": now})


@dataclass
class Lease:
    """Units a process took from a client's bucket and may spend until `expires_at` (ms)."""

    size: int = 0
    left: int = 0
    expires_at: int = 0

    def spend(self, now: int) -> bool:
        """Spend one unit, if one is left and still valid."""
        if self.left < 1 or now >= self.expires_at:
            return False
        self.left -= 1
        return True

    def next_size(self, now: int, largest: int) -> int:
        """The size of the lease after this one: the demand this one saw."""
        if self.size == 0:
            return 1
        if now < self.expires_at:  # spent before it expired: the demand outgrew it
            return min(largest, self.size * 2)
        return max(1, self.size - self.left)


class _ClientLease:
    """A client's lease in one process, and the lock of whoever renews it."""

    def __init__(self, store: PostgresStateStore) -> None:
        self.store = store
        self.lease = Lease()
        # Held by a worker thread while it renews the lease, so concurrent requests of the
        # client wait for that lease instead of each taking (and wasting) one.
        self.renewing = threading.Lock()


class SharedBudgets:
    """The buckets in PostgreSQL, shared by every API process, spent through leases."""

    def __init__(self, engine: Engine, per_minute: int) -> None:
        self._engine = engine
        self._rates = minute_rates(per_minute)
        self._largest_lease = max(1, int(per_minute * LEASE_SHARE))
        self._clients: dict[str, _ClientLease] = {}
        self._forgotten_at = 0

    async def take(self, client: str, now: int) -> Decision:
        """The library's decision on one more request by `client`."""
        if _due(self._forgotten_at, now):
            await self._forget(now)
        entry = self._clients.get(client)
        if entry is None:
            entry = self._clients[client] = _ClientLease(PostgresStateStore(self._engine, client))
        if entry.renewing.acquire(blocking=False):
            try:
                if entry.lease.spend(now):
                    return ADMITTED
            finally:
                entry.renewing.release()
        return await run_in_threadpool(self._renew, entry, now)

    def _renew(self, entry: _ClientLease, now: int) -> Decision:
        """Spend from a lease renewed meanwhile, or take a new one (in a worker thread)."""
        with entry.renewing:
            if entry.lease.spend(now):
                return ADMITTED
            size = entry.lease.next_size(now, self._largest_lease)
            # When the bucket holds less than a lease, one request still gets through.
            weights = (size, 1) if size > 1 else (1,)
            granted, decision = entry.store.check_any(ALGORITHM, self._rates, now, weights)
            if granted:
                entry.lease = Lease(granted, granted - 1, now + LEASE_SECONDS * 1000)
            return decision

    async def _forget(self, now: int) -> None:
        """Drop expired leases here and settled buckets from the table."""
        self._forgotten_at = now
        self._clients = {
            client: entry
            for client, entry in self._clients.items()
            if entry.renewing.locked() or entry.lease.expires_at > now
        }
        await run_in_threadpool(prune_buckets, self._engine, now)


class RateLimiter:
    """A budget of requests per client, refilling with `clock`; the library decides."""

    def __init__(self, budgets: Budgets, clock: Clock) -> None:
        self._budgets = budgets
        self._clock = MillisecondClock(clock)

    async def spend(self, client: str) -> None:
        """Spend one request of `client`, or raise with the seconds until it may retry."""
        decision = await self._budgets.take(client, self._clock.now())
        if decision.allowed:
            return
        # None only for a weight that can never fit, which one request never is.
        wait_ms = decision.retry_after_ms if decision.retry_after_ms is not None else 0
        raise RateLimitExceededError(wait_ms / 1000)


def rate_limiter_for(engine: Engine, per_minute: int, clock: Clock) -> RateLimiter:
    """A limiter shared through PostgreSQL by every API process, or in memory on SQLite."""
    if engine.dialect.name == "postgresql":
        return RateLimiter(SharedBudgets(engine, per_minute), clock)
    return RateLimiter(LocalBudgets(per_minute), clock)

"""Engines and sessions for SQLite and PostgreSQL, tuned for each."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

SQLITE_BUSY_TIMEOUT_MS = 10_000


class fold(GenericFunction[str]):
    """Lower-case text for case-insensitive matching beyond ASCII.

    PostgreSQL's lower() folds every letter; SQLite's folds ASCII only, so on SQLite this
    calls Python's str.lower, registered on each connection as `tidings_fold`.
    """

    type = String()
    name = "tidings_fold"
    inherit_cache = True


@compiles(fold, "postgresql")
def _fold_on_postgresql(element: fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


class wire_instant(GenericFunction[str]):
    """An instant column as the API prints it, `2025-06-28T19:23:14.615Z`, made by the database.

    Formatting three dates a row in Python cost more than fetching the row; the databases
    do it in C. SQLite stores epoch milliseconds (see kit.orm.UtcDateTime).
    """

    type = String()
    name = "wire_instant"
    inherit_cache = True


@compiles(wire_instant, "sqlite")
def _wire_instant_on_sqlite(element: wire_instant, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%dT%H:%M:%fZ', ({column}) / 1000.0, 'unixepoch')"


@compiles(wire_instant, "postgresql")
def _wire_instant_on_postgresql(element: wire_instant, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"""to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def _postgresql_engine(url: str, pool_size: int) -> Engine:
    # LIFO: a request gets the connection used last, whose prepared statements are warm
    # (see `reading`); the rest idle, rather than each serving a share of the requests.
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_use_lifo=True
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # psycopg prepares a statement run five times; PostgreSQL would then plan it once for
        # all values after five more runs if its estimates allow. One plan for every page of
        # a filter (OFFSET 0 and 17,500 alike) read deep pages up to twice as slowly in
        # benchmarks/api_latency.py as a plan for each.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()

    return engine


def planned_generically(connection: Connection) -> None:
    """Let PostgreSQL plan the prepared statements of the rest of this transaction once for
    all values: for a statement whose best plan does not depend on them and whose planning
    costs as much as its run (a search's: 7 ms of 20 at ten million logs)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")


def _python_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


# Per SQLite connection: the page cache, and how much of the file is read through mmap.
READER_CACHE_KIB = 65_536
READER_MMAP_BYTES = 268_435_456


def create_db_engine(
    url: str,
    *,
    synchronous: str = "NORMAL",
    pool_size: int = 10,
    cache_kib: int = READER_CACHE_KIB,
    mmap_bytes: int = READER_MMAP_BYTES,
) -> Engine:
    """An engine for `url`; SQLite files get WAL, a busy timeout and enforced foreign keys,
    and `cache_kib` of page cache and `mmap_bytes` of mapped file per connection;
    PostgreSQL plans each run of a prepared statement for its values (`planned_generically`
    says when not)."""
    if make_url(url).get_backend_name() != "sqlite":
        return _postgresql_engine(url, pool_size)

    _prepare_sqlite_file(url)
    # Each SQLite connection has its own page cache: handing out the connection used last
    # (LIFO) keeps reads on a warm cache instead of cycling through every cold one.
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_use_lifo=True)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers (the API) run while a writer (the engine, the generator) commits.
        cursor = dbapi_connection.cursor()
        # Only takes effect on a new, empty file: 16 KiB pages make the log indexes shallower
        # and bulk inserts faster than the 4 KiB default.
        cursor.execute("PRAGMA page_size=16384")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        cursor.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()
        dbapi_connection.create_function("tidings_fold", 1, _python_lower, deterministic=True)

    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads whose transaction ends with COMMIT unless the reads fail.

    Ending it with ROLLBACK (what closing an open transaction does) makes psycopg forget the
    statements it has prepared, and PostgreSQL would plan every statement of every request
    again: 7 ms for a search at 10 million logs, more than half the time it then runs.
    """
    with engine.connect() as connection:
        yield connection
        connection.commit()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A factory of sessions bound to `engine` that keep objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)

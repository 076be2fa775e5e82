"""Where the API's reads run (kit.reads): on the event loop when idle and cheap, on reader
threads otherwise, and never slower than a deadline on the loop."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from tidings.kit.db import create_db_engine, reading
from tidings.kit.pagination import PageRequest
from tidings.kit.reads import Reads
from tidings.logs.filters import RunFilter
from tidings.logs.repository import fetch_searched_runs

# Counting to three million in SQL takes a second or more: far past any deadline below.
SLOW_COUNT = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
    "SELECT count(*) FROM n"
)
QUICK_COUNT = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
QUICK_COUNT += "SELECT count(*) FROM n"


@contextmanager
def reads_of(url: str, inline_deadline_s: float | None, pool_size: int = 10) -> Iterator[Reads]:
    """The reads of a new engine on `url`, closed with it afterwards."""
    engine = create_db_engine(url, pool_size=pool_size)
    reads = Reads(engine, inline_deadline_s=inline_deadline_s)
    try:
        yield reads
    finally:
        reads.close()
        engine.dispose()


@pytest.fixture
def sqlite_reads(tmp_path: Path) -> Iterator[Reads]:
    with reads_of(f"sqlite:///{tmp_path / 'reads.db'}", 0.05) as reads:
        yield reads


def where_and_what(statement: str) -> tuple[list[str], Callable[[Connection], int]]:
    """A read that answers `statement`'s one value, and the threads it ran on."""
    threads: list[str] = []

    def read(connection: Connection) -> int:
        threads.append(threading.current_thread().name)
        value: int = connection.execute(text(statement)).scalar_one()
        return value

    return threads, read


class TestWhereReadsRun:
    def test_a_cheap_read_on_an_idle_loop_runs_on_the_loops_own_thread(
        self, sqlite_reads: Reads
    ) -> None:
        threads, read = where_and_what(QUICK_COUNT)

        async def main() -> int:
            return await sqlite_reads.run(read, cheap=True)

        assert asyncio.run(main()) == 100
        assert threads == [threading.current_thread().name]

    def test_a_read_not_known_to_be_cheap_runs_on_a_reader_thread(
        self, sqlite_reads: Reads
    ) -> None:
        threads, read = where_and_what(QUICK_COUNT)

        assert asyncio.run(sqlite_reads.run(read)) == 100
        assert threads[0].startswith("tidings-read")

    def test_while_another_read_is_under_way_even_a_cheap_one_runs_on_a_reader_thread(
        self, sqlite_reads: Reads
    ) -> None:
        release = threading.Event()

        def held(connection: Connection) -> None:
            release.wait(10)

        threads, read = where_and_what(QUICK_COUNT)

        async def main() -> int:
            holding = asyncio.ensure_future(sqlite_reads.run(held))
            await asyncio.sleep(0.05)  # the held read is under way on its thread
            answer = await sqlite_reads.run(read, cheap=True)
            release.set()
            await holding
            return answer

        assert asyncio.run(main()) == 100
        assert threads[0].startswith("tidings-read")

    def test_with_no_inline_deadline_set_even_a_cheap_read_runs_on_a_reader_thread(
        self, tmp_path: Path
    ) -> None:
        with reads_of(f"sqlite:///{tmp_path / 'reads.db'}", None) as reads:
            # TIDINGS_INLINE_READ_MS=0
            threads, read = where_and_what(QUICK_COUNT)
            assert asyncio.run(reads.run(read, cheap=True)) == 100
        assert threads[0].startswith("tidings-read")

    def test_postgresql_reads_always_run_on_reader_threads(self, postgres_url: str) -> None:
        with reads_of(postgres_url, 0.05) as reads:
            threads, read = where_and_what("SELECT 100")
            assert asyncio.run(reads.run(read, cheap=True)) == 100
        assert threads[0].startswith("tidings-read")


class TestTheDeadline:
    def test_a_read_past_its_deadline_is_interrupted_and_finishes_on_a_reader_thread(
        self, tmp_path: Path
    ) -> None:
        with reads_of(f"sqlite:///{tmp_path / 'reads.db'}", 0.02) as reads:
            loop_threads: list[str] = []
            threads, read = where_and_what(SLOW_COUNT)

            async def main() -> int:
                loop_threads.append(threading.current_thread().name)
                return await reads.run(read, cheap=True)

            assert asyncio.run(main()) == 3_000_000
        assert threads[0] == loop_threads[0]
        assert threads[1].startswith("tidings-read")
        assert reads.moved_to_threads == 1

    def test_the_loop_is_free_again_within_the_deadline(self, tmp_path: Path) -> None:
        with reads_of(f"sqlite:///{tmp_path / 'reads.db'}", 0.02) as reads:
            _, read = where_and_what(SLOW_COUNT)
            ticks: list[float] = []

            async def ticker() -> None:
                loop = asyncio.get_running_loop()
                for _ in range(20):
                    ticks.append(loop.time())
                    await asyncio.sleep(0.01)

            async def main() -> None:
                ticking = asyncio.ensure_future(ticker())
                await asyncio.sleep(0.015)
                await reads.run(read, cheap=True)
                await ticking

            asyncio.run(main())
        # The slow read held the loop for its deadline only, not the seconds it took.
        longest_gap = max(later - earlier for earlier, later in pairwise(ticks))
        assert longest_gap < 0.5

    def test_an_error_of_the_read_itself_is_raised_where_it_happened(
        self, sqlite_reads: Reads
    ) -> None:
        threads, read = where_and_what("SELECT * FROM no_such_table")

        with pytest.raises(OperationalError, match="no such table"):
            asyncio.run(sqlite_reads.run(read, cheap=True))
        assert threads == [threading.current_thread().name]
        assert sqlite_reads.moved_to_threads == 0

    def test_after_an_interrupted_read_the_connection_serves_the_next_read(
        self, tmp_path: Path
    ) -> None:
        with reads_of(f"sqlite:///{tmp_path / 'reads.db'}", 0.02, pool_size=1) as reads:
            _, slow = where_and_what(SLOW_COUNT)
            quick_threads, quick = where_and_what(QUICK_COUNT)

            async def main() -> int:
                await reads.run(slow, cheap=True)
                return await reads.run(quick, cheap=True)

            assert asyncio.run(main()) == 100
        assert quick_threads == [threading.current_thread().name]


def prepared_statements(connection: Connection) -> int:
    statements = connection.execute(text("SELECT count(*) FROM pg_prepared_statements"))
    count: int = statements.scalar_one()
    return count


def create_scratch_table_and_fail(engine: Engine) -> None:
    with reading(engine) as connection:
        connection.execute(text("CREATE TEMPORARY TABLE scratch (n int)"))
        raise ZeroDivisionError


class TestPreparedStatements:
    """psycopg prepares a statement run five times on a connection, sparing PostgreSQL the
    planning of its later runs, but forgets them all when a transaction rolls back."""

    def test_postgresql_requests_keep_their_prepared_statements(self, postgres_url: str) -> None:
        with reads_of(postgres_url, None, pool_size=1) as reads:
            _, read = where_and_what("SELECT count(*) FROM pg_class WHERE relpages >= 0")
            for _ in range(6):
                asyncio.run(reads.run(read))

            assert asyncio.run(reads.run(prepared_statements)) == 1

    def test_a_failed_read_rolls_back(self, postgres_url: str) -> None:
        engine = create_db_engine(postgres_url, pool_size=1)
        try:
            with pytest.raises(ZeroDivisionError):
                create_scratch_table_and_fail(engine)
            with reading(engine) as connection:
                scratch = connection.execute(text("SELECT to_regclass('pg_temp.scratch')"))
                assert scratch.scalar_one() is None
        finally:
            engine.dispose()

    def test_postgresql_plans_each_run_for_its_values(self, postgres_url: str) -> None:
        engine = create_db_engine(postgres_url)
        try:
            with reading(engine) as connection:
                mode = connection.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
        finally:
            engine.dispose()

        assert mode == "force_custom_plan"

    def test_a_search_is_planned_once_for_every_query(self, postgres_url: str) -> None:
        engine = create_db_engine(postgres_url, pool_size=1)
        page = PageRequest()
        try:
            for query in ("pay", "jobs", "stream", "Ärger", "payments", "queue", "late"):
                with reading(engine) as connection:
                    fetch_searched_runs(connection, RunFilter(search_query=query), page)
            with reading(engine) as connection:
                plans = connection.execute(
                    text("SELECT sum(generic_plans), sum(custom_plans) FROM pg_prepared_statements")
                ).one()
        finally:
            engine.dispose()

        generic, custom = plans
        # psycopg prepared the ASCII queries' statement after a few runs; every run since
        # used the one plan.
        assert generic >= 1
        assert custom == 0

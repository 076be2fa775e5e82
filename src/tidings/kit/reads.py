"""Where the API's blocking reads run: on the event loop's own thread when that costs nobody
anything, otherwise on a pool of reader threads.

Handing a read to a thread and back costs four thread wake-ups (the reader, the GIL, the
loop, the GIL again): about 0.3 ms on an idle two-core virtual machine and three times that
when its host is busy, against SQLite page reads of 2 to 5 ms. So on SQLite a read runs on the
loop itself when no other read is on a thread and it looks cheap (a page near the start, no
free-text search), under a deadline that SQLite's progress handler enforces: past the deadline
the statement is interrupted and the read starts again on a reader thread. A request arriving
meanwhile waits at most that long, and requests arriving together are read one after another.
That serves concurrent clients better than threads, whose reads are mostly Python contending
for the GIL (benchmarks/read_concurrency.py at 1M logs: 4 clients got 160 requests/s against
103 on threads, 16 clients 81 against 65). While a read is on a thread (a deep page, a
search, one past its deadline, the admin page's), the others join it there. PostgreSQL
reads, which wait on the network, always run on threads.
"""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from tidings.kit.db import reading

T = TypeVar("T")

READER_THREADS = 16
# SQLite virtual-machine instructions between two looks at the clock: tens of microseconds.
PROGRESS_STEPS = 2_000


class PastDeadlineError(Exception):
    """An inline read was interrupted at its deadline (internal: the read moves to a thread)."""


class Reads:
    """Runs the reads of one engine, inline or on reader threads (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        inline_deadline_s: float | None,
        threads: int = READER_THREADS,
    ) -> None:
        self._engine = engine
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tidings-read")
        inline = engine.dialect.name == "sqlite" and inline_deadline_s is not None
        self._inline_deadline_s = inline_deadline_s if inline else None
        self._under_way = 0
        self.moved_to_threads = 0  # inline reads that ran past their deadline

    async def run(self, read: Callable[[Connection], T], *, cheap: bool = False) -> T:
        """`read` on a connection of the engine; inline when idle and `cheap`, else threaded."""
        # An inline read holds the loop, so nothing can start meanwhile: only reads on
        # threads are counted as under way.
        if cheap and self._inline_deadline_s is not None and self._under_way == 0:
            try:
                return self._inline(read, self._inline_deadline_s)
            except PastDeadlineError:
                self.moved_to_threads += 1
        return await self.in_thread(lambda: self._threaded(read))

    async def in_thread(self, work: Callable[[], T]) -> T:
        """Any other blocking read (it opens its own connections) on a reader thread."""
        self._under_way += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        finally:
            self._under_way -= 1

    def close(self) -> None:
        """Stop the reader threads once the reads under way end."""
        self._pool.shutdown(wait=True)

    def _threaded(self, read: Callable[[Connection], T]) -> T:
        with reading(self._engine) as connection:
            return read(connection)

    def _inline(self, read: Callable[[Connection], T], deadline_s: float) -> T:
        deadline = time.perf_counter() + deadline_s
        interrupted = False

        def past_deadline() -> bool:
            nonlocal interrupted
            interrupted = time.perf_counter() > deadline
            return interrupted

        with self._engine.connect() as connection:
            sqlite = connection.connection.driver_connection
            assert sqlite is not None
            sqlite.set_progress_handler(past_deadline, PROGRESS_STEPS)
            try:
                return read(connection)
            except DBAPIError as error:
                if interrupted:
                    raise PastDeadlineError from error
                raise
            finally:
                sqlite.set_progress_handler(None, PROGRESS_STEPS)

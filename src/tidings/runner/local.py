"""The embedded runner: one background thread of this process works through run ids.

Used with SQLite and on a laptop. It keeps no state of its own worth losing: on start it
queues every run still CREATED, so a crash or restart resumes where the store says.
"""

import asyncio
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

RunProcessor = Callable[[int], Awaitable[object]]
PendingRuns = Callable[[], Sequence[int]]


class LocalRunner:
    """Processes runs one after another on a thread with its own event loop."""

    def __init__(self, process: RunProcessor, pending: PendingRuns) -> None:
        self._process = process
        self._pending = pending
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._busy = threading.Condition()
        self._in_hand = 0

    def start(self) -> None:
        """Start the thread; it first queues every unfinished run."""
        if self._thread is not None:
            return
        with self._busy:
            self._in_hand += 1  # the resumption itself, so wait_idle waits for it too
        self._thread = threading.Thread(target=self._work, name="tidings-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Let the run in hand finish, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None

    def submit_runs(self, run_ids: Sequence[int]) -> None:
        """Queue runs for processing."""
        with self._busy:
            self._in_hand += len(run_ids)
        for run_id in run_ids:
            self._queue.put(run_id)

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued run is processed."""
        with self._busy:
            return self._busy.wait_for(lambda: self._in_hand == 0, timeout)

    def _work(self) -> None:
        asyncio.run(self._loop())

    def _resume(self) -> None:
        try:
            self.submit_runs(self._pending())
        except Exception:  # e.g. a store not migrated yet: serve anyway, say why nothing runs
            log.exception("could not look up unfinished runs; none were resumed")
        finally:
            with self._busy:
                self._in_hand -= 1
                self._busy.notify_all()

    async def _loop(self) -> None:
        self._resume()
        while True:
            run_id = await asyncio.to_thread(self._queue.get)
            if run_id is None:
                return
            try:
                await self._process(run_id)
            except Exception:  # the run stays CREATED and is retried at the next start
                log.exception("processing run %s failed", run_id)
            finally:
                with self._busy:
                    self._in_hand -= 1
                    self._busy.notify_all()

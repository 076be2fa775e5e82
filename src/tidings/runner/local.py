"""The embedded runner: one background thread of this process works through run ids.

Used with SQLite and on a laptop. It keeps no state of its own worth losing: on start it
queues every run still CREATED, so a crash or restart resumes where the store says. Several
runs are worked on at once (a slow provider must not hold up every other run); a run whose
logs wait for another try is taken up again when the earliest of them is due.
"""

import asyncio
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import uvloop

from tidings.kit.clock import Clock
from tidings.runner.base import Progress

log = logging.getLogger(__name__)

RunProcessor = Callable[[int], Awaitable[Progress]]
PendingRuns = Callable[[], Sequence[int]]
CONCURRENT_RUNS = 8


class LocalRunner:
    """Processes runs on a thread with its own event loop, a few at a time."""

    def __init__(
        self,
        process: RunProcessor,
        pending: PendingRuns,
        clock: Clock,
        concurrency: int = CONCURRENT_RUNS,
        on_stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._process = process
        self._on_stop = on_stop
        self._pending = pending
        self._clock = clock
        self._concurrency = concurrency
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._busy = threading.Condition()
        # Runs queued, in hand or waiting for a later turn: wait_idle waits for all of them.
        self._in_hand = 0
        self._active: set[int] = set()
        self._again: set[int] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    def start(self) -> None:
        """Start the thread; it first queues every unfinished run."""
        if self._thread is not None:
            return
        with self._busy:
            self._in_hand += 1  # the resumption itself, so wait_idle waits for it too
        self._thread = threading.Thread(target=self._work, name="tidings-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Let the runs in hand finish their turn, then stop the thread (runs waiting for a
        later turn stay CREATED in the store and are resumed at the next start)."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None

    def submit_runs(self, run_ids: Sequence[int]) -> None:
        """Queue runs for processing."""
        self._hold(len(run_ids))
        for run_id in run_ids:
            self._queue.put(run_id)

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued run is settled (or stopped waiting for a later turn)."""
        with self._busy:
            return self._busy.wait_for(lambda: self._in_hand == 0, timeout)

    def _hold(self, count: int) -> None:
        with self._busy:
            self._in_hand += count

    def _release(self) -> None:
        with self._busy:
            self._in_hand -= 1
            self._busy.notify_all()

    def _work(self) -> None:
        # uvloop: the mediums' HTTP clients spent about a fifth less CPU per message on it.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(self._loop())

    def _resume(self) -> None:
        try:
            self.submit_runs(self._pending())
        except Exception:  # e.g. a store not migrated yet: serve anyway, say why nothing runs
            log.exception("could not look up unfinished runs; none were resumed")
        finally:
            self._release()

    async def _loop(self) -> None:
        self._resume()
        slots = asyncio.Semaphore(self._concurrency)
        tasks: set[asyncio.Task[None]] = set()
        while True:
            run_id = await asyncio.to_thread(self._queue.get)
            if run_id is None:
                break
            if run_id in self._active:
                # Never two turns of one run at once: it is taken up again after this one.
                self._again.add(run_id)
                self._release()
                continue
            await slots.acquire()
            self._active.add(run_id)
            task = asyncio.create_task(self._turn(run_id, slots))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for timer in self._timers:
            timer.cancel()
        if tasks:
            await asyncio.gather(*tasks)
        if self._on_stop is not None:
            await self._on_stop()  # e.g. close HTTP sessions made on this loop
        with self._busy:
            self._in_hand -= len(self._timers)
            self._timers.clear()
            self._busy.notify_all()

    async def _turn(self, run_id: int, slots: asyncio.Semaphore) -> None:
        resume_at: datetime | None = None
        try:
            resume_at = (await self._process(run_id)).resume_at
        except Exception:  # the run stays CREATED and is retried at the next start
            log.exception("processing run %s failed", run_id)
        finally:
            self._active.discard(run_id)
            slots.release()
        if run_id in self._again:
            self._again.discard(run_id)
            self.submit_runs([run_id])
        if resume_at is None:
            self._release()
        else:
            self._later(run_id, resume_at)

    def _later(self, run_id: int, resume_at: datetime) -> None:
        """Queue the run again when its earliest waiting log is due (still held)."""
        delay = max(0.0, (resume_at - self._clock()).total_seconds())
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self._timers.discard(timer)
            self._queue.put(run_id)

        timer = loop.call_later(delay, requeue)
        self._timers.add(timer)

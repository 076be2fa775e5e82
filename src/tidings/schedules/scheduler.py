"""The periodic jobs of a serving process: the schedule tick and the retention purge.

The thread only decides *when*; what a tick does is `ticks.tick` and `retention.purge`,
which tests call directly with the instants they choose.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from tidings.kit.clock import Clock

log = logging.getLogger(__name__)


class Scheduler:
    """Calls `on_tick(now)` every `interval`, and `on_purge(now)` every `purge_every`."""

    def __init__(
        self,
        on_tick: Callable[[datetime], object],
        on_purge: Callable[[datetime], object],
        clock: Clock,
        interval: timedelta,
        purge_every: timedelta,
    ) -> None:
        self._on_tick = on_tick
        self._on_purge = on_purge
        self._clock = clock
        self._interval = interval
        self._purge_every = purge_every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start ticking on a background thread."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._loop, name="tidings-scheduler", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop after the job in hand."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        last_purge: datetime | None = None
        while not self._stopping.is_set():
            now = self._clock()
            self._guarded("schedule tick", self._on_tick, now)
            if last_purge is None or now - last_purge >= self._purge_every:
                self._guarded("retention purge", self._on_purge, now)
                last_purge = now
            self._stopping.wait(self._interval.total_seconds())

    @staticmethod
    def _guarded(what: str, job: Callable[[datetime], object], now: datetime) -> None:
        try:
            job(now)
        except Exception:  # the next tick tries again; nothing is lost (see ticks.py)
            log.exception("%s failed", what)

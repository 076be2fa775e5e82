"""What an emulator received: the latest items kept in order, and a count of all of them."""

import threading
from collections import deque
from itertools import islice
from typing import Any

from tidings.kit.clock import Clock, system_clock
from tidings.kit.wire import format_instant

# Enough for any test to look back over; a benchmark's flood only keeps this many in memory.
DEFAULT_KEEP = 10_000

Item = dict[str, Any]


class Received:
    """Recorded items, newest last, each numbered by `seq` from 1 since the last clear.

    The emulator's event loop records while tests read from their own thread, so a lock
    guards each operation, and a condition lets a reader wait for items without polling.
    """

    def __init__(self, keep: int = DEFAULT_KEEP, clock: Clock = system_clock) -> None:
        self.clock = clock
        self._items: deque[Item] = deque(maxlen=keep)
        self._total = 0
        self._changed = threading.Condition()

    @property
    def total(self) -> int:
        """How many items were recorded since the last clear, kept or not."""
        return self._total

    def record(self, item: Item) -> Item:
        """Keep an item, led by its `seq` and `received_at`; the oldest goes when full."""
        received_at = format_instant(self.clock())
        with self._changed:
            self._total += 1
            kept = {"seq": self._total, "received_at": received_at, **item}
            self._items.append(kept)
            self._changed.notify_all()
        return kept

    def items(self, since: int = 0) -> list[Item]:
        """The items kept whose `seq` is greater than `since`, oldest first."""
        with self._changed:
            first_kept = self._total - len(self._items) + 1
            return list(islice(self._items, max(0, since - first_kept + 1), None))

    def latest(self, count: int) -> list[Item]:
        """Up to `count` of the newest items, newest first."""
        with self._changed:
            return list(islice(reversed(self._items), count))

    def clear(self) -> None:
        """Forget every item and restart the numbering."""
        with self._changed:
            self._items.clear()
            self._total = 0
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Item]:
        """All items kept once at least `count` were recorded; TimeoutError after `timeout` s."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._total >= count, timeout):
                raise TimeoutError(f"{self._total} items received, expected {count}")
            return list(self._items)

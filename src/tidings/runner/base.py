"""The port between the engine and whatever runs its work.

A job is only a pointer (a run id): the runs and logs tables are the truth, so any runner
can lose its queue and rebuild it from the CREATED runs.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class Progress(Protocol):
    """What a turn of work on a run says: when the run needs its next turn, if it does."""

    @property
    def resume_at(self) -> datetime | None:
        """When the earliest of its logs waiting for another try is due (None: settled)."""
        ...


class Runner(Protocol):
    """Runs engine work in the background."""

    def start(self) -> None:
        """Begin working, first picking up every unfinished run."""
        ...

    def stop(self) -> None:
        """Finish the run in hand and stop."""
        ...

    def submit_runs(self, run_ids: Sequence[int]) -> None:
        """Expand, deliver and settle these runs."""
        ...

    def wait_idle(self, timeout: float) -> bool:
        """Block until no work is queued or in hand; False if `timeout` seconds passed first."""
        ...

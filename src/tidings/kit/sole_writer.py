"""One writing process per SQLite store: a second `tidings serve` on the same file is refused.

SQLite serialises writers inside one file but cannot share work between processes: two
embedded runners would both resume the same unfinished runs and deliver them twice. The lock
is an advisory `flock` on `<store>.lock`; the kernel drops it when the holder dies, even by
SIGKILL, so a crash never leaves the store locked.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url


class StoreInUseError(Exception):
    """Another process already writes to this SQLite store."""


def _lock_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}.lock")


@contextmanager
def sole_writer(database_url: str, role: str) -> Iterator[None]:
    """Hold the store's writer lock while the block runs (nothing to hold on PostgreSQL)."""
    path = _lock_path(database_url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip() or "unknown"
            raise StoreInUseError(
                f"another tidings process ({holder}) already works on the SQLite store "
                f"{path.with_suffix('')}; SQLite allows one at a time: stop it, or move to "
                "PostgreSQL to run several (docs/deployment.md)"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{role}, pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock

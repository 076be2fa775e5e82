"""Database triggers that keep the tallies of runs exact, for SQLite and PostgreSQL.

As for the logs (`tallies`): a daily and an hourly level, each kept by the database in the
transaction of every insert, update and delete of a run. Runs change after they are written
(their status and `delivered_count` move on during delivery), so `delivered` is part of the
key: whether the run delivered at least once, which is what `deliveredOnly` asks.
"""

from typing import Final

from tidings.logs.tallies import MILLIS_PER_DAY, MILLIS_PER_HOUR, Tally

RUN_TALLY_KEY: Final = (
    ("notification_type", "{row}notification_type"),
    ("medium", "{row}medium"),
    ("status", "{row}status"),
    ("ignored_reason", "coalesce({row}ignored_reason, '')"),
    ("failed_reason", "coalesce({row}failed_reason, '')"),
    ("delivered", "{row}delivered_count >= 1"),
)


def _run_tally(table: str, unit: str, unit_millis: int, trigger: str) -> Tally:
    return Tally(
        table=table,
        source="notification_runs",
        unit=unit,
        unit_millis=unit_millis,
        key=RUN_TALLY_KEY,
        trigger=trigger,
        transition="runs",
    )


RUNS_BY_DAY: Final = _run_tally(
    "notification_run_tallies", "day", MILLIS_PER_DAY, "notification_runs_tally"
)
RUNS_BY_HOUR: Final = _run_tally(
    "notification_run_hour_tallies", "hour", MILLIS_PER_HOUR, "notification_runs_hour_tally"
)
RUN_TALLIES: Final = (RUNS_BY_DAY, RUNS_BY_HOUR)


def create_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that installs the run tally triggers (both levels) on `dialect`."""
    return tuple(s for tally in RUN_TALLIES for s in tally.create_statements(dialect))


def drop_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that removes the run tally triggers from `dialect`."""
    return tuple(s for tally in RUN_TALLIES for s in tally.drop_statements(dialect))


def rebuild_statements(dialect: str) -> tuple[str, ...]:
    """DML that recounts every run tally from the runs themselves (exact, whatever came before)."""
    return tuple(s for tally in RUN_TALLIES for s in tally.rebuild_statements(dialect))

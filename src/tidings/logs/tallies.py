"""Database triggers that keep the tallies of logs exact, for SQLite and PostgreSQL.

A tally counts the rows of a table (the logs here, the runs in `run_tallies`) that share one
time unit (a day or an hour of `date_created`, in UTC) and one combination of enum-valued
columns. The tallies are written by the database itself, in the transaction that changes a
row, so no writer (the engine, the generator, an operator's SQL) can leave them out of step.

Two levels serve `total`: whole days come from the daily tallies, whole hours of the partial
days at the ends of a date range from the hourly ones, and only the partial hours at the very
ends are counted from the rows. A third tally counts each address's logs by day. Each tally
has its own table and its own triggers.
"""

from dataclasses import dataclass
from typing import Final

MILLIS_PER_DAY: Final = 86_400_000
MILLIS_PER_HOUR: Final = 3_600_000


def _sqlite_floor(millis: str, unit_millis: int) -> str:
    """Floor division of epoch milliseconds by a unit: SQLite's `/` truncates towards zero,
    which would put the last unit before 1970 on unit 0."""
    unit = unit_millis
    return f"(({millis}) - ((({millis}) % {unit} + {unit}) % {unit})) / {unit}"


def _postgresql_floor(unit_millis: int) -> str:
    seconds = unit_millis // 1000
    return f"floor(extract(epoch FROM date_created) / {seconds})::int"


@dataclass(frozen=True)
class Tally:
    """One tally table, the table whose rows it counts, and the names of its triggers.

    `key` holds the tally's key columns after the unit, each with the SQL that computes it
    from a row of `source`, written with `{row}` before every column name (`NEW.`, `OLD.`
    or nothing). A key column is NOT NULL: an absent reason is tallied as ''. `only`, a
    condition written alike, leaves the rows that fail it uncounted.
    """

    table: str
    source: str
    unit: str  # the key column numbering units since 1970-01-01 UTC: 'day' or 'hour'
    unit_millis: int
    key: tuple[tuple[str, str], ...]
    trigger: str  # the prefix of its triggers' (and PostgreSQL function's) names
    transition: str  # PostgreSQL's transition tables are new_<this> and old_<this>
    only: str | None = None

    @property
    def columns(self) -> str:
        """The key columns, unit first, comma-separated."""
        return ", ".join((self.unit, *(name for name, _ in self.key)))

    def _values(self, row: str, dialect: str) -> list[str]:
        """The key of a `source` row as SQL expressions, in `columns` order."""
        unit = (
            _postgresql_floor(self.unit_millis)
            if dialect == "postgresql"
            else _sqlite_floor(f"{row}date_created", self.unit_millis)
        )
        return [unit, *(value.format(row=row) for _, value in self.key)]

    # SQLite: row triggers ---------------------------------------------------------------------

    def _where(self, row: str) -> str:
        """` WHERE only` for a row, or nothing when every row counts."""
        return "" if self.only is None else f" WHERE {self.only.format(row=row)}"

    def _sqlite_add(self, row: str) -> str:
        values = ", ".join(self._values(row, "sqlite"))
        # The WHERE of INSERT ... SELECT also settles SQLite's parse of the ON CONFLICT.
        source = f"VALUES ({values}, 1)" if self.only is None else f"SELECT {values}, 1"
        return (
            f"INSERT INTO {self.table} ({self.columns}, count) {source}{self._where(row)} "
            f"ON CONFLICT ({self.columns}) DO UPDATE SET count = count + 1;"
        )

    def _sqlite_remove(self, row: str) -> str:
        names = (self.unit, *(name for name, _ in self.key))
        match = " AND ".join(
            f"{name} = {value}"
            for name, value in zip(names, self._values(row, "sqlite"), strict=True)
        )
        only = "" if self.only is None else f" AND {self.only.format(row=row)}"
        return f"UPDATE {self.table} SET count = count - 1 WHERE {match}{only};"

    def _sqlite_create(self) -> tuple[str, ...]:
        changed = " OR ".join(
            f"{old} IS NOT {new}"
            for old, new in zip(
                self._values("OLD.", "sqlite"), self._values("NEW.", "sqlite"), strict=True
            )
        )
        on = f"ON {self.source}"
        return (
            f"CREATE TRIGGER {self.trigger}_insert AFTER INSERT {on} "
            f"BEGIN {self._sqlite_add('NEW.')} END",
            f"CREATE TRIGGER {self.trigger}_delete AFTER DELETE {on} "
            f"BEGIN {self._sqlite_remove('OLD.')} END",
            f"CREATE TRIGGER {self.trigger}_update AFTER UPDATE {on} WHEN {changed} "
            f"BEGIN {self._sqlite_remove('OLD.')} {self._sqlite_add('NEW.')} END",
        )

    # PostgreSQL: statement triggers with transition tables ------------------------------------

    def _postgresql_function(self) -> str:
        aliased = ", ".join(
            value if value == name else f"{value} AS {name}"
            for name, value in zip(
                (self.unit, *(name for name, _ in self.key)),
                self._values("", "postgresql"),
                strict=True,
            )
        )
        positions = ", ".join(str(n) for n in range(1, len(self.key) + 2))
        new = f"new_{self.transition}{self._where('')}"
        old = f"old_{self.transition}{self._where('')}"
        upsert = f"ON CONFLICT ({self.columns}) DO UPDATE SET count = t.count + EXCLUDED.count;"
        into = f"INSERT INTO {self.table} AS t ({self.columns}, count)"
        return f"""
CREATE FUNCTION {self.trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {into}
    SELECT {aliased}, count(*) FROM {new}
    GROUP BY {positions} ORDER BY {positions}
    {upsert}
  ELSIF TG_OP = 'DELETE' THEN
    {into}
    SELECT {aliased}, -count(*) FROM {old}
    GROUP BY {positions} ORDER BY {positions}
    {upsert}
  ELSE
    {into}
    SELECT {self.columns}, sum(delta) FROM (
      SELECT {aliased}, 1 AS delta FROM {new}
      UNION ALL
      SELECT {aliased}, -1 AS delta FROM {old}
    ) AS changes
    GROUP BY {positions} HAVING sum(delta) <> 0 ORDER BY {positions}
    {upsert}
  END IF;
  RETURN NULL;
END
$$
"""

    def _postgresql_create(self) -> tuple[str, ...]:
        new, old = f"new_{self.transition}", f"old_{self.transition}"
        then = f"FOR EACH STATEMENT EXECUTE FUNCTION {self.trigger}()"
        return (
            self._postgresql_function(),
            f"CREATE TRIGGER {self.trigger}_insert AFTER INSERT ON {self.source} "
            f"REFERENCING NEW TABLE AS {new} {then}",
            f"CREATE TRIGGER {self.trigger}_delete AFTER DELETE ON {self.source} "
            f"REFERENCING OLD TABLE AS {old} {then}",
            f"CREATE TRIGGER {self.trigger}_update AFTER UPDATE ON {self.source} "
            f"REFERENCING OLD TABLE AS {old} NEW TABLE AS {new} {then}",
        )

    # What callers use ---------------------------------------------------------------------------

    def create_statements(self, dialect: str) -> tuple[str, ...]:
        """The DDL that installs this tally's triggers on `dialect`."""
        return self._postgresql_create() if dialect == "postgresql" else self._sqlite_create()

    def drop_statements(self, dialect: str) -> tuple[str, ...]:
        """The DDL that removes this tally's triggers from `dialect`."""
        triggers = [f"{self.trigger}_{event}" for event in ("insert", "delete", "update")]
        if dialect != "postgresql":
            return tuple(f"DROP TRIGGER IF EXISTS {name}" for name in triggers)
        return (
            *(f"DROP TRIGGER IF EXISTS {name} ON {self.source}" for name in triggers),
            f"DROP FUNCTION IF EXISTS {self.trigger}()",
        )

    def rebuild_statements(self, dialect: str) -> tuple[str, ...]:
        """DML that recounts this tally from the rows themselves (exact, whatever came before)."""
        values = ", ".join(self._values("", dialect))
        positions = ", ".join(str(n) for n in range(1, len(self.key) + 2))
        # In key order, so that the tallies of one unit share pages.
        return (
            f"DELETE FROM {self.table}",
            f"INSERT INTO {self.table} ({self.columns}, count) "
            f"SELECT {values}, count(*) FROM {self.source}{self._where('')} "
            f"GROUP BY {positions} ORDER BY {positions}",
        )

    def subtract_statement(self, rows_of: str) -> str:
        """PostgreSQL DML that takes the rows of `rows_of` (a partition of the source about
        to be dropped, which fires no trigger) out of this tally."""
        values = ", ".join(self._values("", "postgresql"))
        positions = ", ".join(str(n) for n in range(1, len(self.key) + 2))
        return (
            f"INSERT INTO {self.table} AS t ({self.columns}, count) "
            f"SELECT {values}, -count(*) FROM {rows_of}{self._where('')} "
            f"GROUP BY {positions} ORDER BY {positions} "
            f"ON CONFLICT ({self.columns}) DO UPDATE SET count = t.count + EXCLUDED.count"
        )


def _log_tally(table: str, unit: str, unit_millis: int, trigger: str) -> Tally:
    return Tally(
        table=table,
        source="notification_logs",
        unit=unit,
        unit_millis=unit_millis,
        key=(
            ("notification_type", "{row}notification_type"),
            ("medium", "{row}medium"),
            ("status", "{row}status"),
            ("recipient_type", "{row}recipient_type"),
            ("ignored_reason", "coalesce({row}ignored_reason, '')"),
            ("failed_reason", "coalesce({row}failed_reason, '')"),
        ),
        trigger=trigger,
        transition="logs",
    )


LOGS_BY_DAY: Final = _log_tally(
    "notification_log_tallies", "day", MILLIS_PER_DAY, "notification_logs_tally"
)
LOGS_BY_HOUR: Final = _log_tally(
    "notification_log_hour_tallies", "hour", MILLIS_PER_HOUR, "notification_logs_hour_tally"
)
# An address's logs by day: `total` for recipientEmails sums a few rows instead of counting
# up to every log the address received.
LOGS_BY_ADDRESS: Final = Tally(
    table="notification_log_address_tallies",
    source="notification_logs",
    unit="day",
    unit_millis=MILLIS_PER_DAY,
    key=(("recipient_email", "lower({row}recipient_email)"),),
    trigger="notification_logs_address_tally",
    transition="logs",
    only="{row}recipient_email IS NOT NULL",
)
LOG_TALLIES: Final = (LOGS_BY_DAY, LOGS_BY_HOUR, LOGS_BY_ADDRESS)


# The daily level alone, as migration 0001 installed it; migration 0011 added the others.
def create_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that installs the daily log tally triggers on `dialect`."""
    return LOGS_BY_DAY.create_statements(dialect)


def drop_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that removes the daily log tally triggers from `dialect`."""
    return LOGS_BY_DAY.drop_statements(dialect)


def rebuild_statements(dialect: str) -> tuple[str, ...]:
    """DML that recounts every daily log tally from the logs themselves."""
    return LOGS_BY_DAY.rebuild_statements(dialect)

"""Weekly partitions of the log-sized tables on PostgreSQL, and the ids that place rows in them.

At ten million logs, deleting a month's old rows one by one costs hours of index upkeep and
bloat; dropping a partition costs a catalog change. So on PostgreSQL every table that grows
with the logs is range-partitioned by the day in its ids, a week to a partition, and
retention drops whole partitions.

The day lives in the ids: an id is `day << DAY_SHIFT | n`, where `day` is the UTC day (since
1970) the row was created on and `n` comes from the table's sequence. The engine stamps the
day of the row's own creation instant (`stamped_id`); a row written without an id gets
the database's day. Partitioning by id rather than by a timestamp
keeps every primary key as it is (a partitioned table's keys must contain the partition
key), lets a lookup or update by id touch one partition, and lets the tables that hang off a
run or a log (its objects, destinations, contents, delivery state) be partitioned by that
run's or log's id, with the same bounds, so a week of them goes together. Ids stay unique
whatever the day: two ids with different `n` differ, as long as `n` stays below
2**DAY_SHIFT (275 billion rows a table), and stay below 2**53, exact in JavaScript clients,
until mid-2059.

Rows whose id carries no day the partitions cover (ids given explicitly, or a week not yet
created) land in a DEFAULT partition, so no write ever fails for want of a partition; when
that week's partition is created later, its rows are moved into it. SQLite has one writer and
no partitions: its ids are plain row ids and retention deletes in batches.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import BigInteger, Connection, func, literal

DAY_SHIFT: Final = 38
NUMBER_MASK: Final = (1 << DAY_SHIFT) - 1
ONE_DAY: Final = timedelta(days=1)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# A partition holds a week, Monday to Sunday (UTC). The planner looks at every partition
# of a table that a query cannot exclude, and the API's lists name no id range: with daily
# partitions, planning a page of logs over 34 of them took 10-16 ms at ten million logs,
# with weekly ones about 3 ms. The price is that retention drops a week at a time.
SPAN_DAYS: Final = 7
FIRST_MONDAY: Final = 4  # 1970-01-05, counted in days from 1970-01-01
# Partitions are made for the span holding this many days past today, so a new week never
# waits for maintenance.
DAYS_AHEAD: Final = 2
# A purge gives up a partition change it cannot lock at once and tries again next time,
# rather than queueing API reads behind it.
LOCK_TIMEOUT: Final = "2s"


@dataclass(frozen=True)
class PartitionedTable:
    """A table partitioned by week on PostgreSQL.

    `key` is the id the day is read from: the table's own id, or the id of the run or log
    the row belongs to (`parent`). `age` is the column retention compares with its cutoff;
    a table without one goes when its parent's partition goes.
    """

    name: str
    key: str
    age: str | None = None
    parent: str | None = None
    # Its own id carries the day (the sequence-backed id column gets DAY_ID_DEFAULT).
    day_ids: bool = False


RUN_SEQUENCE: Final = "notification_runs_id_seq"
LOG_SEQUENCE: Final = "notification_logs_id_seq"
OUTBOX_SEQUENCE: Final = "notification_outbox_id_seq"
RUNS: Final = "notification_runs"
LOGS: Final = "notification_logs"
CONTENTS: Final = "notification_contents"

PARTITIONED: Final = (
    PartitionedTable(RUNS, "id", age="date_created", day_ids=True),
    PartitionedTable("notification_run_objects", "run_id", parent=RUNS),
    PartitionedTable("notification_run_destinations", "run_id", parent=RUNS),
    PartitionedTable(LOGS, "id", age="date_created", day_ids=True),
    PartitionedTable(CONTENTS, "log_id", age="date_created"),
    PartitionedTable("notification_deliveries", "log_id", parent=LOGS),
    # An attempt or an outbox message made after its log's week sits one partition later
    # and goes a week later: nothing reads it without its log by then.
    PartitionedTable("notification_attempts", "id", age="started_at", day_ids=True),
    PartitionedTable("notification_outbox", "id", age="date_sent", day_ids=True),
)
PARTITIONED_NAMES: Final = frozenset(table.name for table in PARTITIONED)


def day_of(moment: datetime) -> int:
    """The UTC day of `moment`, counted from 1970-01-01."""
    return (moment.astimezone(UTC) - EPOCH) // ONE_DAY


def day_start(day: int) -> datetime:
    """The first instant of a UTC day."""
    return EPOCH + day * ONE_DAY


def span_start(day: int) -> int:
    """The first day (a Monday) of the partition span holding `day`."""
    return day - (day - FIRST_MONDAY) % SPAN_DAYS


def day_id(day: int, n: int) -> int:
    """The id of the `n`th row of a sequence, placed on `day`."""
    return (max(day, 0) << DAY_SHIFT) + n


def stamped_id(dialect: str, moment: datetime, sequence: str) -> dict[str, Any]:
    """The `id` to insert rows created at `moment` with, on PostgreSQL: a number from
    `sequence` carrying `moment`'s day, so that the rows' partition agrees with their age
    whatever the database's clock says. Nothing on SQLite, whose ids are row ids."""
    if dialect != "postgresql":
        return {}
    day = literal(max(day_of(moment), 0) << DAY_SHIFT, BigInteger)
    return {"id": day + func.nextval(sequence)}


def day_id_default(sequence: str) -> str:
    """The SQL default of a day-carrying id column fed by `sequence` (for rows written
    without an id: stamped with the database's day)."""
    return (
        f"((floor(extract(epoch FROM now()) / 86400)::bigint << {DAY_SHIFT}) "
        f"+ nextval('{sequence}'::regclass))"
    )


def partition_name(table: str, start: int) -> str:
    """The name of `table`'s partition for the span from day `start`, e.g.
    notification_logs_p20261123."""
    return f"{table}_p{day_start(start):%Y%m%d}"


def default_partition_name(table: str) -> str:
    """The name of `table`'s catch-all partition."""
    return f"{table}_default"


def is_partition_name(name: str) -> bool:
    """Whether `name` is one of the partitions this module makes (not in the models)."""
    for table in PARTITIONED_NAMES:
        suffix = name.removeprefix(f"{table}_")
        if suffix != name and (
            suffix == "default" or (suffix[:1] == "p" and suffix[1:].isdigit() and len(suffix) == 9)
        ):
            return True
    return False


def _day_of_partition(table: str, name: str) -> int | None:
    suffix = name.removeprefix(f"{table}_p")
    if suffix == name or not suffix.isdigit():
        return None
    return day_of(datetime.strptime(suffix, "%Y%m%d").replace(tzinfo=UTC))


def partition_days(connection: Connection, table: str) -> list[int]:
    """The first days of the spans `table` has a partition for, oldest first."""
    rows = connection.exec_driver_sql(
        "SELECT child.relname FROM pg_inherits "
        "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
        "WHERE pg_inherits.inhparent = %(table)s::regclass",
        {"table": table},
    )
    days = (_day_of_partition(table, name) for (name,) in rows)
    return sorted(day for day in days if day is not None)


def is_partitioned(connection: Connection, table: str) -> bool:
    """Whether `table` is a partitioned table in this database (PostgreSQL after 0012)."""
    if connection.dialect.name != "postgresql":
        return False
    found = connection.exec_driver_sql(
        "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%(table)s)",
        {"table": table},
    )
    return found.first() is not None


def create_default_partition(connection: Connection, table: str) -> None:
    """Give `table` its catch-all partition."""
    connection.exec_driver_sql(
        f"CREATE TABLE {default_partition_name(table)} PARTITION OF {table} DEFAULT"
    )


def create_partition(connection: Connection, table: PartitionedTable, start: int) -> None:
    """Add `table`'s partition for the span from day `start`, moving in any rows of it the
    default holds.

    Built beside the table and attached, which locks readers out of nothing (ATTACH takes a
    lock that only conflicts with other schema changes); the default partition is checked
    for rows of the span, which is why they are moved out first.
    """
    name = partition_name(table.name, start)
    low, high = day_id(start, 0), day_id(start + SPAN_DAYS, 0)
    default = default_partition_name(table.name)
    connection.exec_driver_sql(f"CREATE TABLE {name} (LIKE {table.name} INCLUDING ALL)")
    connection.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {default} WHERE {table.key} >= {low} "
        f"AND {table.key} < {high} RETURNING *) INSERT INTO {name} SELECT * FROM moved"
    )
    connection.exec_driver_sql(
        f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})"
    )


def ensure_partitions(connection: Connection, first_day: int, last_day: int) -> int:
    """Make sure every partitioned table has a partition for each day from `first_day` to
    `last_day`; returns how many partitions were created."""
    created = 0
    starts = range(span_start(first_day), last_day + 1, SPAN_DAYS)
    for table in PARTITIONED:
        existing = set(partition_days(connection, table.name))
        for start in starts:
            if start not in existing:
                create_partition(connection, table, start)
                created += 1
    return created


def database_today(connection: Connection) -> int:
    """Today by the database's clock, the one that stamps the ids."""
    today = connection.exec_driver_sql("SELECT floor(extract(epoch FROM now()) / 86400)::int")
    return int(today.scalar_one())


def ensure_partitions_ahead(connection: Connection) -> int:
    """Partitions for today and DAYS_AHEAD days after; returns how many were created."""
    today = database_today(connection)
    return ensure_partitions(connection, today, today + DAYS_AHEAD)

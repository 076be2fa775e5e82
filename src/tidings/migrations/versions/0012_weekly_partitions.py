"""Weekly partitions of the log-sized tables on PostgreSQL

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 11:00:00

Each table that grows with the logs becomes a table partitioned by range of the id that
carries its day (see tidings.kit.partitions), a week to a partition, with a DEFAULT
partition and partitions for this week and the next. Rows already stored keep their ids,
which carry no day: they sit in the DEFAULT partition, and retention deletes them in
batches as before.

Foreign keys between these tables go: dropping a referenced partition would make PostgreSQL
check every referencing row under an exclusive lock, which is what partitions are here to
avoid. The engine deletes a log's dependants itself. The one key to a table that is not
partitioned (a run's objects) stays. Indexes, check constraints and triggers (the tallies)
are carried over by their definitions. SQLite is left as it is.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op
from sqlalchemy import Connection

from tidings.kit import partitions

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@dataclass(frozen=True)
class _Table:
    name: str
    key: str
    sequence: str | None = None  # the id's sequence, when the id carries the day


# As of this revision; later tables get their own migration.
TABLES = (
    _Table("notification_runs", "id", "notification_runs_id_seq"),
    _Table("notification_run_objects", "run_id"),
    _Table("notification_run_destinations", "run_id"),
    _Table("notification_logs", "id", "notification_logs_id_seq"),
    _Table("notification_contents", "log_id"),
    _Table("notification_deliveries", "log_id"),
    _Table("notification_attempts", "id", "notification_attempts_id_seq"),
    _Table("notification_outbox", "id", "notification_outbox_id_seq"),
)
NAMES = frozenset(table.name for table in TABLES)

# The keys between these tables as revision 0011 had them, restored by the downgrade.
FOREIGN_KEYS = (
    (
        "notification_runs",
        "fk_notification_runs_original_run_id_notification_runs",
        "FOREIGN KEY (original_run_id) REFERENCES notification_runs(id) ON DELETE SET NULL",
    ),
    (
        "notification_logs",
        "fk_notification_logs_run_id_notification_runs",
        "FOREIGN KEY (run_id) REFERENCES notification_runs(id) ON DELETE CASCADE",
    ),
    (
        "notification_run_objects",
        "fk_notification_run_objects_run_id_notification_runs",
        "FOREIGN KEY (run_id) REFERENCES notification_runs(id) ON DELETE CASCADE",
    ),
    (
        "notification_contents",
        "fk_notification_contents_log_id_notification_logs",
        "FOREIGN KEY (log_id) REFERENCES notification_logs(id) ON DELETE CASCADE",
    ),
    (
        "notification_run_destinations",
        "fk_notification_run_destinations_run_id_notification_runs",
        "FOREIGN KEY (run_id) REFERENCES notification_runs(id) ON DELETE CASCADE",
    ),
    (
        "notification_outbox",
        "fk_notification_outbox_log_id_notification_logs",
        "FOREIGN KEY (log_id) REFERENCES notification_logs(id) ON DELETE CASCADE",
    ),
    (
        "notification_deliveries",
        "fk_notification_deliveries_log_id_notification_logs",
        "FOREIGN KEY (log_id) REFERENCES notification_logs(id) ON DELETE CASCADE",
    ),
    (
        "notification_attempts",
        "fk_notification_attempts_log_id_notification_logs",
        "FOREIGN KEY (log_id) REFERENCES notification_logs(id) ON DELETE CASCADE",
    ),
)


@dataclass(frozen=True)
class _Definition:
    """What a table carries besides its columns, as SQL that recreates it."""

    constraints: list[tuple[str, str, str | None]]  # name, definition, referenced table
    indexes: list[str]
    triggers: list[str]


def _definition(connection: Connection, table: str) -> _Definition:
    constraints = [
        (str(name), str(definition), None if referenced is None else str(referenced))
        for name, definition, referenced in connection.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid), "
            "CASE WHEN contype = 'f' THEN confrelid::regclass::text END "
            "FROM pg_constraint WHERE conrelid = %(table)s::regclass "
            "AND contype IN ('p', 'u', 'c', 'f') AND conparentid = 0 ORDER BY contype DESC",
            {"table": table},
        )
    ]
    indexes = [
        # A partitioned table's index reads "ON ONLY t"; the rebuilt table takes it whole.
        str(definition).replace(" ON ONLY ", " ON ", 1)
        for (definition,) in connection.exec_driver_sql(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %(table)s::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
            "AND c.conrelid = i.indrelid)",
            {"table": table},
        )
    ]
    triggers = [
        str(definition)
        for (definition,) in connection.exec_driver_sql(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = %(table)s::regclass AND NOT tgisinternal AND tgparentid = 0",
            {"table": table},
        )
    ]
    return _Definition(constraints, indexes, triggers)


def _rebuild(connection: Connection, table: _Table, *, partitioned: bool) -> None:
    """Replace `table` by a copy that is (or is not) partitioned, keeping rows, constraints
    (but keys into partitioned tables when partitioning), indexes, triggers and its id
    sequence."""
    definition = _definition(connection, table.name)
    if table.sequence is not None:
        connection.exec_driver_sql(f"ALTER SEQUENCE {table.sequence} OWNED BY NONE")
    old = f"{table.name}__before_0012"
    connection.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO {old}")
    layout = f" PARTITION BY RANGE ({table.key})" if partitioned else ""
    connection.exec_driver_sql(
        f"CREATE TABLE {table.name} (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE)" + layout
    )
    if partitioned:
        partitions.create_default_partition(connection, table.name)
    connection.exec_driver_sql(f"INSERT INTO {table.name} SELECT * FROM {old}")
    connection.exec_driver_sql(f"DROP TABLE {old} CASCADE")
    for name, constraint, referenced in definition.constraints:
        if partitioned and referenced in NAMES:
            continue
        connection.exec_driver_sql(f"ALTER TABLE {table.name} ADD CONSTRAINT {name} {constraint}")
    for statement in (*definition.indexes, *definition.triggers):
        connection.exec_driver_sql(statement)
    if table.sequence is not None:
        connection.exec_driver_sql(f"ALTER SEQUENCE {table.sequence} OWNED BY {table.name}.id")
        default = (
            partitions.day_id_default(table.sequence)
            if partitioned
            else f"nextval('{table.sequence}'::regclass)"
        )
        connection.exec_driver_sql(
            f"ALTER TABLE {table.name} ALTER COLUMN id SET DEFAULT {default}"
        )


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for table in TABLES:
        _rebuild(connection, table, partitioned=True)
    partitions.ensure_partitions_ahead(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for table in TABLES:
        _rebuild(connection, table, partitioned=False)
    for owner, name, constraint in FOREIGN_KEYS:
        connection.exec_driver_sql(f"ALTER TABLE {owner} ADD CONSTRAINT {name} {constraint}")

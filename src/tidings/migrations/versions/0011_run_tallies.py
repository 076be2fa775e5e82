"""run tallies (by day and by hour), hourly and per-address log tallies, kept by triggers;
the run of each object link in its index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 11:00:00

`total` of the runs list is summed from the run tallies instead of counting up to every run;
a date range's partial end days (of logs and of runs) from the hourly tallies instead of
counting their rows; and an address's logs from its daily tallies instead of one heap page
per log. The tallies are counted from the rows already stored, in the migration's
transaction. The index of run-object links by object also holds the run, so that a search
reads an object's runs from the index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tidings.logs import run_tallies, tallies

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TALLIES = (tallies.LOGS_BY_HOUR, tallies.LOGS_BY_ADDRESS, *run_tallies.RUN_TALLIES)
NEW_TABLES = (
    "notification_log_hour_tallies",
    "notification_log_address_tallies",
    "notification_run_tallies",
    "notification_run_hour_tallies",
)


def _log_hour_tallies() -> None:
    op.create_table(
        "notification_log_hour_tallies",
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("notification_type", sa.String(length=40), nullable=False),
        sa.Column("medium", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recipient_type", sa.String(length=20), nullable=False),
        sa.Column("ignored_reason", sa.String(length=40), nullable=False),
        sa.Column("failed_reason", sa.String(length=40), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour",
            "notification_type",
            "medium",
            "status",
            "recipient_type",
            "ignored_reason",
            "failed_reason",
            name=op.f("pk_notification_log_hour_tallies"),
        ),
        sqlite_with_rowid=False,
    )


def _run_tallies(table: str, unit: str) -> None:
    op.create_table(
        table,
        sa.Column(unit, sa.Integer(), nullable=False),
        sa.Column("notification_type", sa.String(length=40), nullable=False),
        sa.Column("medium", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("ignored_reason", sa.String(length=40), nullable=False),
        sa.Column("failed_reason", sa.String(length=40), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            unit,
            "notification_type",
            "medium",
            "status",
            "ignored_reason",
            "failed_reason",
            "delivered",
            name=op.f(f"pk_{table}"),
        ),
        sqlite_with_rowid=False,
    )


def _object_index(*columns: str) -> None:
    op.drop_index("ix_run_objects_object", table_name="notification_run_objects")
    op.create_index("ix_run_objects_object", "notification_run_objects", list(columns))


def upgrade() -> None:
    _object_index("object_pk", "run_id")
    _log_hour_tallies()
    op.create_table(
        "notification_log_address_tallies",
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "recipient_email", "day", name=op.f("pk_notification_log_address_tallies")
        ),
        sqlite_with_rowid=False,
    )
    _run_tallies("notification_run_tallies", "day")
    _run_tallies("notification_run_hour_tallies", "hour")
    dialect = op.get_bind().dialect.name
    for tally in NEW_TALLIES:
        # Triggers first: creating one locks out writers until the migration commits, so the
        # count that follows sees every earlier write and the triggers every later one.
        for statement in (*tally.create_statements(dialect), *tally.rebuild_statements(dialect)):
            op.execute(statement)
    if dialect == "postgresql":
        # Plans over the new tables need their statistics now, not at autovacuum's leisure.
        op.execute(f"ANALYZE {', '.join(NEW_TABLES)}")


def downgrade() -> None:
    _object_index("object_pk")
    dialect = op.get_bind().dialect.name
    for tally in NEW_TALLIES:
        for statement in tally.drop_statements(dialect):
            op.execute(statement)
    for table in reversed(NEW_TABLES):
        op.drop_table(table)

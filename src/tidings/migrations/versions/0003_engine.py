"""the engine: events, rendered contents, run destinations, the outbox; why on logs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tidings.kit.orm
from tidings.enums import Medium, NotificationType
from tidings.kit.orm import enum_column_type

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("notification_runs", sa.Column("event_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "notification_runs",
        sa.Column("expanded_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=True),
    )
    op.add_column("notification_logs", sa.Column("why", sa.Text(), nullable=True))
    op.add_column("notification_logs", sa.Column("explanation", sa.Text(), nullable=True))
    op.create_table(
        "notification_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column(
            "notification_type",
            enum_column_type(NotificationType, "notification_type"),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("received_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            " OR ".join(f"notification_type = '{t.value}'" for t in NotificationType),
            name=op.f("ck_notification_events_notification_type_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notification_events_idempotency_key")),
    )
    op.create_index("ix_events_received", "notification_events", ["received_at"])
    op.create_table(
        "notification_contents",
        sa.Column("log_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("date_created", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["notification_logs.id"],
            name=op.f("fk_notification_contents_log_id_notification_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_notification_contents")),
    )
    op.create_index("ix_contents_created", "notification_contents", ["date_created"])
    op.create_table(
        "notification_run_destinations",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("destination", sa.String(length=600), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["notification_runs.id"],
            name=op.f("fk_notification_run_destinations_run_id_notification_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "destination", name=op.f("pk_notification_run_destinations")
        ),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("log_id", sa.BigInteger(), nullable=False),
        sa.Column("medium", enum_column_type(Medium, "medium"), nullable=False),
        sa.Column("destination", sa.String(length=600), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("date_sent", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            " OR ".join(f"medium = '{m.value}'" for m in Medium),
            name=op.f("ck_notification_outbox_medium_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["notification_logs.id"],
            name=op.f("fk_notification_outbox_log_id_notification_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    op.create_index("ix_outbox_log", "notification_outbox", ["log_id"])
    op.create_index("ix_outbox_sent", "notification_outbox", ["date_sent"])


def downgrade() -> None:
    op.drop_table("notification_outbox")
    op.drop_table("notification_run_destinations")
    op.drop_table("notification_contents")
    op.drop_table("notification_events")
    # Plain ALTER TABLE (SQLite 3.35+): a batch rebuild would lose the expression index and
    # the tally triggers of the logs table.
    for table, column in (
        ("notification_logs", "explanation"),
        ("notification_logs", "why"),
        ("notification_runs", "expanded_at"),
        ("notification_runs", "event_id"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

"""real delivery: retry state of READY logs, every attempt, Teams channels' Workflows URLs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tidings.kit.orm
from tidings.enums import AttemptOutcome
from tidings.kit.orm import enum_column_type

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("catalog_entity_channels", sa.Column("webhook_url", sa.Text(), nullable=True))
    op.create_table(
        "notification_deliveries",
        sa.Column("log_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["notification_logs.id"],
            name=op.f("fk_notification_deliveries_log_id_notification_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        "ix_deliveries_run_next", "notification_deliveries", ["run_id", "next_attempt_at"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("log_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("outcome", enum_column_type(AttemptOutcome, "attempt_outcome"), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("provider_request_id", sa.String(length=255), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.CheckConstraint(
            " OR ".join(f"outcome = '{o.value}'" for o in AttemptOutcome),
            name=op.f("ck_notification_attempts_outcome_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["notification_logs.id"],
            name=op.f("fk_notification_attempts_log_id_notification_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index("ix_attempts_log", "notification_attempts", ["log_id", "number"])


def downgrade() -> None:
    op.drop_index("ix_attempts_log", table_name="notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_deliveries_run_next", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.execute("ALTER TABLE catalog_entity_channels DROP COLUMN webhook_url")

"""the scheduler's bookmark; workspace switches for types in channels

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tidings.kit.orm
from tidings.enums import NotificationType
from tidings.kit.orm import enum_column_type

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedule_ticks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("covered_until", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule_ticks")),
    )
    op.create_table(
        "catalog_workspace_channel_types",
        sa.Column(
            "notification_type",
            enum_column_type(NotificationType, "notification_type"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            " OR ".join(f"notification_type = '{t.value}'" for t in NotificationType),
            name=op.f("ck_catalog_workspace_channel_types_notification_type_valid"),
        ),
        sa.PrimaryKeyConstraint(
            "notification_type", name=op.f("pk_catalog_workspace_channel_types")
        ),
    )


def downgrade() -> None:
    op.drop_table("catalog_workspace_channel_types")
    op.drop_table("schedule_ticks")

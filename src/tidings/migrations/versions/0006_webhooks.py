"""webhooks of entities and teams

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_entity_webhooks",
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("notifications_enabled", sa.Boolean(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["catalog_entities.id"],
            name=op.f("fk_catalog_entity_webhooks_entity_id_catalog_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entity_id", "name", name=op.f("pk_catalog_entity_webhooks")),
        sa.UniqueConstraint("name", name="uq_catalog_entity_webhooks_name"),
        sa.UniqueConstraint("url", name="uq_catalog_entity_webhooks_url"),
    )


def downgrade() -> None:
    op.drop_table("catalog_entity_webhooks")

"""where each entity was declared (links to Backstage); the workspace's licensed seats

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tidings.catalog.enums import EntityOrigin
from tidings.kit.orm import enum_column_type

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "catalog_entities",
        sa.Column(
            "origin",
            enum_column_type(EntityOrigin, "entity_origin"),
            server_default=EntityOrigin.CORTEX.value,
            nullable=False,
        ),
    )
    op.add_column("catalog_workspace_settings", sa.Column("seats", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite 3.35+), as in 0003.
    op.execute("ALTER TABLE catalog_workspace_settings DROP COLUMN seats")
    op.execute("ALTER TABLE catalog_entities DROP COLUMN origin")

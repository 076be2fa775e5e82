"""API request budgets as token buckets (pyrate-limiter's GCRA state), one row per client

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 09:00:00

The sliding-window counts of 0009 give way to one row per client holding the library's
state. Neither is carried over: a budget is worth nothing after a restart of the API.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _unlogged() -> list[str]:
    # UNLOGGED on PostgreSQL: no WAL for state that is worthless after a crash.
    return ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []


def upgrade() -> None:
    op.drop_table("rate_limit_windows")
    op.create_table(
        "rate_limit_buckets",
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_rate_limit_buckets")),
        prefixes=_unlogged(),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
    op.create_table(
        "rate_limit_windows",
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("window_index", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", "window_index", name=op.f("pk_rate_limit_windows")),
        prefixes=_unlogged(),
    )

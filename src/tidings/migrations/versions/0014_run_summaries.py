"""searchQuery through a dictionary of the runs' distinct summaries

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 12:00:00

The trigram index over every run's summary (FTS5 on SQLite, pg_trgm's GIN on PostgreSQL)
gives way to `notification_run_summaries`, which lists each distinct summary once, kept by
triggers on the runs, and an index of the runs by summary (see tidings.logs.search). The
summaries of the runs already stored are listed in the migration's transaction. The
downgrade restores the trigram index, indexing the runs stored by then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tidings.logs import search

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        search.TABLE,
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("summary", name=op.f(f"pk_{search.TABLE}")),
        sqlite_with_rowid=False,
    )
    dialect = op.get_bind().dialect.name
    for statement in (*search.drop_statements(dialect), *search.install_statements(dialect)):
        op.execute(statement)
    if dialect == "postgresql":
        # Plans need the statistics of the new table and of the runs' new index on an
        # expression (which tell how rare long summaries are) now, not at autovacuum's
        # leisure.
        op.execute(f"ANALYZE {search.TABLE}, notification_runs")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in (*search.uninstall_statements(dialect), *search.create_statements(dialect)):
        op.execute(statement)
    op.drop_table(search.TABLE)

"""procrastinate's job tables, for the distributed runner on PostgreSQL

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 08:00:00

The schema is the one shipped with the pinned procrastinate version. A later procrastinate
release that changes it comes with its own migration here, built from procrastinate's
migration scripts, so `tidings migrate` stays the one command an upgrade needs.
SQLite has no distributed runner: nothing is created there.
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROP_PROCRASTINATE = r"""
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\_%'
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\_%'
                  AND t.typtype IN ('e', 'c')
    LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def _run_script(script: str) -> None:
    """Run a multi-statement script on the migration's connection, inside its transaction.

    Straight through psycopg without parameters: the scripts hold literal '%' signs that
    SQLAlchemy's layer would read as placeholders.
    """
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    connection.connection.driver_connection.execute(script)  # type: ignore[union-attr]


def upgrade() -> None:
    _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    _run_script(DROP_PROCRASTINATE)

"""Alembic environment: migrate the database of the connection or URL the caller passes."""

from alembic import context
from sqlalchemy import Connection, create_engine

from tidings.kit.orm import Base
from tidings.migrations import scope

target_metadata = Base.metadata


# Any constant both sides agree on: processes starting together migrate one after another.
MIGRATION_LOCK = 7_104_170_001


def _migrate(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until the migration's transaction ends; the next one then finds nothing to do.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=scope.include_name,
        include_object=scope.include_object_for(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Migrate through the connection in the config attributes, or a new one to the URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        _migrate(new_connection)
    engine.dispose()


run()

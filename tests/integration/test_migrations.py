"""Migrations build exactly the schema the models describe, and can be undone."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tidings.kit.db import create_db_engine
from tidings.kit.migrate import alembic_config, current_revision, head_revision, upgrade
from tidings.kit.orm import Base
from tidings.migrations import scope


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": scope.include_name})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()

    assert differences == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(database_url: str) -> None:
    engine = create_db_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    tables_after_downgrade = set(inspect(engine).get_table_names()) - {"alembic_version"}

    upgrade(engine)

    assert tables_after_downgrade == set()
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()

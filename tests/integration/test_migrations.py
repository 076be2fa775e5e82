"""Migrations build exactly the schema the models describe, and can be undone."""

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect

from tests.support.builders import RunSpec, store_runs
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import alembic_config, current_revision, head_revision, upgrade
from tidings.kit.orm import Base
from tidings.logs import repository
from tidings.migrations import scope


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        options = {
            "include_name": scope.include_name,
            "include_object": scope.include_object_for(connection.dialect.name),
        }
        context = MigrationContext.configure(connection, opts=options)
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


NEW_TALLIES = (
    "notification_log_hour_tallies",
    "notification_log_address_tallies",
    "notification_run_tallies",
    "notification_run_hour_tallies",
)


def _counting_rows(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tallies 0011 added that counts something, in a stable order."""
    return {
        table: sorted(
            (
                tuple(row)
                for row in connection.exec_driver_sql(f"SELECT * FROM {table} WHERE count <> 0")
            ),
            key=repr,
        )
        for table in NEW_TALLIES
    }


def _tallies(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """The tallies as they are kept."""
    with engine.connect() as connection:
        return _counting_rows(connection)


def _recounted(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """The tallies as counted afresh from the rows (and forgotten again)."""
    with engine.connect() as connection, connection.begin() as transaction:
        repository.rebuild_tallies(connection)
        recounted = _counting_rows(connection)
        transaction.rollback()
    return recounted


def test_migration_0011_tallies_the_runs_and_logs_already_stored(empty_database_url: str) -> None:
    engine = create_db_engine(empty_database_url)
    upgrade(engine, "0010")
    when = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    store_runs(
        engine,
        [
            RunSpec(
                fields={"date_created": when + timedelta(hours=n * 7), "delivered_count": n % 2},
                logs=[{"date_created": when + timedelta(hours=n * 7, minutes=m)} for m in range(3)],
            )
            for n in range(6)
        ],
    )

    upgrade(engine, "0011")
    counted_by_the_migration = _tallies(engine)
    recounted = _recounted(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE notification_runs SET delivered_count = 1")

    assert all(counted_by_the_migration.values())
    assert counted_by_the_migration == recounted
    assert _tallies(engine) == _recounted(engine) != recounted
    engine.dispose()

"""Catalog files written for a test, imported into its store, and counted."""

import textwrap
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from tidings.catalog import repository
from tidings.catalog.service import FileOutcome, import_catalog

IMPORTED_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CATALOG_TABLES = (
    repository.users,
    repository.entities,
    repository.owners,
    repository.channels,
    repository.members,
    repository.scorecards,
    repository.rules,
    repository.initiatives_table,
    repository.shifts,
    repository.periods,
    repository.workspace,
    repository.workspace_mediums,
    repository.workspace_types,
    repository.subscriptions,
)


def write(directory: Path, name: str, text: str) -> Path:
    """Write `text` (dedented) to `directory/name` and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def import_paths(engine: Engine, *paths: Path) -> list[FileOutcome]:
    """Import the files (or directories) at a fixed time; every outcome, in order."""
    return list(import_catalog(engine, paths, clock=lambda: IMPORTED_AT))


def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows each catalog table holds."""
    with engine.connect() as connection:
        return {
            table.name: int(
                connection.execute(select(func.count()).select_from(table)).scalar_one()
            )
            for table in CATALOG_TABLES
        }

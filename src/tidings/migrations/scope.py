"""Which database objects the models describe, for schema comparisons."""

from collections.abc import Callable
from typing import Any

from tidings.kit import partitions
from tidings.kit.orm import SQLITE_ONLY
from tidings.logs import search

# procrastinate's own tables, installed by migration 0010 from its shipped schema.
PROCRASTINATE_PREFIX = "procrastinate_"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's hook: leave out what the models do not describe (the search index,
    procrastinate's job tables, the weekly partitions of PostgreSQL)."""
    if name is not None and name.startswith(PROCRASTINATE_PREFIX):
        return False
    if type_ == "table" and name is not None and partitions.is_partition_name(name):
        return False
    return search.include_name(name, type_, parent_names)


ObjectFilter = Callable[[Any, str | None, str, bool, Any], bool]


def include_object_for(dialect: str) -> ObjectFilter:
    """Alembic's object hook for `dialect`: a foreign key the models keep on SQLite only
    is not expected elsewhere."""

    def include_object(
        item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "foreign_key_constraint" and not reflected:
            return dialect == "sqlite" or not item.info.get(SQLITE_ONLY, False)
        return True

    return include_object

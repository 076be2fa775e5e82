"""Which database objects the models describe, for schema comparisons."""

from tidings.logs import search

# procrastinate's own tables, installed by migration 0010 from its shipped schema.
PROCRASTINATE_PREFIX = "procrastinate_"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's hook: leave out what the models do not describe (the search index and
    procrastinate's job tables)."""
    if name is not None and name.startswith(PROCRASTINATE_PREFIX):
        return False
    return search.include_name(name, type_, parent_names)

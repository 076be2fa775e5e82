"""The trigram index behind `searchQuery`, for SQLite (FTS5) and PostgreSQL (pg_trgm).

A search is a case-insensitive substring of a run's summary (or of its objects' names, which
are few). Scanning every summary costs 40-90 ms at 90,000 runs; a trigram index finds the
runs holding a substring of 3 characters or more in a few. The index only proposes
candidates: the exact match (`repository._contains`) still decides, so the index may be
looser than the match, never stricter.

SQLite: an external-content FTS5 table over `notification_runs.summary` with the trigram
tokenizer, kept by triggers in the transaction of every write to the runs, like the tallies.
PostgreSQL: a GIN index over `lower(summary)` with pg_trgm's operator class, which the LIKE
of the exact match uses directly.
"""

import sqlite3
from functools import cache
from typing import Final

SQLITE_TABLE: Final = "notification_runs_search"
POSTGRESQL_INDEX: Final = "ix_runs_summary_trgm"
# A trigram index finds nothing shorter than a trigram: shorter queries scan.
SHORTEST_INDEXED_QUERY: Final = 3

_T = SQLITE_TABLE


def _sqlite_index(row: str) -> str:
    return f"INSERT INTO {_T} (rowid, summary) VALUES ({row}.id, {row}.summary);"


def _sqlite_unindex(row: str) -> str:
    # An external-content table forgets a row only when told the values it indexed.
    return f"INSERT INTO {_T} ({_T}, rowid, summary) VALUES ('delete', {row}.id, {row}.summary);"


SQLITE_CREATE_TRIGGERS: Final = (
    f"CREATE TRIGGER {_T}_insert AFTER INSERT ON notification_runs "
    f"BEGIN {_sqlite_index('NEW')} END",
    f"CREATE TRIGGER {_T}_delete AFTER DELETE ON notification_runs "
    f"BEGIN {_sqlite_unindex('OLD')} END",
    f"CREATE TRIGGER {_T}_update AFTER UPDATE OF id, summary ON notification_runs "
    f"BEGIN {_sqlite_unindex('OLD')} {_sqlite_index('NEW')} END",
)
SQLITE_DROP_TRIGGERS: Final = tuple(
    f"DROP TRIGGER IF EXISTS {_T}_{event}" for event in ("insert", "delete", "update")
)
SQLITE_REBUILD: Final = f"INSERT INTO {_T} ({_T}) VALUES ('rebuild')"
SQLITE_CREATE: Final = (
    # columnsize=0: no ranking, so no per-row token counts to store.
    f"CREATE VIRTUAL TABLE {_T} USING fts5(summary, content='notification_runs', "
    "content_rowid='id', columnsize=0, tokenize='trigram case_sensitive 0')",
    SQLITE_REBUILD,  # the runs stored before the table existed
    *SQLITE_CREATE_TRIGGERS,
)
SQLITE_DROP: Final = (*SQLITE_DROP_TRIGGERS, f"DROP TABLE IF EXISTS {_T}")

# pg_trgm is a trusted extension shipped in PostgreSQL's contrib, but a server may lack it,
# the role may lack CREATE on the database, or the extension may sit in a schema off the
# search path. Search is correct without the index, only slower, so neither the migration
# nor a bulk load (which rebuilds the index) fails for it: the block catches those errors
# (its EXCEPTION clause rolls back to a savepoint of its own) and warns. Others still fail.
POSTGRESQL_ENSURE_INDEX: Final = f"""
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS {POSTGRESQL_INDEX} ON notification_runs
    USING gin (lower(summary) gin_trgm_ops);
EXCEPTION WHEN feature_not_supported OR undefined_file OR insufficient_privilege
            OR undefined_object THEN
  RAISE WARNING USING MESSAGE =
    'no trigram index (searchQuery will scan the runs) because ' || SQLERRM;
END
$$
"""
# The extension stays when the index goes: other objects may use it.
POSTGRESQL_DROP_INDEX: Final = f"DROP INDEX IF EXISTS {POSTGRESQL_INDEX}"


def create_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that installs the search index on `dialect`."""
    return (POSTGRESQL_ENSURE_INDEX,) if dialect == "postgresql" else SQLITE_CREATE


def drop_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that removes the search index from `dialect`."""
    return (POSTGRESQL_DROP_INDEX,) if dialect == "postgresql" else SQLITE_DROP


def suspend_statements(dialect: str) -> tuple[str, ...]:
    """Before a bulk load: stop maintaining the index row by row."""
    return (POSTGRESQL_DROP_INDEX,) if dialect == "postgresql" else SQLITE_DROP_TRIGGERS


def resume_statements(dialect: str) -> tuple[str, ...]:
    """After a bulk load: index every run at once, then maintain the index again."""
    if dialect == "postgresql":
        return (POSTGRESQL_ENSURE_INDEX,)
    return (SQLITE_REBUILD, *SQLITE_CREATE_TRIGGERS)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's hook: leave the search index, which the models do not describe, out of
    schema comparisons (SQLite lists the FTS5 table and its shadow tables as tables)."""
    if type_ == "table" and name is not None:
        return name != SQLITE_TABLE and not name.startswith(f"{SQLITE_TABLE}_")
    return not (type_ == "index" and name == POSTGRESQL_INDEX)


# Which queries SQLite's index can answer -----------------------------------------------------

# Python lowers 'İ' to 'i' + U+0307 COMBINING DOT ABOVE; the tokenizer keeps 'İ' as it is.
DOT_ABOVE: Final = "\u0307"
# Planes 2 and above hold no letters that have a case.
_CASED_PLANES_END = 0x20000


@cache
def _letters_the_tokenizer_misses() -> frozenset[str]:
    """Lower-case letters whose capitals the trigram tokenizer does not fold to them.

    The tokenizer folds case by an older Unicode than Python's str.lower (which lowers the
    query and, for non-ASCII queries, the summaries): Cherokee, Georgian Mtavruli, Adlam and
    a few hundred more capitals stay as they are in the index.
    """
    capitals = {
        letter: lower
        for letter in map(chr, range(_CASED_PLANES_END))
        if (lower := letter.lower()) != letter and len(lower) == 1
    }
    # The table is a probe of the tokenizer itself, as this process's SQLite builds it.
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(
            "CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='trigram case_sensitive 0')"
        )
        probe.execute("CREATE VIRTUAL TABLE folded USING fts5vocab(probe, 'instance')")
        letters = [*capitals, *capitals.values()]
        probe.executemany(
            "INSERT INTO probe (rowid, text) VALUES (?, ?)",
            [(row, letter * 3) for row, letter in enumerate(letters)],
        )
        # Each row holds one trigram: its letter folded, three times.
        fold = {
            letters[row]: term[0] for term, row in probe.execute("SELECT term, doc FROM folded")
        }
    finally:
        probe.close()
    return frozenset(
        lower for capital, lower in capitals.items() if fold.get(capital, "") != fold.get(lower)
    )


def _pieces_the_index_can_find(lowered: str) -> list[str]:
    """The parts of a lowered non-ASCII query that the index holds wherever the exact match
    finds the query: split at letters the tokenizer misses and at U+0307, and without a
    trailing 'i' (it may be the first half of a lowered 'İ')."""
    missed = _letters_the_tokenizer_misses() | {DOT_ABOVE}
    pieces: list[str] = []
    current: list[str] = []
    for character in lowered:
        if character in missed:
            pieces.append("".join(current))
            current = []
        else:
            current.append(character)
    pieces.append("".join(current))
    return [piece.rstrip("i") for piece in pieces]


def trigram_phrase(query: str) -> str | None:
    """The FTS5 phrase that finds every run whose summary matches `query` exactly (and maybe
    more), or None when the index cannot help and the summaries must be scanned.

    An ASCII query matches only ASCII letters, which the tokenizer folds as SQLite's lower()
    does, so the whole query is looked up. A non-ASCII query is matched lowered by Python;
    its longest part that the index holds faithfully is looked up. Inside double quotes
    FTS5 reads everything literally but a double quote, which is doubled.
    """
    piece = query if query.isascii() else max(_pieces_the_index_can_find(query.lower()), key=len)
    if len(piece) < SHORTEST_INDEXED_QUERY:
        return None
    return '"' + piece.replace('"', '""') + '"'

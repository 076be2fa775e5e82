"""The dictionary of summaries behind `searchQuery`, for SQLite and PostgreSQL.

A search is a case-insensitive substring of a run's summary (or of its objects' names, tags
or cids, which are few). Summaries repeat: each is a notification type's name and the names
of the objects it concerns, so ten million logs hold fewer than 7,000 distinct ones among
900,000 runs. The dictionary `notification_run_summaries` lists each distinct summary once,
as the runs hold it. A search applies the exact match (`repository._contains`) to the
dictionary, then finds the runs holding a matching summary by equality in
`ix_runs_summary_created`, whose entries also carry what the list orders by and what
`deliveredOnly` asks. The exact match reads the same text in the dictionary as in the
runs, so it answers alike in every alphabet.

A b-tree key must fit in about a third of a PostgreSQL page, and a longer one would fail the
run's insert, so only summaries shorter than LONG characters are listed and indexed. Longer
ones (twenty objects with long names: rare) are matched where they lie; `ix_runs_summary_length`
finds their runs, and gives PostgreSQL's planner the statistics that tell it they are rare.

The dictionary is kept by triggers in the transaction of every insert and update of a run,
like the tallies. A summary no run holds any more stays listed until retention prunes it
(`PRUNE`): until then it costs a lookup that finds nothing, never a wrong answer.

PostgreSQL finds the matching summaries through a trigram index (pg_trgm) on the
dictionary; SQLite reads its few thousand entries (about 2 ms at a million logs).
"""

from typing import Final

TABLE: Final = "notification_run_summaries"
# Characters; at most 4 bytes each in UTF-8, so a key of the runs' index stays below
# PostgreSQL's limit of 2,704 bytes with the date and id beside it.
LONG: Final = 500
# Literal, as the partial index states it: the planners match its condition by its text.
LISTED: Final = f"length(summary) < {LONG}"
RUNS_INDEX: Final = "ix_runs_summary_created"
LENGTH_INDEX: Final = "ix_runs_summary_length"
POSTGRESQL_TRIGRAM_INDEX: Final = "ix_run_summaries_trgm"
TRIGGER: Final = "notification_run_summaries_list"

_RUNS_INDEXES: Final = {
    # deliveredOnly (the API's default) is answered from the index too; SQLite has no
    # INCLUDE, so there it is a last key column.
    "postgresql": (
        f"CREATE INDEX {RUNS_INDEX} ON notification_runs (summary, date_created, id) "
        f"INCLUDE (delivered_count) WHERE {LISTED}",
        f"CREATE INDEX {LENGTH_INDEX} ON notification_runs (length(summary))",
    ),
    "sqlite": (
        f"CREATE INDEX {RUNS_INDEX} ON notification_runs "
        f"(summary, date_created, id, delivered_count) WHERE {LISTED}",
        f"CREATE INDEX {LENGTH_INDEX} ON notification_runs (length(summary))",
    ),
}
_DROP_RUNS_INDEXES: Final = (
    f"DROP INDEX IF EXISTS {RUNS_INDEX}",
    f"DROP INDEX IF EXISTS {LENGTH_INDEX}",
)

# Every listable summary of the stored runs, in key order so that the pages fill in order.
FILL: Final = (
    f"INSERT INTO {TABLE} (summary) SELECT DISTINCT summary FROM notification_runs "
    f"WHERE {LISTED} ORDER BY summary ON CONFLICT DO NOTHING"
)

# SQLite: row triggers. An update that leaves the summary as it was lists nothing.
_SQLITE_LIST_NEW = f"INSERT INTO {TABLE} (summary) VALUES (NEW.summary) ON CONFLICT DO NOTHING;"
_SQLITE_CREATE_TRIGGERS: Final = (
    f"CREATE TRIGGER {TRIGGER}_insert AFTER INSERT ON notification_runs "
    f"WHEN length(NEW.summary) < {LONG} BEGIN {_SQLITE_LIST_NEW} END",
    f"CREATE TRIGGER {TRIGGER}_update AFTER UPDATE OF summary ON notification_runs "
    f"WHEN length(NEW.summary) < {LONG} AND NEW.summary IS NOT OLD.summary "
    f"BEGIN {_SQLITE_LIST_NEW} END",
)
_SQLITE_DROP_TRIGGERS: Final = tuple(
    f"DROP TRIGGER IF EXISTS {TRIGGER}_{event}" for event in ("insert", "update")
)

# PostgreSQL: statement triggers on the partitioned runs, as the tallies have, so that a
# COPY of thousands of runs lists their summaries in one statement. Sorted, so that two
# writers listing the same new summaries wait for each other instead of deadlocking. The
# update trigger fires on every update (a trigger with transition tables cannot name
# columns); when the summary did not change it probes the key and writes nothing.
_POSTGRESQL_FUNCTION: Final = f"""
CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {TABLE} (summary)
  SELECT DISTINCT summary FROM new_runs WHERE {LISTED} ORDER BY summary
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$
"""
_POSTGRESQL_CREATE_TRIGGERS: Final = (
    _POSTGRESQL_FUNCTION,
    *(
        f"CREATE TRIGGER {TRIGGER}_{event.lower()} AFTER {event} ON notification_runs "
        f"REFERENCING NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()"
        for event in ("INSERT", "UPDATE")
    ),
)
_POSTGRESQL_DROP_TRIGGERS: Final = (
    f"DROP TRIGGER IF EXISTS {TRIGGER}_insert ON notification_runs",
    f"DROP TRIGGER IF EXISTS {TRIGGER}_update ON notification_runs",
    f"DROP FUNCTION IF EXISTS {TRIGGER}()",
)

# pg_trgm is a trusted extension shipped in PostgreSQL's contrib, but a server may lack it,
# the role may lack CREATE on the database, or the extension may sit in a schema off the
# search path. Search is correct without the index, only slower, so neither the migration
# nor a bulk load fails for it: the block catches those errors (its EXCEPTION clause rolls
# back to a savepoint of its own) and warns. Others still fail. fastupdate off: new
# summaries are few, and a list of pending ones would be read by every search (a planner
# that saw one long pending list read the whole dictionary instead).
_POSTGRESQL_ENSURE_TRIGRAM_INDEX: Final = f"""
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS {POSTGRESQL_TRIGRAM_INDEX} ON {TABLE}
    USING gin (lower(summary) gin_trgm_ops) WITH (fastupdate = off);
EXCEPTION WHEN feature_not_supported OR undefined_file OR insufficient_privilege
            OR undefined_object THEN
  RAISE WARNING USING MESSAGE =
    'no trigram index (searchQuery will read the whole dictionary) because ' || SQLERRM;
END
$$
"""
_POSTGRESQL_DROP_TRIGRAM_INDEX: Final = f"DROP INDEX IF EXISTS {POSTGRESQL_TRIGRAM_INDEX}"

# Removes the summaries no run holds. Run by retention once per purge; on PostgreSQL under
# `PRUNE_LOCK`, which waits for the transactions that listed summaries to end and holds off
# new ones: without it a run written while the prune reads (invisible to it) could find
# its summary, listed before, pruned.
PRUNE: Final = (
    f"DELETE FROM {TABLE} WHERE NOT EXISTS (SELECT 1 FROM notification_runs AS r "
    f"WHERE r.summary = {TABLE}.summary AND length(r.summary) < {LONG})"
)
PRUNE_LOCK: Final = f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE"


def _triggers(dialect: str) -> tuple[str, ...]:
    return _POSTGRESQL_CREATE_TRIGGERS if dialect == "postgresql" else _SQLITE_CREATE_TRIGGERS


def _drop_triggers(dialect: str) -> tuple[str, ...]:
    return _POSTGRESQL_DROP_TRIGGERS if dialect == "postgresql" else _SQLITE_DROP_TRIGGERS


def _trigram_index(dialect: str) -> tuple[str, ...]:
    return (_POSTGRESQL_ENSURE_TRIGRAM_INDEX,) if dialect == "postgresql" else ()


def _drop_trigram_index(dialect: str) -> tuple[str, ...]:
    return (_POSTGRESQL_DROP_TRIGRAM_INDEX,) if dialect == "postgresql" else ()


def install_statements(dialect: str) -> tuple[str, ...]:
    """The DDL and DML that index the runs by summary and list the stored runs' summaries in
    the dictionary (which must exist), then keep it listing them."""
    # Triggers first: creating one locks writers out until the transaction ends, so the
    # fill that follows sees every earlier write and the triggers every later one. The
    # trigram index last, built from the filled dictionary at once.
    return (*_triggers(dialect), *_RUNS_INDEXES[dialect], FILL, *_trigram_index(dialect))


def uninstall_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that removes what `install_statements` made (the dictionary stays)."""
    return (*_drop_triggers(dialect), *_drop_trigram_index(dialect), *_DROP_RUNS_INDEXES)


def suspend_statements(dialect: str) -> tuple[str, ...]:
    """Before a bulk load: stop listing summaries and indexing them row by row."""
    return uninstall_statements(dialect)


def resume_statements(dialect: str) -> tuple[str, ...]:
    """After a bulk load: index every run by summary at once, list every summary, index the
    dictionary, then keep listing them."""
    return (*_RUNS_INDEXES[dialect], FILL, *_trigram_index(dialect), *_triggers(dialect))


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's hook: leave the search's indexes, which the models do not describe, out of
    schema comparisons (and the FTS5 table of older revisions, with its shadow tables)."""
    if type_ == "table" and name is not None:
        return name != SQLITE_TABLE and not name.startswith(f"{SQLITE_TABLE}_")
    return not (
        type_ == "index"
        and name in (RUNS_INDEX, LENGTH_INDEX, POSTGRESQL_TRIGRAM_INDEX, POSTGRESQL_INDEX)
    )


# What migrations 0001 to 0013 kept instead: a trigram index over every run -----------------
# SQLite: an external-content FTS5 table over `notification_runs.summary` with the trigram
# tokenizer, kept by triggers. PostgreSQL: a GIN index over `lower(summary)` with pg_trgm's
# operator class. Each run written cost an index entry per trigram of its summary, and a
# search read one row per candidate run; migration 0014 replaced it and its downgrade
# restores it.

SQLITE_TABLE: Final = "notification_runs_search"
POSTGRESQL_INDEX: Final = "ix_runs_summary_trgm"

_T = SQLITE_TABLE


def _sqlite_index(row: str) -> str:
    return f"INSERT INTO {_T} (rowid, summary) VALUES ({row}.id, {row}.summary);"


def _sqlite_unindex(row: str) -> str:
    # An external-content table forgets a row only when told the values it indexed.
    return f"INSERT INTO {_T} ({_T}, rowid, summary) VALUES ('delete', {row}.id, {row}.summary);"


_SQLITE_CREATE: Final = (
    # columnsize=0: no ranking, so no per-row token counts to store.
    f"CREATE VIRTUAL TABLE {_T} USING fts5(summary, content='notification_runs', "
    "content_rowid='id', columnsize=0, tokenize='trigram case_sensitive 0')",
    f"INSERT INTO {_T} ({_T}) VALUES ('rebuild')",  # the runs stored before the table existed
    f"CREATE TRIGGER {_T}_insert AFTER INSERT ON notification_runs "
    f"BEGIN {_sqlite_index('NEW')} END",
    f"CREATE TRIGGER {_T}_delete AFTER DELETE ON notification_runs "
    f"BEGIN {_sqlite_unindex('OLD')} END",
    f"CREATE TRIGGER {_T}_update AFTER UPDATE OF id, summary ON notification_runs "
    f"BEGIN {_sqlite_unindex('OLD')} {_sqlite_index('NEW')} END",
)
_SQLITE_DROP: Final = (
    *(f"DROP TRIGGER IF EXISTS {_T}_{event}" for event in ("insert", "delete", "update")),
    f"DROP TABLE IF EXISTS {_T}",
)
_POSTGRESQL_ENSURE_INDEX: Final = f"""
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


def create_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that installs the trigram index over every run on `dialect`, as migration
    0001 installed it."""
    return (_POSTGRESQL_ENSURE_INDEX,) if dialect == "postgresql" else _SQLITE_CREATE


def drop_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that removes the trigram index over every run from `dialect`."""
    if dialect == "postgresql":
        return (f"DROP INDEX IF EXISTS {POSTGRESQL_INDEX}",)
    return _SQLITE_DROP

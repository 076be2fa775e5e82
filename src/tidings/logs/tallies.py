"""Database triggers that keep `notification_log_tallies` exact, for SQLite and PostgreSQL.

The tallies are written by the database itself, in the transaction that changes a log, so no
writer (the engine, the generator, an operator's SQL) can leave them out of step.
"""

from typing import Final

TALLY_KEY: Final = (
    "day",
    "notification_type",
    "medium",
    "status",
    "recipient_type",
    "ignored_reason",
    "failed_reason",
)
_KEY = ", ".join(TALLY_KEY)
MILLIS_PER_DAY: Final = 86_400_000


def _sqlite_day(millis: str) -> str:
    """Floor division of epoch milliseconds by a day: SQLite's `/` truncates towards zero,
    which would put the last day before 1970 on day 0."""
    day = MILLIS_PER_DAY
    return f"(({millis}) - ((({millis}) % {day} + {day}) % {day})) / {day}"


def _sqlite_key_values(row: str) -> list[str]:
    """The tally key of the log `row` (NEW or OLD) as SQLite expressions, in TALLY_KEY order."""
    return [
        _sqlite_day(f"{row}.date_created"),
        f"{row}.notification_type",
        f"{row}.medium",
        f"{row}.status",
        f"{row}.recipient_type",
        f"coalesce({row}.ignored_reason, '')",
        f"coalesce({row}.failed_reason, '')",
    ]


def _sqlite_add(row: str) -> str:
    return (
        f"INSERT INTO notification_log_tallies ({_KEY}, count) "
        f"VALUES ({', '.join(_sqlite_key_values(row))}, 1) "
        f"ON CONFLICT ({_KEY}) DO UPDATE SET count = count + 1;"
    )


def _sqlite_remove(row: str) -> str:
    match = " AND ".join(
        f"{column} = {value}"
        for column, value in zip(TALLY_KEY, _sqlite_key_values(row), strict=True)
    )
    return f"UPDATE notification_log_tallies SET count = count - 1 WHERE {match};"


_SQLITE_CHANGED = " OR ".join(
    f"OLD.{column} IS NOT NEW.{column}"
    for column in (
        "date_created",
        "notification_type",
        "medium",
        "status",
        "recipient_type",
        "ignored_reason",
        "failed_reason",
    )
)

SQLITE_CREATE: Final = (
    "CREATE TRIGGER notification_logs_tally_insert AFTER INSERT ON notification_logs "
    f"BEGIN {_sqlite_add('NEW')} END",
    "CREATE TRIGGER notification_logs_tally_delete AFTER DELETE ON notification_logs "
    f"BEGIN {_sqlite_remove('OLD')} END",
    "CREATE TRIGGER notification_logs_tally_update AFTER UPDATE ON notification_logs "
    f"WHEN {_SQLITE_CHANGED} BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
)
SQLITE_DROP: Final = tuple(
    f"DROP TRIGGER IF EXISTS notification_logs_tally_{event}"
    for event in ("insert", "delete", "update")
)

_PG_DIMENSIONS = (
    "floor(extract(epoch FROM date_created) / 86400)::int AS day, notification_type, medium, "
    "status, recipient_type, coalesce(ignored_reason, '') AS ignored_reason, "
    "coalesce(failed_reason, '') AS failed_reason"
)

# Statement-level triggers with transition tables: a bulk insert or a retention purge
# touches each tally row once per statement instead of once per log.
POSTGRESQL_CREATE: Final = (
    f"""
CREATE FUNCTION notification_logs_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO notification_log_tallies AS t ({_KEY}, count)
    SELECT {_PG_DIMENSIONS}, count(*) FROM new_logs
    GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ({_KEY}) DO UPDATE SET count = t.count + EXCLUDED.count;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO notification_log_tallies AS t ({_KEY}, count)
    SELECT {_PG_DIMENSIONS}, -count(*) FROM old_logs
    GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ({_KEY}) DO UPDATE SET count = t.count + EXCLUDED.count;
  ELSE
    INSERT INTO notification_log_tallies AS t ({_KEY}, count)
    SELECT {_KEY}, sum(delta) FROM (
      SELECT {_PG_DIMENSIONS}, 1 AS delta FROM new_logs
      UNION ALL
      SELECT {_PG_DIMENSIONS}, -1 AS delta FROM old_logs
    ) AS changes
    GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ({_KEY}) DO UPDATE SET count = t.count + EXCLUDED.count;
  END IF;
  RETURN NULL;
END
$$
""",
    "CREATE TRIGGER notification_logs_tally_insert AFTER INSERT ON notification_logs "
    "REFERENCING NEW TABLE AS new_logs FOR EACH STATEMENT "
    "EXECUTE FUNCTION notification_logs_tally()",
    "CREATE TRIGGER notification_logs_tally_delete AFTER DELETE ON notification_logs "
    "REFERENCING OLD TABLE AS old_logs FOR EACH STATEMENT "
    "EXECUTE FUNCTION notification_logs_tally()",
    "CREATE TRIGGER notification_logs_tally_update AFTER UPDATE ON notification_logs "
    "REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs FOR EACH STATEMENT "
    "EXECUTE FUNCTION notification_logs_tally()",
)
POSTGRESQL_DROP: Final = (
    *(
        f"DROP TRIGGER IF EXISTS notification_logs_tally_{event} ON notification_logs"
        for event in ("insert", "delete", "update")
    ),
    "DROP FUNCTION IF EXISTS notification_logs_tally()",
)


def create_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that installs the tally triggers on `dialect`."""
    return POSTGRESQL_CREATE if dialect == "postgresql" else SQLITE_CREATE


def drop_statements(dialect: str) -> tuple[str, ...]:
    """The DDL that removes the tally triggers from `dialect`."""
    return POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP


def rebuild_statements(dialect: str) -> tuple[str, ...]:
    """DML that recounts every tally from the logs themselves (exact, whatever came before)."""
    day = (
        "floor(extract(epoch FROM date_created) / 86400)::int"
        if dialect == "postgresql"
        else _sqlite_day("date_created")
    )
    return (
        "DELETE FROM notification_log_tallies",
        f"INSERT INTO notification_log_tallies ({_KEY}, count) "
        f"SELECT {day}, notification_type, medium, status, recipient_type, "
        "coalesce(ignored_reason, ''), coalesce(failed_reason, ''), count(*) "
        "FROM notification_logs GROUP BY 1, 2, 3, 4, 5, 6, 7",
    )

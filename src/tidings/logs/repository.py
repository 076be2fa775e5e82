"""All SQL of the read API. Statements are built here and nowhere else.

Counting is the expensive half of a page at millions of rows, so `total` is summed from the
trigger-kept tallies wherever they can answer: the logs' tallies by day and by hour for enum
filters and dates, by address and day for recipientEmails, and the runs' by day and by hour
for every run filter but searchQuery. Whole days come from the daily tallies, whole hours of
the partial end days from the hourly ones, and only what is left at the very ends of a date
range is counted from the rows.
"""

import operator
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial, reduce
from itertools import chain
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    CompoundSelect,
    Connection,
    FromClause,
    Select,
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
    SortOrder,
)
from tidings.kit import partitions
from tidings.kit.db import fold, planned_generically, wire_instant
from tidings.kit.orm import (
    EPOCH,
    ONE_MILLISECOND,
    UtcDateTime,
    epoch_millis,
    from_epoch_millis,
    to_millis,
)
from tidings.kit.pagination import PageRequest
from tidings.logs import run_tallies as run_tallies_ddl
from tidings.logs import search
from tidings.logs import tallies as tallies_ddl
from tidings.logs.filters import LogFilter, RunFilter
from tidings.logs.models import (
    LogAddressTally,
    LogHourTally,
    LogTally,
    NotificationLog,
    NotificationObject,
    NotificationRun,
    RunHourTally,
    RunSummary,
    RunTally,
    run_objects,
)
from tidings.logs.tallies import MILLIS_PER_DAY, MILLIS_PER_HOUR

logs = cast(Table, NotificationLog.__table__)
runs = cast(Table, NotificationRun.__table__)
objects = cast(Table, NotificationObject.__table__)
tallies = cast(Table, LogTally.__table__)
log_hour_tallies = cast(Table, LogHourTally.__table__)
address_tallies = cast(Table, LogAddressTally.__table__)
run_tallies = cast(Table, RunTally.__table__)
run_hour_tallies = cast(Table, RunHourTally.__table__)
run_summaries = cast(Table, RunSummary.__table__)


def _on_the_wire(columns: tuple[Any, ...]) -> tuple[Any, ...]:
    """The columns with every instant formatted by the database as the API prints it."""
    return tuple(
        wire_instant(column).label(column.name) if isinstance(column.type, UtcDateTime) else column
        for column in columns
    )


LOG_COLUMNS = (
    logs.c.id,
    logs.c.run_id,
    logs.c.notification_type,
    logs.c.medium,
    logs.c.status,
    logs.c.recipient_type,
    logs.c.recipient_user_id,
    logs.c.recipient_email,
    logs.c.recipient_entity_id,
    logs.c.recipient_channel,
    logs.c.ignored_reason,
    logs.c.failed_reason,
    logs.c.error_message,
    logs.c.date_created,
    logs.c.date_updated,
    logs.c.date_delivered,
)
RUN_COLUMNS = (
    runs.c.id,
    runs.c.notification_type,
    runs.c.medium,
    runs.c.status,
    runs.c.summary,
    runs.c.delivered_count,
    runs.c.ignored_reason,
    runs.c.failed_reason,
    runs.c.error_message,
    runs.c.original_run_id,
    runs.c.seq_no,
    runs.c.date_created,
    runs.c.date_updated,
)
LOG_WIRE_COLUMNS = _on_the_wire(LOG_COLUMNS)
RUN_WIRE_COLUMNS = _on_the_wire(RUN_COLUMNS)


def _bound_values(values: frozenset[Any]) -> Any:
    """The value `_within` binds for a non-empty filter: the one value, or all of them sorted."""
    return next(iter(values)) if len(values) == 1 else sorted(values)


def _within(column: Any, values: frozenset[Any], name: str) -> list[ColumnElement[bool]]:
    """`column IN values` (`=` for one value), or no condition at all for an empty filter.

    The values are bound under `name`, the filter's field, so that a statement built once
    can run again with another filter's values (`fetch_searched_runs`).
    """
    if not values:
        return []
    bound: BindParameter[Any] = bindparam(
        name, _bound_values(values), type_=column.type, expanding=len(values) > 1
    )
    return [column == bound if len(values) == 1 else column.in_(bound)]


def _dimension_conditions(table: FromClause, f: LogFilter) -> list[ColumnElement[bool]]:
    """The enum-column filters; the logs and the tallies name these columns alike."""
    return [
        *_within(table.c.notification_type, f.types, "types"),
        *_within(table.c.status, f.statuses, "statuses"),
        *_within(table.c.recipient_type, f.recipient_types, "recipient_types"),
        *_within(table.c.medium, f.mediums, "mediums"),
        *_within(table.c.ignored_reason, f.ignored_reasons, "ignored_reasons"),
        *_within(table.c.failed_reason, f.failed_reasons, "failed_reasons"),
    ]


def _inclusive_start(moment: datetime) -> datetime:
    """The first stored instant (whole milliseconds) at or after `moment`."""
    whole = to_millis(moment)
    if whole == moment:
        return whole
    try:
        return whole + timedelta(milliseconds=1)
    except OverflowError:  # the last millisecond a datetime can hold
        return whole


def _date_conditions(
    table: FromClause, start: datetime | None, end: datetime | None, *, end_inclusive: bool = True
) -> list[ColumnElement[bool]]:
    """The date range's conditions, its ends bound as `from_date` and `until_date`."""
    conditions = []
    if start is not None:
        since = bindparam("from_date", _inclusive_start(start), type_=table.c.date_created.type)
        conditions.append(table.c.date_created >= since)
    if end is not None:
        until = bindparam("until_date", end, type_=table.c.date_created.type)
        conditions.append(
            table.c.date_created <= until if end_inclusive else table.c.date_created < until
        )
    return conditions


def channel_variants(channels: frozenset[str]) -> frozenset[str]:
    """Slack channels are stored as '#name'; a filter for 'name' finds them too."""
    return channels | {f"#{channel}" for channel in channels if not channel.startswith("#")}


def _email_conditions(emails: frozenset[str]) -> list[ColumnElement[bool]]:
    """Case-insensitive address match, in the shape of ix_logs_email_created (the IS NOT
    NULL repeats the partial index's condition so that SQLite sees it applies)."""
    if not emails:
        return []
    return [
        logs.c.recipient_email.is_not(None),
        *_within(
            func.lower(logs.c.recipient_email, type_=logs.c.recipient_email.type),
            frozenset(e.lower() for e in emails),
            "recipient_emails",
        ),
    ]


def _address_conditions(table: FromClause, f: LogFilter) -> list[ColumnElement[bool]]:
    """The address filter against the logs or the address tallies (which hold lower())."""
    if table is logs:
        return _email_conditions(f.recipient_emails)
    lowered = frozenset(email.lower() for email in f.recipient_emails)
    return _within(table.c.recipient_email, lowered, "recipient_emails")


def log_conditions(f: LogFilter) -> list[ColumnElement[bool]]:
    """Every condition of a log filter, against the logs table."""
    return [
        *_within(logs.c.run_id, f.run_ids, "run_ids"),
        *_dimension_conditions(logs, f),
        *_email_conditions(f.recipient_emails),
        *_within(logs.c.recipient_entity_id, f.recipient_entity_ids, "recipient_entity_ids"),
        *_within(
            logs.c.recipient_channel,
            channel_variants(f.recipient_channels),
            "recipient_channels",
        ),
        *_date_conditions(logs, f.from_date, f.until_date),
    ]


class TallyLevel(NamedTuple):
    """A tally table, the column numbering its units, and a unit's length."""

    table: Table
    unit: str
    millis: int


LOG_LEVELS = (
    TallyLevel(tallies, "day", MILLIS_PER_DAY),
    TallyLevel(log_hour_tallies, "hour", MILLIS_PER_HOUR),
)
ADDRESS_LEVELS = (TallyLevel(address_tallies, "day", MILLIS_PER_DAY),)
RUN_LEVELS = (
    TallyLevel(run_tallies, "day", MILLIS_PER_DAY),
    TallyLevel(run_hour_tallies, "hour", MILLIS_PER_HOUR),
)
# The conditions of a filter against the counted table or one of its tallies.
Conditions = Callable[[FromClause], list[ColumnElement[bool]]]


def _tallied_parts(
    rows: Table,
    levels: Sequence[TallyLevel],
    where: Conditions,
    start: int | None,
    end: int | None,
) -> list[ColumnElement[Any]]:
    """Scalar subqueries whose sum counts the `rows` matching `where` created from `start`
    to `end` (epoch milliseconds, both inclusive; None is unbounded).

    The whole units of the coarsest level come from its tallies, the rest at either end
    from the next level down, and the partial units of the finest level from the rows.
    """
    if not levels:
        span = [
            *([] if start is None else [rows.c.date_created >= from_epoch_millis(start)]),
            *([] if end is None else [rows.c.date_created <= from_epoch_millis(end)]),
        ]
        return [select(func.count()).select_from(rows).where(*where(rows), *span).scalar_subquery()]
    level, finer = levels[0], levels[1:]
    first = None if start is None else -(-start // level.millis)
    last = None if end is None else (end + 1) // level.millis - 1
    if first is not None and last is not None and first > last:
        return _tallied_parts(rows, finer, where, start, end)
    unit = level.table.c[level.unit]
    whole = [
        *([] if first is None else [unit >= first]),
        *([] if last is None else [unit <= last]),
    ]
    tallied = select(func.coalesce(func.sum(level.table.c.count), 0)).where(
        *where(level.table), *whole
    )
    parts: list[ColumnElement[Any]] = [tallied.scalar_subquery()]
    if start is not None and first is not None and start < first * level.millis:
        parts += _tallied_parts(rows, finer, where, start, first * level.millis - 1)
    if end is not None and last is not None and (last + 1) * level.millis <= end:
        parts += _tallied_parts(rows, finer, where, (last + 1) * level.millis, end)
    return parts


def _tallied_count(
    rows: Table,
    levels: Sequence[TallyLevel],
    where: Conditions,
    from_date: datetime | None,
    until_date: datetime | None,
) -> Select[Any]:
    """One statement counting the `rows` matching `where` within the dates, from tallies."""
    start = None if from_date is None else epoch_millis(_inclusive_start(from_date))
    end = None if until_date is None else epoch_millis(until_date)
    parts = _tallied_parts(rows, levels, where, start, end)
    return select(reduce(operator.add, parts))


def log_count_statement(f: LogFilter) -> Select[Any]:
    """The statement that counts the logs matching `f`."""
    if f.only_tallied_dimensions:
        return _tallied_count(
            logs, LOG_LEVELS, partial(_dimension_conditions, f=f), f.from_date, f.until_date
        )
    if f.only_addresses:
        return _tallied_count(
            logs, ADDRESS_LEVELS, partial(_address_conditions, f=f), f.from_date, f.until_date
        )
    return select(func.count()).select_from(logs).where(*log_conditions(f))


def _ordering(table: FromClause, order: SortOrder) -> tuple[Any, Any]:
    if order is SortOrder.ASC:
        return table.c.date_created.asc(), table.c.id.asc()
    return table.c.date_created.desc(), table.c.id.desc()


def log_page_statement(f: LogFilter, page: PageRequest) -> Select[Any]:
    """The statement that reads one page of logs matching `f`, dates formatted for the wire."""
    return (
        select(*LOG_WIRE_COLUMNS)
        .where(*log_conditions(f))
        .order_by(*_ordering(logs, page.order))
        .limit(page.page_size)
        .offset(page.offset)
    )


LIKE_ESCAPE = "/"


def _like_pattern(query: str) -> str:
    """The LIKE pattern of the lower-cased `query` anywhere in a text, `%`, `_` and the
    escape character in it taken literally."""
    escaped = "".join(
        LIKE_ESCAPE + character if character in ("%", "_", LIKE_ESCAPE) else character
        for character in query.lower()
    )
    return f"%{escaped}%"


def _contains(column: Any, query: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; `%` and `_` in the query are literal. The pattern
    is bound as `search_pattern`.

    Both forms read lower(column) on PostgreSQL, the expression the dictionary's trigram
    index holds.
    """
    # An ASCII query matches ASCII letters only: SQLite's own lower() is enough for it.
    folded = func.lower(column) if query.isascii() else fold(column)
    return folded.like(bindparam("search_pattern", _like_pattern(query)), escape=LIKE_ESCAPE)


def _object_links(query: str) -> Select[Any]:
    """The runs with an object whose name, tag or cid contains `query`, from the links."""
    return (
        select(run_objects.c.run_id)
        .join(objects, objects.c.pk == run_objects.c.object_pk)
        .where(
            or_(
                _contains(objects.c.name, query),
                _contains(objects.c.tag, query),
                _contains(objects.c.cid, query),
            )
        )
    )


class among(FunctionElement[bool]):
    """`column IN (subquery)`; on PostgreSQL `column = ANY(ARRAY(subquery))`, which looks each
    value up by index: from an IN the planner, misjudging how many values a search yields,
    hashed them and scanned every run (half a second at 900,000 runs)."""

    type = Boolean()
    name = "among"
    inherit_cache = True


@compiles(among, "sqlite")
def _among_on_sqlite(element: among, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{column} IN {values}"


@compiles(among, "postgresql")
def _among_on_postgresql(element: among, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{column} = ANY(ARRAY{values})"


# The enum filters of the runs: (column, RunFilter field), the field naming the bound values.
RUN_DIMENSIONS = (
    ("notification_type", "types"),
    ("status", "statuses"),
    ("medium", "mediums"),
    ("ignored_reason", "ignored_reasons"),
    ("failed_reason", "failed_reasons"),
)


def _run_dimension_conditions(table: FromClause, f: RunFilter) -> list[ColumnElement[bool]]:
    """The enum-column filters and deliveredOnly, against the runs or their tallies."""
    conditions = [
        condition
        for column, field in RUN_DIMENSIONS
        for condition in _within(table.c[column], getattr(f, field), field)
    ]
    if f.delivered_only:
        tallied = "delivered" in table.c
        conditions.append(table.c.delivered == true() if tallied else table.c.delivered_count >= 1)
    return conditions


def _filter_conditions(table: FromClause, f: RunFilter) -> list[ColumnElement[bool]]:
    """Every condition of a run filter but its search, against the runs (or an alias)."""
    return [
        *_run_dimension_conditions(table, f),
        *_date_conditions(table, f.from_date, f.until_date),
    ]


def _listed(summary: ColumnElement[str], *, listed: bool = True) -> ColumnElement[bool]:
    """Whether a summary is short enough for the dictionary (`search.LISTED`), or (not
    `listed`) too long: written with a literal, as the partial index states it, since the
    planners match its condition by its text."""
    length = func.length(summary)
    longest: ColumnElement[int] = literal_column(str(search.LONG))
    return length < longest if listed else length >= longest


def _kept(table: FromClause, f: RunFilter) -> ColumnElement[bool]:
    """Whether a run (of `table`) passes every condition of `f` but its search, as a column."""
    conditions = _filter_conditions(table, f)
    return (and_(*conditions) if conditions else true()).label("kept")


# The runs again, apart from a statement's own, in the search's subqueries. Built once: an
# alias of the wide runs table proxies every column, which cost more than the rest of a
# search statement's construction together.
_LISTED_RUNS = runs.alias("listed_runs")
_LONG_RUNS = runs.alias("long_runs")
_OBJECT_RUNS = runs.alias("object_runs")


def _summary_matches(f: RunFilter, query: str) -> CompoundSelect[Any]:
    """(id, date_created, kept) of the runs whose summary contains `query`, `kept` saying
    whether the run passes the rest of `f`: the runs of the matching summaries the dictionary
    lists, by summary from their index alone, and the few whose summary is too long to be
    listed, matched where they lie."""
    listed_summaries = run_summaries.c.summary
    matching_summaries = select(listed_summaries).where(_contains(listed_summaries, query))
    listed, long = _LISTED_RUNS, _LONG_RUNS
    return union_all(
        select(listed.c.id, listed.c.date_created, _kept(listed, f)).where(
            among(listed.c.summary, matching_summaries.scalar_subquery()).as_comparison(1, 2),
            _listed(listed.c.summary),
        ),
        select(long.c.id, long.c.date_created, _kept(long, f)).where(
            _listed(long.c.summary, listed=False), _contains(long.c.summary, query)
        ),
    )


def _matching_runs(f: RunFilter, query: str) -> CompoundSelect[int, datetime]:
    """(id, date_created) of every run matching `f` whose summary or an object contains
    `query`, each once.

    An object's runs are mostly among the summary's matches already (a summary names its
    objects), and only their ids come from the links: the others are looked up by id.
    Leaving out the ids of the summary's matches costs a hash of them; a UNION would read
    the dates of every object's run from the runs instead. They are left out whether or
    not they pass the rest of `f`, so that the runs a filter such as deliveredOnly drops
    are not looked up again.
    """
    # Read twice below, so both databases compute it once.
    by_summary = _summary_matches(f, query).cte("runs_by_summary")
    already_found = select(by_summary.c.id).where(by_summary.c.id == run_objects.c.run_id)
    only_by_object = _object_links(query).where(~already_found.exists())
    looked_up = _OBJECT_RUNS
    by_object = select(looked_up.c.id, looked_up.c.date_created).where(
        among(looked_up.c.id, only_by_object.scalar_subquery()).as_comparison(1, 2),
        *_filter_conditions(looked_up, f),
    )
    kept = select(by_summary.c.id, by_summary.c.date_created).where(by_summary.c.kept)
    return union_all(kept, by_object)


def run_conditions(f: RunFilter) -> list[ColumnElement[bool]]:
    """Every condition of a run filter, against the runs table."""
    conditions = _filter_conditions(runs, f)
    if f.search_query:
        matching = _matching_runs(f, f.search_query).subquery("matching_runs")
        conditions.append(runs.c.id.in_(select(matching.c.id)))
    return conditions


def run_count_statement(f: RunFilter) -> Select[Any]:
    """The statement that counts the runs matching `f`: from the tallies unless it searches,
    over the matching ids when it does."""
    if not f.search_query:
        return _tallied_count(
            runs, RUN_LEVELS, partial(_run_dimension_conditions, f=f), f.from_date, f.until_date
        )
    matching = _matching_runs(f, f.search_query).subquery("matching_runs")
    return select(func.count()).select_from(matching)


def _searched_page(f: RunFilter, query: str, page: PageRequest, *, total: bool) -> Select[Any]:
    """One page of the runs a search finds: the matching ids ordered alone, then the page's
    runs read; with `total`, each row also carries the number of matching runs, counted
    from the same matches (a statement that reads them twice computes them once)."""
    matching = _matching_runs(f, query).cte("matching_runs")
    on_page = (
        select(matching.c.id, matching.c.date_created)
        .order_by(*_ordering(matching, page.order))
        .limit(bindparam("page_size", page.page_size))
        .offset(bindparam("page_offset", page.offset))
        .subquery("page_runs")
    )
    counted = [select(func.count()).select_from(matching).scalar_subquery().label("total")]
    # Joined on the date too: PostgreSQL then looks each run up in the partition of its date,
    # where an id alone was looked for in every partition (five times the index probes).
    found = runs.join(
        on_page, and_(runs.c.id == on_page.c.id, runs.c.date_created == on_page.c.date_created)
    )
    return (
        select(*RUN_WIRE_COLUMNS, *(counted if total else []))
        .select_from(found)
        .order_by(*_ordering(runs, page.order))
    )


def run_page_statement(f: RunFilter, page: PageRequest) -> Select[Any]:
    """The statement that reads one page of runs matching `f`, dates formatted for the wire."""
    if f.search_query:
        return _searched_page(f, f.search_query, page, total=False)
    return (
        select(*RUN_WIRE_COLUMNS)
        .where(*run_conditions(f))
        .order_by(*_ordering(runs, page.order))
        .limit(page.page_size)
        .offset(page.offset)
    )


def run_search_statement(f: RunFilter, page: PageRequest) -> Select[Any]:
    """For a filter that searches: one page of its runs as `run_page_statement` reads them,
    each row followed by the number of matching runs, so that the search runs once for both.
    A page past the last match has no row to carry the number."""
    if not f.search_query:
        raise ValueError("the filter does not search")
    return _searched_page(f, f.search_query, page, total=True)


class SearchShape(NamedTuple):
    """What a search statement's SQL depends on: which filters a search has (and for the
    enum filters, one value or several), its order and whether the query is ASCII, but
    not the values themselves, which are bound."""

    ascii_query: bool
    arities: tuple[int, ...]
    delivered_only: bool
    from_date: bool
    until_date: bool
    order: SortOrder


def _search_shape(f: RunFilter, query: str, page: PageRequest) -> SearchShape:
    return SearchShape(
        query.isascii(),
        tuple(min(len(getattr(f, field)), 2) for _, field in RUN_DIMENSIONS),
        f.delivered_only,
        f.from_date is not None,
        f.until_date is not None,
        page.order,
    )


def search_parameters(f: RunFilter, query: str, page: PageRequest) -> dict[str, Any]:
    """The values `run_search_statement` binds for `f` and `page`, by name."""
    values: dict[str, Any] = {
        "search_pattern": _like_pattern(query),
        "page_size": page.page_size,
        "page_offset": page.offset,
    }
    for _, field in RUN_DIMENSIONS:
        if chosen := getattr(f, field):
            values[field] = _bound_values(chosen)
    if f.from_date is not None:
        values["from_date"] = _inclusive_start(f.from_date)
    if f.until_date is not None:
        values["until_date"] = f.until_date
    return values


# One search statement per shape: building one cost 5 ms of Python, against 13 ms to run it
# on PostgreSQL at ten million logs. Clients use a few shapes; should one go through more
# than this many, the statements are built again.
_SEARCH_STATEMENTS: dict[SearchShape, Select[Any]] = {}
SEARCH_STATEMENTS_KEPT = 256


def fetch_searched_runs(
    connection: Connection, f: RunFilter, page: PageRequest
) -> Sequence[Sequence[Any]]:
    """The rows of `run_search_statement(f, page)`, from the statement built for the first
    search of the same shape, run with this search's values."""
    if not f.search_query:
        raise ValueError("the filter does not search")
    shape = _search_shape(f, f.search_query, page)
    statement = _SEARCH_STATEMENTS.get(shape)
    if statement is None:
        if len(_SEARCH_STATEMENTS) >= SEARCH_STATEMENTS_KEPT:
            _SEARCH_STATEMENTS.clear()
        statement = _SEARCH_STATEMENTS.setdefault(shape, run_search_statement(f, page))
    parameters = search_parameters(f, f.search_query, page)
    # Its plan does not depend on the query's text (the runs of the matching summaries and
    # objects are looked up by index whatever their number), and planning the partitions
    # of its five readings of the runs took as long as running it.
    planned_generically(connection)
    return connection.execute(statement, parameters).all()


def count(connection: Connection, statement: Select[Any]) -> int:
    """Run a counting statement."""
    return int(connection.execute(statement).scalar_one() or 0)


def fetch_rows(connection: Connection, statement: Select[Any]) -> Sequence[Sequence[Any]]:
    """Run a page statement; rows as tuples in the statement's column order."""
    return connection.execute(statement).all()


OBJECT_WIRE_COLUMNS = ("object_id", "object_type", "name", "tag", "cid", "url")
# Where `objects_of_runs` puts each object's run: after the columns the wire reads.
_RUN_ID_AT = len(OBJECT_WIRE_COLUMNS)


def objects_of_runs(
    connection: Connection, run_ids: Sequence[int]
) -> dict[int, list[Sequence[Any]]]:
    """The objects of each run in `run_ids`, in the order the run lists them, as rows of
    `OBJECT_WIRE_COLUMNS`."""
    if not run_ids:
        return {}
    statement = (
        select(*(objects.c[name] for name in OBJECT_WIRE_COLUMNS), run_objects.c.run_id)
        .join(objects, objects.c.pk == run_objects.c.object_pk)
        # A page's ids written into the SQL: binding 250 parameters one by one cost more
        # than the query itself.
        .where(run_objects.c.run_id.in_(bindparam("run_ids", list(run_ids), literal_execute=True)))
        .order_by(run_objects.c.run_id, run_objects.c.position)
    )
    grouped: dict[int, list[Sequence[Any]]] = defaultdict(list)
    # Plain rows, read by position: a page can list hundreds of objects, and building a
    # mapping for each cost more than the query.
    for row in connection.execute(statement).all():
        grouped[row[_RUN_ID_AT]].append(row)
    return grouped


# Writes -------------------------------------------------------------------------------------


def dialect_insert(connection: Connection, table: Any) -> Any:
    """The INSERT construct with ON CONFLICT support for the connection's dialect."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def upsert_objects(
    connection: Connection, items: Sequence[dict[str, Any]]
) -> dict[tuple[str, int], int]:
    """Insert or refresh objects (keyed by object_type, object_id); returns their row keys."""
    if not items:
        return {}
    statement = dialect_insert(connection, objects)
    statement = statement.on_conflict_do_update(
        index_elements=[objects.c.object_type, objects.c.object_id],
        set_={
            "name": statement.excluded.name,
            "tag": statement.excluded.tag,
            "cid": statement.excluded.cid,
            "url": statement.excluded.url,
        },
    )
    connection.execute(statement, list(items))
    keys = {(str(item["object_type"]), int(item["object_id"])) for item in items}
    found = connection.execute(
        select(objects.c.pk, objects.c.object_type, objects.c.object_id).where(
            objects.c.object_id.in_({object_id for _, object_id in keys})
        )
    )
    return {
        (str(row.object_type), int(row.object_id)): int(row.pk)
        for row in found
        if (str(row.object_type), int(row.object_id)) in keys
    }


class NewRun(NamedTuple):
    """A run to insert, with an id numbered after `reserve_ids`."""

    id: int
    notification_type: NotificationType
    medium: Medium
    status: RunStatus
    summary: str
    delivered_count: int
    ignored_reason: RunIgnoredReason | None
    failed_reason: RunFailedReason | None
    error_message: str | None
    original_run_id: int | None
    seq_no: int
    date_created: datetime
    date_updated: datetime


class NewLog(NamedTuple):
    """A log to insert; the database assigns its id."""

    run_id: int
    notification_type: NotificationType
    medium: Medium
    status: LogStatus
    recipient_type: RecipientType
    recipient_user_id: int | None
    recipient_email: str | None
    recipient_entity_id: int | None
    recipient_channel: str | None
    ignored_reason: IgnoredReason | None
    failed_reason: FailedReason | None
    error_message: str | None
    date_created: datetime
    date_updated: datetime
    date_delivered: datetime | None


class RunObjectLink(NamedTuple):
    """An object a run concerns, at its place in the run's list."""

    run_id: int
    object_pk: int
    position: int


@dataclass(frozen=True)
class ReservedIds:
    """Where a bulk writer numbers its rows from (see `reserve_ids`)."""

    next_run_number: int
    # None where the database numbers the logs itself (SQLite: a log's id says no day).
    next_log_number: int | None


def _next_sequence_number(connection: Connection, sequence: str) -> int:
    row = connection.exec_driver_sql(
        f"SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {sequence}"
    )
    return int(row.scalar_one())


def reserve_ids(connection: Connection) -> ReservedIds:
    """Keep other writers from adding runs and logs until this transaction ends; the next
    free sequence numbers.

    Bulk writers number their rows themselves from here, so every log can name its run
    before anything is written. On PostgreSQL an id carries its row's day on top of the
    number (kit.partitions.day_id); the sequences stand still while the lock is held.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "LOCK TABLE notification_runs, notification_logs IN SHARE ROW EXCLUSIVE MODE"
        )
        return ReservedIds(
            _next_sequence_number(connection, partitions.RUN_SEQUENCE),
            _next_sequence_number(connection, partitions.LOG_SEQUENCE),
        )
    # SQLite has one writer: a write, even one that changes nothing, takes the lock.
    connection.exec_driver_sql("UPDATE notification_runs SET id = id WHERE id < 0")
    highest = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM notification_runs")
    return ReservedIds(int(highest.scalar_one()) + 1, None)


def sync_ids(
    connection: Connection, next_run_number: int | None = None, next_log_number: int | None = None
) -> None:
    """After rows were inserted with ids of their own, let the sequences continue after
    them: from the numbers given, or from the highest number stored."""
    if connection.dialect.name != "postgresql":
        return
    for sequence, table, given in (
        (partitions.RUN_SEQUENCE, "notification_runs", next_run_number),
        (partitions.LOG_SEQUENCE, "notification_logs", next_log_number),
    ):
        stored = f"(SELECT coalesce(max(id & {partitions.NUMBER_MASK}), 0) + 1 FROM {table})"
        target = stored if given is None else str(given)
        connection.exec_driver_sql(
            f"SELECT setval('{sequence}', greatest({target}, "
            f"{_next_sequence_number(connection, sequence)}), false)"
        )


# Rows per multi-row INSERT on SQLite: one statement per row pays SQLite's per-statement
# costs (a statement journal, trigger frames) for every row; 400 rows x 16 values stays far
# below SQLite's limit of 32,766 bound values.
SQLITE_ROWS_PER_INSERT = 400


def _date_positions(table: Table, columns: Sequence[str]) -> list[int]:
    return [
        index for index, name in enumerate(columns) if isinstance(table.c[name].type, UtcDateTime)
    ]


@dataclass(frozen=True)
class PreparedRows:
    """Rows of one table already converted to driver values, ready for `insert_prepared`.

    Preparing is pure Python and needs no connection, so a bulk writer can prepare the next
    rows on one thread while the database inserts the previous ones on another.
    """

    table: str
    columns: tuple[str, ...]
    dialect: str
    # SQLite: the flat parameters of each multi-row INSERT; PostgreSQL: one list per row.
    parts: list[Any]


def prepare_rows(
    dialect: str, table: Table, rows: Sequence[tuple[Any, ...]], columns: Sequence[str]
) -> PreparedRows:
    """Convert tuples in column order for a bulk insert on `dialect`.

    Both drivers take our str-valued enums as they are; only instants need converting to
    the stored form, which is done per date column instead of per value.
    """
    dates = _date_positions(table, columns)
    if dialect == "postgresql":
        prepared: list[Any] = []
        for row in rows:
            values = list(row)
            for index in dates:
                if values[index] is not None:
                    values[index] = to_millis(values[index])
            prepared.append(values)
        return PreparedRows(table.name, tuple(columns), dialect, prepared)
    # Column by column: zip transposes in C, so only the instants are touched in Python.
    by_column: list[Sequence[Any]] = list(zip(*rows, strict=True)) or [()] * len(columns)
    for index in dates:
        by_column[index] = [
            None if moment is None else (moment - EPOCH) // ONE_MILLISECOND
            for moment in by_column[index]
        ]
    converted = list(zip(*by_column, strict=True))
    parts = [
        tuple(chain.from_iterable(converted[start : start + SQLITE_ROWS_PER_INSERT]))
        for start in range(0, len(converted), SQLITE_ROWS_PER_INSERT)
    ]
    return PreparedRows(table.name, tuple(columns), dialect, parts)


def insert_prepared(connection: Connection, prepared: PreparedRows) -> None:
    """Insert prepared rows: COPY on PostgreSQL, multi-row INSERTs on SQLite."""
    names = ", ".join(prepared.columns)
    if prepared.dialect == "postgresql":
        if not prepared.parts:
            return
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {prepared.table} ({names}) FROM STDIN") as copy:
            for values in prepared.parts:
                copy.write_row(values)
        return
    placeholder = "(" + ", ".join("?" * len(prepared.columns)) + ")"
    for flat in prepared.parts:
        rows = len(flat) // len(prepared.columns)
        statement = f"INSERT INTO {prepared.table} ({names}) VALUES " + ", ".join(
            [placeholder] * rows
        )
        connection.exec_driver_sql(statement, flat)


def prepare_runs(dialect: str, rows: Sequence[NewRun]) -> PreparedRows:
    """Prepare runs (ids numbered after `reserve_ids`) for `insert_prepared`."""
    return prepare_rows(dialect, runs, rows, NewRun._fields)


def prepare_links(dialect: str, links: Sequence[RunObjectLink]) -> PreparedRows:
    """Prepare run-object links for `insert_prepared`."""
    return prepare_rows(dialect, run_objects, links, RunObjectLink._fields)


def prepare_logs(
    dialect: str, rows: Sequence[NewLog], ids: Sequence[int] | None = None
) -> PreparedRows:
    """Prepare logs for `insert_prepared`, with the ids given (numbered after
    `reserve_ids`) or, without, for the database to number."""
    if ids is None:
        return prepare_rows(dialect, logs, rows, NewLog._fields)
    numbered = [(log_id, *row) for log_id, row in zip(ids, rows, strict=True)]
    return prepare_rows(dialect, logs, numbered, ("id", *NewLog._fields))


def insert_runs(connection: Connection, rows: Sequence[NewRun]) -> None:
    """Insert runs whose ids were numbered after `reserve_ids`."""
    insert_prepared(connection, prepare_runs(connection.dialect.name, rows))


def link_objects(connection: Connection, links: Sequence[RunObjectLink]) -> None:
    """Attach objects to runs."""
    insert_prepared(connection, prepare_links(connection.dialect.name, links))


def insert_logs(connection: Connection, rows: Sequence[NewLog]) -> None:
    """Insert logs in bulk; the database assigns their ids."""
    insert_prepared(connection, prepare_logs(connection.dialect.name, rows))


def has_logs(connection: Connection) -> bool:
    """Whether any log exists."""
    return connection.execute(select(logs.c.id).limit(1)).first() is not None


# Every tally the triggers keep: logs and runs, by day and by hour.
TALLIES = (*tallies_ddl.LOG_TALLIES, *run_tallies_ddl.RUN_TALLIES)


def rebuild_tallies(connection: Connection) -> None:
    """Recount every tally of logs and runs from the rows (a repair, and the end of a bulk load)."""
    for tally in TALLIES:
        for statement in tally.rebuild_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)


@contextmanager
def bulk_load(connection: Connection) -> Iterator[None]:
    """Load many logs into an empty store fast, inside the caller's transaction.

    The indexes, the tally triggers and the search's indexes and triggers are dropped first
    and rebuilt at the end, and the loaded runs' summaries listed in the search's dictionary:
    building an index once from sorted data costs a fraction of maintaining it row by row,
    and recounting the tallies once a fraction of counting every batch. DDL is transactional
    in SQLite and PostgreSQL, so readers see the old store until the commit, and a failure
    leaves the store as it was.
    """
    dialect = connection.dialect.name
    for statement in (
        *chain.from_iterable(tally.drop_statements(dialect) for tally in TALLIES),
        *search.suspend_statements(dialect),
    ):
        connection.exec_driver_sql(statement)
    rebuilt = [*logs.indexes, *runs.indexes, *run_objects.indexes]
    for index in rebuilt:
        index.drop(connection)
    yield
    for index in rebuilt:
        index.create(connection)
    rebuild_tallies(connection)
    for statement in (
        *chain.from_iterable(tally.create_statements(dialect) for tally in TALLIES),
        *search.resume_statements(dialect),
    ):
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql("ANALYZE")

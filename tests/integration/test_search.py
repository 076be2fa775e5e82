"""searchQuery through the dictionary of summaries: the answers of a scan, at the cost of a
lookup.

A search matches the dictionary's entries and finds the runs holding the matching ones, so
every test here states an answer the plain substring match over the runs gives: for queries
too short for a trigram, for letters beyond ASCII, for characters that mean something to
LIKE, for summaries too long to be listed, after runs are written, changed and deleted,
after retention prunes the dictionary, after a bulk load and after the migration that
introduced it.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, event, inspect, select, text

from tests.support.builders import BASE_TIME, RunSpec, entity, store_runs
from tidings.generator.history import HistorySpec, write_history
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import alembic_config, upgrade
from tidings.kit.pagination import PageRequest
from tidings.logs import repository, search
from tidings.logs.filters import RunFilter
from tidings.runtime import Runtime
from tidings.schedules import retention

RUNS = "/api/v1/notifications/logs/run"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
LONG = search.LONG


@pytest.fixture
def store(runtime: Runtime) -> Engine:
    """The test store, through the engine the app reads with."""
    return runtime.engine


@pytest.fixture
def find(client: TestClient, viewer_headers: dict[str, str]) -> Any:
    """The ids of the runs `searchQuery=query` lists (every run, oldest first)."""

    def found(query: str) -> list[int]:
        params = {"searchQuery": query, "deliveredOnly": "false", "orderBy": "ASC"}
        response = client.get(RUNS, params=params, headers=viewer_headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids = [item["id"] for item in body["runs"]]
        assert body["total"] == len(ids)
        return ids

    return found


def summaries(*texts: str) -> list[RunSpec]:
    """Runs with these summaries and nothing else."""
    return [RunSpec(fields={"summary": summary}) for summary in texts]


def labelled(ids: list[int], found: list[int]) -> str:
    """The found runs as letters: the first stored run is 'a'."""
    return "".join("abcdefghij"[ids.index(run_id)] for run_id in found)


def listed(engine: Engine) -> set[str]:
    """The summaries the dictionary lists."""
    with engine.connect() as connection:
        return set(connection.scalars(select(repository.run_summaries.c.summary)))


def held(engine: Engine) -> set[str]:
    """The summaries the runs hold that the dictionary should list: all but the long ones."""
    with engine.connect() as connection:
        summaries = connection.scalars(text("SELECT summary FROM notification_runs"))
        return {summary for summary in summaries if len(summary) < LONG}


def set_summary(engine: Engine, run_id: int, summary: str) -> None:
    """Change one run's summary, as an operator's SQL would."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE notification_runs SET summary = :summary WHERE id = :id"),
            {"summary": summary, "id": run_id},
        )


def delete_run(engine: Engine, run_id: int) -> None:
    """Delete one run."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM notification_runs WHERE id = :id"), {"id": run_id})


def purge_nothing_old(engine: Engine) -> None:
    """A purge by the runs' own day: every run is young enough to stay."""
    retention.purge(engine, BASE_TIME + timedelta(days=1), timedelta(days=30), timedelta(days=14))


class TestShortQueries:
    """One or two characters hold no trigram: the dictionary is read whole, same answers."""

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            pytest.param("pi", "a", id="two letters"),
            pytest.param("DB", "b", id="two capitals"),
            pytest.param("b", "bc", id="one letter"),
            pytest.param("Ü", "c", id="one letter beyond ASCII"),
            pytest.param("%", "d", id="lone percent"),
            pytest.param("_", "d", id="lone underscore"),
            pytest.param('"', "e", id="lone double quote"),
        ],
    )
    def test_short_query_finds_summaries_holding_it(
        self, store: Engine, find: Any, query: str, expected: str
    ) -> None:
        ids = store_runs(
            store,
            summaries(
                "Payments API",
                "Ledger DB",
                "Zahlungen über alles",
                "100% of checkout_svc",
                'Said "hello"',
            ),
        )

        assert labelled(ids, find(query)) == expected


class TestLiteralCharacters:
    """Nothing in a query is syntax: not LIKE's wildcards, not a full-text query language."""

    WORLD = (
        "Coverage 100% on checkout_svc",
        "Coverage 100 on checkoutXsvc",
        'Said "hello" twice',
        "Run NEAR(a b) OR c* now",
        "col:summary ^start - end",
    )

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            pytest.param("100%", "a", id="percent"),
            pytest.param("t_s", "a", id="underscore"),
            pytest.param('"hello"', "c", id="quoted word"),
            pytest.param('o" t', "c", id="quote inside"),
            pytest.param('" OR "', "", id="quotes around an operator"),
            pytest.param("near(a", "d", id="NEAR"),
            pytest.param("or c*", "d", id="OR and a star"),
            pytest.param("col:summary", "e", id="column filter"),
            pytest.param("^start - end", "e", id="caret and minus"),
            pytest.param("coverage 100", "ab", id="plain words"),
        ],
    )
    def test_query_is_matched_literally(
        self, store: Engine, find: Any, query: str, expected: str
    ) -> None:
        ids = store_runs(store, summaries(*self.WORLD))

        assert labelled(ids, find(query)) == expected


class TestOneStatementPerShape:
    """A search's statement is built once per shape and run with each search's own values."""

    WORLD = ("Payments outage", "Checkout slow", "payments_v2 at 50%", "Zahlung fällig")

    def test_searches_of_one_shape_in_turn_each_find_their_own_runs(
        self, store: Engine, find: Any
    ) -> None:
        ids = store_runs(store, summaries(*self.WORLD))

        assert labelled(ids, find("payments")) == "ac"
        assert labelled(ids, find("checkout")) == "b"
        assert labelled(ids, find("_v2 at 50%")) == "c"
        assert labelled(ids, find("payments")) == "ac"

    def test_past_the_statements_kept_searches_still_find_their_runs(
        self, store: Engine, find: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(repository, "SEARCH_STATEMENTS_KEPT", 1)
        ids = store_runs(store, summaries(*self.WORLD))

        # An ASCII query and one beyond ASCII are of two shapes.
        for _ in range(2):
            assert labelled(ids, find("slow")) == "b"
            assert labelled(ids, find("fällig")) == "d"


class TestBeyondAscii:
    """Case is ignored in every alphabet."""

    @pytest.mark.parametrize(
        ("summary", "query"),
        [
            pytest.param("Zahlungen ÜBER alles", "über all", id="German capitals"),
            pytest.param("zahlungen über alles", "ÜBER ALL", id="German query in capitals"),
            pytest.param("ΠΛΗΡΩΜΈΣ", "πληρωμέ", id="Greek"),
            pytest.param("ПЛАТЕЖИ готовы", "платежи", id="Cyrillic"),
            # Python lowers İ to 'i' + a combining dot.
            pytest.param("Kad\u0131köy İSTANBUL", "köy i", id="Turkish dotted capital I"),
        ],
    )
    def test_search_ignores_case_beyond_ascii(
        self, store: Engine, find: Any, summary: str, query: str
    ) -> None:
        [run_id] = store_runs(store, summaries(summary))

        assert find(query) == [run_id]

    @SQLITE_ONLY
    @pytest.mark.parametrize(
        ("summary", "query"),
        [
            pytest.param("ᏣᎳᎩ Directory", "ᏣᎳᎩ".lower(), id="Cherokee"),
            pytest.param("ᲗᲑᲘᲚᲘᲡᲘ office", "ᲗᲑᲘᲚᲘᲡᲘ".lower(), id="Georgian Mtavruli"),
            pytest.param("ᏣᎳᎩ Directory", "ᏣᎳᎩ directory".lower(), id="Cherokee beside ASCII"),
        ],
    )
    def test_sqlite_folds_by_pythons_unicode_not_its_own(
        self, store: Engine, find: Any, summary: str, query: str
    ) -> None:
        [run_id] = store_runs(store, summaries(summary))

        assert find(query) == [run_id]


class TestDictionaryUpkeep:
    """The dictionary lists every summary a run is written with, in the same transaction."""

    def test_runs_sharing_a_summary_list_it_once(self, store: Engine, find: Any) -> None:
        ids = store_runs(store, summaries("Ledger DB down", "Ledger DB down", "Ledger DB up"))

        assert listed(store) == {"Ledger DB down", "Ledger DB up"}
        assert find("db down") == ids[:2]

    def test_renamed_summary_is_found_by_its_new_text_only(self, store: Engine, find: Any) -> None:
        [run_id] = store_runs(store, summaries("Entity evaluation: Payments API"))

        set_summary(store, run_id, "Entity evaluation: Billing Gateway")

        assert (find("payments"), find("billing gate")) == ([], [run_id])
        assert "Entity evaluation: Billing Gateway" in listed(store)

    def test_deleted_run_is_no_longer_found(self, store: Engine, find: Any) -> None:
        kept, deleted = store_runs(store, summaries("Ledger DB down", "Ledger DB up"))

        delete_run(store, deleted)

        assert find("ledger db") == [kept]

    def test_object_renames_need_no_dictionary(self, store: Engine, find: Any) -> None:
        [run_id] = store_runs(
            store,
            [RunSpec(fields={"summary": "Weekly"}, objects=[entity(1, "Payments API", "pay")])],
        )

        with store.begin() as connection:
            connection.execute(text("UPDATE notification_objects SET name = 'Billing Gateway'"))

        assert (find("payments"), find("billing gate")) == ([], [run_id])

    def test_a_run_found_by_summary_and_by_object_is_listed_once(
        self, store: Engine, find: Any
    ) -> None:
        both, by_object, by_summary = store_runs(
            store,
            [
                RunSpec(fields={"summary": "Payments API"}, objects=[entity(1, "Payments", "p")]),
                RunSpec(fields={"summary": "Weekly"}, objects=[entity(1, "Payments", "p")]),
                RunSpec(fields={"summary": "Payments DB"}),
            ],
        )

        assert find("payments") == [both, by_object, by_summary]


class TestLongSummaries:
    """A summary too long for the dictionary is matched where it lies, with the same answers."""

    LONG_SUMMARY = "Entity evaluation: " + ", ".join(f"service-{n:03}" for n in range(60))

    def test_a_long_summary_is_found_by_any_part(self, store: Engine, find: Any) -> None:
        assert len(self.LONG_SUMMARY) > LONG
        long, short = store_runs(
            store, summaries(self.LONG_SUMMARY, "Entity evaluation: service-059")
        )

        assert (find("SERVICE-059"), find("service-058"), find("evaluation")) == (
            [long, short],
            [long],
            [long, short],
        )
        assert listed(store) == {"Entity evaluation: service-059"}

    @pytest.mark.parametrize(
        ("length", "is_listed"),
        [
            pytest.param(LONG - 1, True, id="longest listed"),
            pytest.param(LONG, False, id="shortest long"),
            pytest.param(LONG + 1, False, id="longer"),
        ],
    )
    def test_summaries_shorter_than_long_are_listed_and_all_are_found(
        self, store: Engine, find: Any, length: int, is_listed: bool
    ) -> None:
        summary = "x" * (length - 3) + "END"
        [run_id] = store_runs(store, summaries(summary))

        assert (find("xend"), find("x" * (length - 3))) == ([run_id], [run_id])
        assert listed(store) == ({summary} if is_listed else set())

    def test_a_summary_lengthened_past_the_limit_is_still_found(
        self, store: Engine, find: Any
    ) -> None:
        [run_id] = store_runs(store, summaries("Entity evaluation: service-001"))

        set_summary(store, run_id, self.LONG_SUMMARY)

        assert find("service-042") == [run_id]


class TestPruning:
    """Retention unlists the summaries no run holds any more, once per purge."""

    def test_purge_unlists_summaries_of_deleted_and_renamed_runs(
        self, store: Engine, find: Any
    ) -> None:
        deleted, renamed, kept = store_runs(store, summaries("Ledger down", "Ledger up", "Weekly"))
        delete_run(store, deleted)
        set_summary(store, renamed, "Ledger back")
        assert listed(store) == {"Ledger down", "Ledger up", "Ledger back", "Weekly"}

        purge_nothing_old(store)

        assert listed(store) == {"Ledger back", "Weekly"}
        assert (find("ledger"), find("weekly")) == ([renamed], [kept])

    def test_purge_unlists_the_summaries_of_the_runs_it_removes(self, store: Engine) -> None:
        store_runs(store, summaries("Ledger down", "Weekly"))

        retention.purge(
            store, BASE_TIME + timedelta(days=40), timedelta(days=30), timedelta(days=14)
        )

        assert listed(store) == set()

    @POSTGRES_ONLY
    def test_a_run_written_while_the_prune_waits_keeps_its_summary_listed(
        self, store: Engine, find: Any
    ) -> None:
        # The summary's first run is gone; a second run with it is being written, and not
        # yet visible to the prune, which would otherwise unlist the summary.
        [first] = store_runs(store, summaries("Ledger down"))
        delete_run(store, first)
        with store.connect() as writer, ThreadPoolExecutor(max_workers=1) as pool:
            writing = writer.begin()
            later = insert_run(writer, "Ledger down")
            pruning = pool.submit(purge_nothing_old, store)
            wait_for_the_prune_to_wait(store)
            writing.commit()
            pruning.result()

        assert find("ledger") == [later]


def insert_run(connection: Connection, summary: str) -> int:
    """Insert one run with `summary` in the caller's transaction, as the engine does (the
    database numbers it); its id."""
    inserted = connection.execute(
        text(
            "INSERT INTO notification_runs (notification_type, medium, status, summary, "
            "delivered_count, seq_no, date_created, date_updated) VALUES ('SERVICE_REEVALUATED', "
            "'SLACK', 'COMPLETED', :summary, 0, 0, now(), now()) RETURNING id"
        ),
        {"summary": summary},
    )
    return int(inserted.scalar_one())


def wait_for_the_prune_to_wait(engine: Engine) -> None:
    """Return once the purge waits for its lock on the dictionary."""
    with engine.connect() as watcher:
        for _ in range(1000):
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query = :lock"
                ),
                {"lock": search.PRUNE_LOCK},
            ).scalar_one()
            watcher.rollback()
            if waiting:
                return
            time.sleep(0.005)  # polling another session's state
    raise AssertionError("the prune never waited for the writer")


class TestBulkLoad:
    """A bulk load suspends the dictionary's upkeep and lists every summary once at the end."""

    END = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

    def test_bulk_loaded_history_finds_what_a_scan_finds(self, store: Engine, find: Any) -> None:
        write_history(store, HistorySpec(runs=400, logs=None, seed=3, end=self.END))
        with store.connect() as connection:
            stored = connection.execute(text("SELECT id, summary FROM notification_runs")).all()
            named = connection.execute(
                text(
                    "SELECT l.run_id, o.name, o.tag, o.cid FROM notification_run_objects l "
                    "JOIN notification_objects o ON o.pk = l.object_pk"
                )
            ).all()
        texts: dict[int, list[str]] = {run_id: [summary] for run_id, summary in stored}
        for run_id, *names in named:
            texts[run_id] += [name for name in names if name]

        for query in ("Score dropped", "reminder:", "Service", stored[123].summary[-9:].strip()):
            expected = [
                run_id
                for run_id, held in sorted(texts.items())
                if any(query.lower() in written.lower() for written in held)
            ]
            assert sorted(find(query)) == expected, query

    def test_bulk_load_lists_every_summary_and_keeps_listing_after(self, store: Engine) -> None:
        write_history(store, HistorySpec(runs=200, logs=None, seed=3, end=self.END))
        loaded = listed(store)

        store_runs(store, summaries("Written after the load"))

        assert loaded == held(store) - {"Written after the load"}
        assert listed(store) == held(store)

    @POSTGRES_ONLY
    def test_bulk_load_rebuilds_the_search_indexes(self, store: Engine) -> None:
        write_history(store, HistorySpec(runs=50, logs=None, seed=3, end=self.END))

        with store.connect() as connection:
            indexes = set(
                connection.execute(
                    text(
                        "SELECT indexname FROM pg_indexes WHERE tablename IN "
                        "('notification_runs', 'notification_run_summaries')"
                    )
                ).scalars()
            )
        assert {
            search.RUNS_INDEX,
            search.LENGTH_INDEX,
            search.POSTGRESQL_TRIGRAM_INDEX,
        } <= indexes


@POSTGRES_ONLY
def test_search_without_pg_trgm_reads_every_listed_summary(store: Engine, find: Any) -> None:
    [run_id] = store_runs(store, summaries("Entity evaluation: Payments API"))
    [ensure] = [s for s in search.install_statements("postgresql") if "pg_trgm" in s]
    missing = ensure.replace("pg_trgm", "pg_trgm_not_installed")

    with store.begin() as connection:
        connection.exec_driver_sql(f"DROP INDEX {search.POSTGRESQL_TRIGRAM_INDEX}")
        connection.exec_driver_sql(missing)

    indexes = {index["name"] for index in inspect(store).get_indexes(search.TABLE)}
    assert search.POSTGRESQL_TRIGRAM_INDEX not in indexes
    assert find("payments api") == [run_id]


@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_one_statement_gives_a_page_and_its_total(
    store: Engine, client: TestClient, viewer_headers: dict[str, str], order: str
) -> None:
    ids = store_runs(store, summaries(*(f"Ledger {n}" for n in range(7)), "Weekly"))
    ledgers = ids[:7] if order == "ASC" else ids[6::-1]

    def page(number: int) -> dict[str, Any]:
        params = {
            "searchQuery": "ledger",
            "deliveredOnly": "false",
            "orderBy": order,
            "pageSize": "3",
            "page": str(number),
        }
        response = client.get(RUNS, params=params, headers=viewer_headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    with statements_run(store) as executed:
        first = page(0)
    last, past_the_end = page(2), page(5)

    assert [run["id"] for run in first["runs"]] == ledgers[:3]
    assert [run["id"] for run in last["runs"]] == ledgers[6:]
    assert (first["total"], last["total"], past_the_end["total"]) == (7, 7, 7)
    assert past_the_end["runs"] == []
    assert len([sql for sql in executed if search.TABLE in sql]) == 1


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL `engine` runs while the block runs."""
    executed: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", record)


# The migration that introduced the dictionary ---------------------------------------------


def test_migration_lists_the_summaries_of_the_runs_already_stored(empty_database_url: str) -> None:
    engine = create_db_engine(empty_database_url)
    upgrade(engine, "0013")
    long_summary = "Ledger " + "x" * LONG
    ledger, long, weekly = store_runs(engine, summaries("Ledger DB down", long_summary, "Weekly"))

    upgrade(engine, "0014")

    assert listed(engine) == {"Ledger DB down", "Weekly"}
    with engine.connect() as connection:
        found = connection.execute(
            repository.run_page_statement(
                RunFilter(search_query="LEDGER", delivered_only=False), PageRequest()
            )
        ).all()
    assert [row[0] for row in found] == [long, ledger]
    assert weekly not in [row[0] for row in found]
    engine.dispose()


def test_downgrade_restores_the_trigram_index_over_the_runs(empty_database_url: str) -> None:
    engine = create_db_engine(empty_database_url)
    upgrade(engine)
    store_runs(engine, summaries("Ledger DB down", "Weekly"))
    config = alembic_config(engine)

    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")

    assert search.TABLE not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            table = search.SQLITE_TABLE
            matched = connection.exec_driver_sql(
                f"SELECT count(*) FROM {table} WHERE {table} MATCH '\"ledger db\"'"
            ).scalar_one()
            assert matched == 1
        else:
            indexes = {
                index["name"] for index in inspect(connection).get_indexes("notification_runs")
            }
            assert search.POSTGRESQL_INDEX in indexes
    engine.dispose()


# Indexed search against its specification ----------------------------------------------------

TRICKY = 'aAbBiIkK %_"*:-İ\u0131i\u0307Σ\u03c3ςᏣꮳᲗთßẞKüÜ'


def _ascii_lower(value: str) -> str:
    return value.translate({code: code + 32 for code in range(ord("A"), ord("Z") + 1)})


def matches(summary: str, query: str) -> bool:
    """SQLite's searchQuery, spelled in Python: an ASCII query folds ASCII letters only."""
    if query.isascii():
        return _ascii_lower(query) in _ascii_lower(summary)
    return query.lower() in summary.lower()


@st.composite
def summaries_and_query(draw: st.DrawFn) -> tuple[list[str], str]:
    """A few summaries, and a query that is often a re-cased piece of one of them."""
    texts = draw(st.lists(st.text(TRICKY, min_size=1, max_size=12), min_size=1, max_size=5))
    source = draw(st.sampled_from(texts))
    start = draw(st.integers(0, len(source)))
    piece = source[start : start + draw(st.integers(1, 8))]
    recased = draw(st.sampled_from([piece, piece.upper(), piece.lower(), piece.swapcase()]))
    query = draw(st.one_of(st.just(recased), st.text(TRICKY, min_size=1, max_size=6)))
    return texts, query


def _searched(connection: Connection, query: str) -> list[int]:
    condition = repository.run_conditions(RunFilter(search_query=query, delivered_only=False))
    return sorted(connection.execute(select(repository.runs.c.id).where(*condition)).scalars())


def _scanned(connection: Connection, query: str) -> list[int]:
    """The runs whose summary the exact match accepts, read from every run."""
    runs = repository.runs
    condition = repository._contains(runs.c.summary, query)
    return sorted(connection.execute(select(runs.c.id).where(condition)).scalars())


PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(case=summaries_and_query())
def test_search_finds_exactly_what_a_scan_of_the_runs_finds(
    store: Engine, case: tuple[list[str], str]
) -> None:
    texts, query = case
    with store.begin() as connection:
        # The dictionary keeps what earlier examples listed: stale entries must not matter.
        connection.execute(text("DELETE FROM notification_runs"))
    store_runs(store, summaries(*texts))

    with store.connect() as connection:
        assert _searched(connection, query) == _scanned(connection, query)


@SQLITE_ONLY
@PROPERTY
@given(case=summaries_and_query())
def test_search_on_sqlite_finds_exactly_the_matching_summaries(
    store: Engine, case: tuple[list[str], str]
) -> None:
    texts, query = case
    with store.begin() as connection:
        connection.execute(text("DELETE FROM notification_runs"))
    ids = store_runs(store, summaries(*texts))

    with store.connect() as connection:
        assert _searched(connection, query) == [
            i for i, t in zip(ids, texts, strict=True) if matches(t, query)
        ]

"""searchQuery through the trigram index: the answers of a scan, at the cost of a lookup.

The index only proposes runs and the exact match decides, so every test here states an
answer the plain substring match gives: for queries too short for a trigram, for letters
beyond ASCII (some of which the SQLite tokenizer does not fold), for characters that mean
something to LIKE or FTS5, after summaries change, and after a bulk load rebuilt the index.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from tests.support.builders import RunSpec, entity, store_runs
from tidings.generator.history import HistorySpec, write_history
from tidings.logs import repository, search
from tidings.logs.filters import RunFilter
from tidings.runtime import Runtime

RUNS = "/api/v1/notifications/logs/run"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


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


def assert_index_consistent(engine: Engine) -> None:
    """SQLite: FTS5's own check that the index holds exactly the runs' summaries."""
    if engine.dialect.name != "sqlite":
        return
    table = search.SQLITE_TABLE
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"
        )


class TestShortQueries:
    """Fewer than three characters hold no trigram: the summaries are scanned."""

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
    """Nothing in a query is syntax: not LIKE's wildcards, not FTS5's query language."""

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


class TestBeyondAscii:
    """Case is ignored in every alphabet, whatever the tokenizer knows of it."""

    @pytest.mark.parametrize(
        ("summary", "query"),
        [
            pytest.param("Zahlungen ÜBER alles", "über all", id="German capitals"),
            pytest.param("zahlungen über alles", "ÜBER ALL", id="German query in capitals"),
            pytest.param("ΠΛΗΡΩΜΈΣ", "πληρωμέ", id="Greek"),
            pytest.param("ПЛАТЕЖИ готовы", "платежи", id="Cyrillic"),
            # Python lowers İ to 'i' + a combining dot; the tokenizer keeps 'İ'.
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
    def test_letters_the_tokenizer_does_not_fold_are_still_found(
        self, store: Engine, find: Any, summary: str, query: str
    ) -> None:
        [run_id] = store_runs(store, summaries(summary))

        assert find(query) == [run_id]


class TestIndexUpkeep:
    """The index follows every change to the runs, in the same transaction."""

    def test_renamed_summary_is_found_by_its_new_text_only(self, store: Engine, find: Any) -> None:
        [run_id] = store_runs(store, summaries("Entity evaluation: Payments API"))

        with store.begin() as connection:
            connection.execute(
                text("UPDATE notification_runs SET summary = :summary WHERE id = :id"),
                {"summary": "Entity evaluation: Billing Gateway", "id": run_id},
            )

        assert (find("payments"), find("billing gate")) == ([], [run_id])
        assert_index_consistent(store)

    def test_deleted_run_is_no_longer_found(self, store: Engine, find: Any) -> None:
        kept, deleted = store_runs(store, summaries("Ledger DB down", "Ledger DB up"))

        with store.begin() as connection:
            connection.execute(
                text("DELETE FROM notification_runs WHERE id = :id"), {"id": deleted}
            )

        assert find("ledger db") == [kept]
        assert_index_consistent(store)

    def test_object_renames_need_no_index(self, store: Engine, find: Any) -> None:
        [run_id] = store_runs(
            store,
            [RunSpec(fields={"summary": "Weekly"}, objects=[entity(1, "Payments API", "pay")])],
        )

        with store.begin() as connection:
            connection.execute(text("UPDATE notification_objects SET name = 'Billing Gateway'"))

        assert (find("payments"), find("billing gate")) == ([], [run_id])


class TestBulkLoad:
    """A bulk load suspends the index's upkeep and rebuilds it once at the end."""

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
        assert_index_consistent(store)

    @POSTGRES_ONLY
    def test_bulk_load_rebuilds_the_trigram_index(self, store: Engine) -> None:
        write_history(store, HistorySpec(runs=50, logs=None, seed=3, end=self.END))

        with store.connect() as connection:
            indexes = connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'notification_runs'")
            ).scalars()
            assert search.POSTGRESQL_INDEX in set(indexes)


@POSTGRES_ONLY
def test_migration_without_pg_trgm_leaves_search_scanning(store: Engine, find: Any) -> None:
    [run_id] = store_runs(store, summaries("Entity evaluation: Payments API"))
    missing = search.POSTGRESQL_ENSURE_INDEX.replace("pg_trgm", "pg_trgm_not_installed")

    with store.begin() as connection:
        connection.exec_driver_sql(search.POSTGRESQL_DROP_INDEX)
        connection.exec_driver_sql(missing)

    assert find("payments api") == [run_id]


# Indexed search against its specification, on SQLite: there the index folds case by its own
# rules (PostgreSQL's trigram index serves the exact LIKE itself, so it cannot disagree).
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


@SQLITE_ONLY
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=summaries_and_query())
def test_indexed_search_finds_exactly_the_matching_summaries(
    store: Engine, case: tuple[list[str], str]
) -> None:
    texts, query = case
    with store.begin() as connection:
        connection.execute(text("DELETE FROM notification_runs"))
    ids = store_runs(store, summaries(*texts))
    condition = repository.run_conditions(RunFilter(search_query=query, delivered_only=False))

    with store.connect() as connection:
        found = connection.execute(select(repository.runs.c.id).where(*condition)).scalars()
        assert sorted(found) == [i for i, t in zip(ids, texts, strict=True) if matches(t, query)]

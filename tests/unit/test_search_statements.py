"""logs.repository: a search statement is built once per shape and bound with each search's
values, so every value in it must be a named parameter that `search_parameters` supplies."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from tidings.enums import Medium, NotificationType, RunFailedReason, RunStatus, SortOrder
from tidings.kit.pagination import PageRequest
from tidings.logs import repository
from tidings.logs.filters import RunFilter

# Pairs of searches of one shape (the same filters present, one value or several alike, the
# same order) and different values.
SAME_SHAPE = {
    "query alone": (
        (RunFilter(search_query="payments"), PageRequest(page=0)),
        (RunFilter(search_query="50%_off/now"), PageRequest(page=3, page_size=10)),
    ),
    "one value of an enum, dates": (
        (
            RunFilter(
                search_query="jobs",
                types=frozenset({NotificationType.INITIATIVE_CREATION}),
                from_date=datetime(2026, 1, 1, tzinfo=UTC),
                until_date=datetime(2026, 2, 1, tzinfo=UTC),
            ),
            PageRequest(page=1, order=SortOrder.ASC),
        ),
        (
            RunFilter(
                search_query="stream",
                types=frozenset({NotificationType.WEEKLY_REPORT}),
                from_date=datetime(2025, 6, 1, 12, 30, 0, 500, tzinfo=UTC),
                until_date=datetime(2025, 7, 1, tzinfo=UTC),
            ),
            PageRequest(page=7, page_size=50, order=SortOrder.ASC),
        ),
    ),
    "several values, not only delivered": (
        (
            RunFilter(
                search_query="Ünïcode",
                statuses=frozenset({RunStatus.FAILED, RunStatus.COMPLETED}),
                mediums=frozenset({Medium.SLACK, Medium.EMAIL}),
                failed_reasons=frozenset({RunFailedReason.INTERNAL_ERROR}),
                delivered_only=False,
            ),
            PageRequest(page=0),
        ),
        (
            RunFilter(
                search_query="Ärger",
                statuses=frozenset({RunStatus.IGNORED, RunStatus.CREATED, RunStatus.FAILED}),
                mediums=frozenset({Medium.WEBHOOK, Medium.MICROSOFT_TEAMS}),
                failed_reasons=frozenset({RunFailedReason.PACKET_GENERATOR_ERROR}),
                delivered_only=False,
            ),
            PageRequest(page=2),
        ),
    ),
}
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def compiled(f: RunFilter, page: PageRequest, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    statement = repository.run_search_statement(f, page).compile(dialect=dialect)
    return str(statement), dict(statement.params)


@pytest.mark.parametrize("dialect", DIALECTS.values(), ids=DIALECTS.keys())
@pytest.mark.parametrize(("first", "second"), SAME_SHAPE.values(), ids=SAME_SHAPE.keys())
def test_searches_of_one_shape_differ_only_in_the_values_bound_by_name(
    first: tuple[RunFilter, PageRequest],
    second: tuple[RunFilter, PageRequest],
    dialect: Dialect,
) -> None:
    first_sql, first_values = compiled(*first, dialect)
    second_sql, second_values = compiled(*second, dialect)
    first_named = repository.search_parameters(first[0], str(first[0].search_query), first[1])
    second_named = repository.search_parameters(second[0], str(second[0].search_query), second[1])

    assert first_sql == second_sql
    assert {name: first_values[name] for name in first_named} == first_named
    assert {name: second_values[name] for name in second_named} == second_named
    # Whatever is not named is a constant of the shape.
    assert {n: v for n, v in first_values.items() if n not in first_named} == {
        n: v for n, v in second_values.items() if n not in second_named
    }


def test_a_query_and_a_filter_of_another_shape_get_their_own_statement() -> None:
    page = PageRequest(page=0)
    ascii_sql, _ = compiled(RunFilter(search_query="jobs"), page, DIALECTS["sqlite"])
    folded_sql, _ = compiled(RunFilter(search_query="jöbs"), page, DIALECTS["sqlite"])
    dated = RunFilter(search_query="jobs", from_date=datetime(2026, 1, 1, tzinfo=UTC))
    dated_sql, _ = compiled(dated, page, DIALECTS["sqlite"])

    assert len({ascii_sql, folded_sql, dated_sql}) == 3
    shapes = {
        repository._search_shape(f, str(f.search_query), page)
        for f in (RunFilter(search_query="jobs"), RunFilter(search_query="jöbs"), dated)
    }
    assert len(shapes) == 3


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("Payments", "%payments%"),
        ("50%", "%50/%%"),
        ("snake_case", "%snake/_case%"),
        ("a/b", "%a//b%"),
    ],
)
def test_a_query_is_matched_literally_anywhere_ignoring_case(query: str, pattern: str) -> None:
    assert repository._like_pattern(query) == pattern

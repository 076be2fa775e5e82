"""Input that cannot be read is a 400 ErrorResponse naming the parameter; nothing is a 500.

One store per backend serves the whole module; it holds a few runs and logs so that a
mistaken 200 would have something to return.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.support.api import LOGS, RUNS, Api, serving
from tests.support.builders import RunSpec, entity, store_runs
from tidings.kit.errors import ErrorType

ERROR_FIELDS = {"type", "message", "details", "httpStatus", "gatewayHttpStatus", "requestId"}
TABLES = (
    "api_keys",
    "notification_runs",
    "notification_logs",
    "notification_objects",
    "notification_run_objects",
    "notification_log_tallies",
)


@pytest.fixture(scope="module")
def api(module_database_url: str) -> Iterator[Api]:
    """The app over a store holding three runs with logs and objects."""
    with serving(module_database_url) as served:
        store_runs(
            served.engine,
            [
                RunSpec(logs=[{}, {}], objects=[entity(1, "Payments API", "payments-api")]),
                RunSpec(logs=[{"recipient_email": "grace@example.com"}]),
                RunSpec(fields={"summary": "Nothing delivered"}),
            ],
        )
        yield served


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as connection:
        return {
            table: sorted(
                (tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))),
                key=repr,
            )
            for table in TABLES
        }


# (query, the parameters the details must name), valid on both endpoints.
SHARED_BAD = [
    ("notificationTypes=WEEKLY_DIGEST", ["notificationTypes"]),
    ("notificationTypes=WEEKLY_REPORT,NOPE", ["notificationTypes"]),
    ("mediums=FAX", ["mediums"]),
    ("orderBy=SIDEWAYS", ["orderBy"]),
    ("pageSize=0", ["pageSize"]),
    ("pageSize=1001", ["pageSize"]),
    ("pageSize=-1", ["pageSize"]),
    ("pageSize=abc", ["pageSize"]),
    ("pageSize=2.5", ["pageSize"]),
    ("pageSize=1e2", ["pageSize"]),
    ("pageSize=99999999999999999999", ["pageSize"]),
    ("page=-1", ["page"]),
    ("page=one", ["page"]),
    ("page=1.0", ["page"]),
    ("page=0x10", ["page"]),
    ("page=2147483648", ["page"]),
    ("fromDate=yesterday", ["fromDate"]),
    ("fromDate=2026-11-01T25:00:00", ["fromDate"]),
    ("fromDate=1700000000", ["fromDate"]),
    ("untilDate=2026-13-01T00:00:00", ["untilDate"]),
    ("untilDate=2026-11-31", ["untilDate"]),
    ("untilDate=2026-11-01T12:00:00%2B25:00", ["untilDate"]),
    (
        "fromDate=2026-11-02T00:00:00Z&untilDate=2026-11-01T00:00:00Z",
        ["fromDate", "untilDate"],
    ),
    (
        "fromDate=2026-11-01T12:00:00.001Z&untilDate=2026-11-01T12:00:00Z",
        ["fromDate", "untilDate"],
    ),
    (
        "fromDate=2026-11-01T12:00:00Z&untilDate=2026-11-01T13:00:00%2B02:00",
        ["fromDate", "untilDate"],
    ),
]
LOGS_BAD = [
    ("statuses=SENT", ["statuses"]),
    ("statuses=COMPLETED", ["statuses"]),
    ("recipientTypes=GROUP", ["recipientTypes"]),
    ("ignoredReasons=BORED", ["ignoredReasons"]),
    ("failedReasons=INTERNAL_ERROR", ["failedReasons"]),
    ("notificationRunIds=abc", ["notificationRunIds"]),
    ("notificationRunIds=1,two", ["notificationRunIds"]),
    ("notificationRunIds=1.5", ["notificationRunIds"]),
    ("notificationRunIds=9223372036854775808", ["notificationRunIds"]),
    ("recipientEntityIds=entity-77", ["recipientEntityIds"]),
    ("recipientEntityIds=7.7", ["recipientEntityIds"]),
]
RUNS_BAD = [
    ("statuses=DELIVERED", ["statuses"]),
    ("ignoredReasons=USER_UNSUBSCRIBED", ["ignoredReasons"]),
    ("failedReasons=CLIENT_ERROR", ["failedReasons"]),
    ("includeObjects=maybe", ["includeObjects"]),
    ("includeObjects=2", ["includeObjects"]),
    ("deliveredOnly=perhaps", ["deliveredOnly"]),
    ("deliveredOnly=tru", ["deliveredOnly"]),
]
BAD_INPUT = [
    *(
        pytest.param(path, query, named, id=f"{endpoint} {query}")
        for path, endpoint in ((LOGS, "logs"), (RUNS, "runs"))
        for query, named in SHARED_BAD
    ),
    *(pytest.param(LOGS, query, named, id=f"logs {query}") for query, named in LOGS_BAD),
    *(pytest.param(RUNS, query, named, id=f"runs {query}") for query, named in RUNS_BAD),
    pytest.param(LOGS, "pageSize=1_0", ["pageSize"], id="logs pageSize=1_0"),
    pytest.param(
        LOGS,
        "notificationRunIds=1_0",
        ["notificationRunIds"],
        id="logs notificationRunIds=1_0",
    ),
]


class TestBadInputIsA400:
    """Each unreadable parameter is a 400 ErrorResponse whose details name it."""

    @pytest.mark.parametrize(("path", "query", "named"), BAD_INPUT)
    def test_bad_input_is_a_400_error_response_naming_the_parameter(
        self, api: Api, path: str, query: str, named: list[str]
    ) -> None:
        response = api.get(path, query)

        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) <= ERROR_FIELDS
        assert body["type"] == ErrorType.BAD_REQUEST
        assert isinstance(body["message"], str)
        assert body["message"]
        assert body["httpStatus"] == 400
        assert [name for name in named if name not in body["details"]] == []
        assert body["requestId"] == response.headers["X-Request-Id"]

    def test_a_400_changes_nothing(self, api: Api) -> None:
        before = snapshot(api.engine)
        answers_before = [api.get(path, "deliveredOnly=false").json() for path in (LOGS, RUNS)]

        statuses = [
            api.get(path, query).status_code for path in (LOGS, RUNS) for query, _ in SHARED_BAD
        ]

        assert set(statuses) == {400}
        assert snapshot(api.engine) == before
        assert [api.get(path, "deliveredOnly=false").json() for path in (LOGS, RUNS)] == (
            answers_before
        )


# Odd but readable input: answered with 200 (or a 400), never a server error.
NUL = "%00"
LOG_EXTREMES = [
    pytest.param("fromDate=0001-01-01T00:00:00Z", id="from year 1"),
    pytest.param("untilDate=0001-01-01T00:00:00Z", id="until year 1"),
    pytest.param("untilDate=9999-12-31T00:00:00Z", id="until 9999-12-31 midnight"),
    pytest.param("fromDate=9999-12-31T23:59:59.999Z", id="from last ms"),
    pytest.param("untilDate=9999-12-31T23:59:59.999Z", id="until last ms"),
    pytest.param("untilDate=9999-12-31T23:59:59.999999", id="until last us"),
    pytest.param(
        "fromDate=0001-01-01T00:00:00Z&untilDate=9999-12-31T23:59:59.999Z",
        id="everything ever",
    ),
    pytest.param("page=2147483647&pageSize=1000", id="last page of 1000"),
    pytest.param("page=2147483647&pageSize=1", id="last page of 1"),
    pytest.param("notificationRunIds=-9223372036854775808,9223372036854775807", id="int64 ids"),
    pytest.param("recipientEntityIds=-9223372036854775808,9223372036854775807,0", id="entities"),
    pytest.param("notificationRunIds=" + ",".join(map(str, range(1, 2001))), id="2000 ids"),
    pytest.param("recipientEmails=" + "x" * 5000, id="long email"),
    pytest.param("recipientChannels=%23" + "y" * 5000, id="long channel"),
    pytest.param("recipientEmails=%27%3B%20DROP%20TABLE%20notification_logs%3B--", id="quote"),
    pytest.param(f"recipientEmails={NUL}", id="NUL email"),
    pytest.param(f"recipientChannels={NUL}", id="NUL channel"),
]
RUN_EXTREMES = [
    pytest.param("fromDate=0001-01-01T00:00:00Z", id="from year 1"),
    pytest.param("untilDate=9999-12-31T23:59:59.999Z", id="until last ms"),
    pytest.param(
        "fromDate=0001-01-01T00:00:00Z&untilDate=9999-12-31T23:59:59.999Z&deliveredOnly=false",
        id="everything ever",
    ),
    pytest.param("page=2147483647&pageSize=1000", id="last page of 1000"),
    pytest.param("searchQuery=" + "z" * 10_000, id="long search"),
    pytest.param("searchQuery=%25%25%25_%5C%5C", id="wildcards and backslashes"),
    pytest.param("searchQuery=%27%3B%20DROP%20TABLE%20notification_runs%3B--", id="quote"),
    pytest.param(f"searchQuery={NUL}", id="NUL search"),
]


class TestNeverAServerError:
    """Extreme but readable values get an answer, not a 500."""

    @pytest.mark.parametrize(
        ("path", "query"),
        [
            *(
                pytest.param(LOGS, *case.values, marks=case.marks, id=f"logs {case.id}")
                for case in LOG_EXTREMES
            ),
            *(
                pytest.param(RUNS, *case.values, marks=case.marks, id=f"runs {case.id}")
                for case in RUN_EXTREMES
            ),
        ],
    )
    def test_extreme_value_is_answered_without_a_server_error(
        self, api: Api, path: str, query: str
    ) -> None:
        response = api.get(path, query)

        assert response.status_code in {200, 400}, response.text
        assert response.headers["content-type"] == "application/json"

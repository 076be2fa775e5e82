"""`GET /api/v1/notifications/logs/run`: every parameter, the envelope, the fields, objects.

One store per backend serves the whole module; each test stores exactly the runs it
describes and the store is emptied after it.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine

from tests.support.api import Api
from tests.support.builders import RunSpec, entity, store_runs
from tidings.enums import (
    Medium,
    NotificationType,
    ObjectType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def run(**fields: Any) -> RunSpec:
    """A run with the given fields and no logs."""
    return RunSpec(fields=fields)


def labelled(ids: list[int], labels: str) -> dict[int, str]:
    """Labels of stored runs by id, in the order they were stored."""
    return dict(zip(ids, labels, strict=True))


def names(body: dict[str, Any], label_of: dict[int, str]) -> str:
    """The labels of the runs in a body, in body order."""
    return "".join(label_of[item["id"]] for item in body["runs"])


T, S, F = NotificationType, RunStatus, Medium

# Eight runs labelled a..h in storing order; the filter table below names them.
FILTER_WORLD = [
    run(notification_type=T.SERVICE_REEVALUATED, medium=F.SLACK, delivered_count=2),
    run(
        notification_type=T.WEEKLY_REPORT,
        medium=F.EMAIL,
        status=S.COMPLETED_WITH_ERRORS,
        delivered_count=1,
    ),
    run(
        notification_type=T.ENTITY_SCORE_DROPPED,
        medium=F.MICROSOFT_TEAMS,
        status=S.FAILED,
        failed_reason=RunFailedReason.PACKET_GENERATOR_ERROR,
        error_message="template exploded",
    ),
    run(
        notification_type=T.INITIATIVE_CREATION,
        medium=F.WEBHOOK,
        status=S.IGNORED,
        ignored_reason=RunIgnoredReason.SCORECARD_DISABLED,
    ),
    run(
        notification_type=T.SERVICE_REEVALUATED,
        medium=F.EMAIL,
        status=S.IGNORED,
        ignored_reason=RunIgnoredReason.NO_RECIPIENTS,
    ),
    run(notification_type=T.WORKFLOW_STATUS_UPDATE, medium=F.SLACK, status=S.CREATED),
    run(
        notification_type=T.WEEKLY_REPORT,
        medium=F.SLACK,
        status=S.FAILED,
        failed_reason=RunFailedReason.CONTEXT_RESOLUTION_ERROR,
    ),
    run(notification_type=T.SERVICE_REEVALUATED, medium=F.WEBHOOK, delivered_count=5),
]
FILTER_LABELS = "abcdefgh"
EVERY_RUN = {"deliveredOnly": "false"}

FILTER_CASES = [
    pytest.param(EVERY_RUN, "abcdefgh", id="no filter"),
    pytest.param(EVERY_RUN | {"notificationTypes": "SERVICE_REEVALUATED"}, "aeh", id="one type"),
    pytest.param(
        EVERY_RUN | {"notificationTypes": ["WEEKLY_REPORT", "INITIATIVE_CREATION"]},
        "bdg",
        id="two types",
    ),
    pytest.param(EVERY_RUN | {"notificationTypes": "ONCALL_ASSISTANT"}, "", id="type no runs"),
    pytest.param(EVERY_RUN | {"statuses": "COMPLETED"}, "ah", id="completed"),
    pytest.param(EVERY_RUN | {"statuses": "COMPLETED_WITH_ERRORS"}, "b", id="with errors"),
    pytest.param(EVERY_RUN | {"statuses": "CREATED"}, "f", id="created"),
    pytest.param(EVERY_RUN | {"statuses": ["FAILED", "IGNORED"]}, "cdeg", id="failed or ignored"),
    pytest.param(EVERY_RUN | {"mediums": "SLACK"}, "afg", id="one medium"),
    pytest.param(EVERY_RUN | {"mediums": ["EMAIL", "WEBHOOK"]}, "bdeh", id="two mediums"),
    pytest.param(EVERY_RUN | {"ignoredReasons": "SCORECARD_DISABLED"}, "d", id="one ignored"),
    pytest.param(
        EVERY_RUN | {"ignoredReasons": ["NO_RECIPIENTS", "WORKSPACE_DISABLED"]},
        "e",
        id="two ignored reasons",
    ),
    pytest.param(EVERY_RUN | {"failedReasons": "PACKET_GENERATOR_ERROR"}, "c", id="one failed"),
    pytest.param(
        EVERY_RUN | {"failedReasons": ["CONTEXT_RESOLUTION_ERROR", "INTERNAL_ERROR"]},
        "g",
        id="two failed reasons",
    ),
    pytest.param(EVERY_RUN | {"statuses": "FAILED", "mediums": "SLACK"}, "g", id="status+medium"),
    pytest.param(
        EVERY_RUN | {"notificationTypes": "SERVICE_REEVALUATED", "statuses": "COMPLETED"},
        "ah",
        id="type+status",
    ),
    pytest.param({}, "abh", id="delivered only by default"),
    pytest.param({"mediums": "SLACK"}, "a", id="delivered slack"),
    pytest.param({"statuses": "FAILED"}, "", id="delivered failed"),
]


class TestFilters:
    """Values of one parameter are alternatives; different parameters must all hold."""

    @pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
    def test_filter_returns_exactly_the_matching_runs(
        self, api: Api, store: Engine, params: dict[str, Any], expected: str
    ) -> None:
        label_of = labelled(store_runs(store, FILTER_WORLD), FILTER_LABELS)

        body = api.runs(params | {"orderBy": "ASC"})

        assert names(body, label_of) == expected
        assert body["total"] == len(expected)

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"fromDate": "2026-11-01T12:01:00Z"}, "bc"),
            ({"fromDate": "2026-11-01T12:01:00.001Z"}, "c"),
            ({"untilDate": "2026-11-01T12:01:00Z"}, "ab"),
            ({"untilDate": "2026-11-01T12:00:59.999Z"}, "a"),
            ({"fromDate": "2026-11-01T12:01:00Z", "untilDate": "2026-11-01T12:01:00Z"}, "b"),
        ],
    )
    def test_date_range_is_inclusive_on_date_created(
        self, api: Api, store: Engine, params: dict[str, str], expected: str
    ) -> None:
        # store_runs creates its runs one minute apart from 2026-11-01T12:00Z.
        label_of = labelled(store_runs(store, [run(delivered_count=1)] * 3), "abc")

        body = api.runs(params | {"orderBy": "ASC"})

        assert names(body, label_of) == expected


class TestDeliveredOnly:
    """deliveredOnly (default true) keeps the runs with deliveredCount >= 1."""

    COUNTS = (0, 1, 2, 7)

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({}, "bcd"),
            ({"deliveredOnly": "true"}, "bcd"),
            ({"deliveredOnly": "false"}, "abcd"),
        ],
    )
    def test_delivered_only_keeps_runs_that_delivered_at_least_once(
        self, api: Api, store: Engine, params: dict[str, str], expected: str
    ) -> None:
        ids = store_runs(store, [run(delivered_count=count) for count in self.COUNTS])

        body = api.runs(params | {"orderBy": "ASC"})

        assert names(body, labelled(ids, "abcd")) == expected
        assert body["total"] == len(expected)

    def test_delivered_only_looks_at_the_count_not_the_status(
        self, api: Api, store: Engine
    ) -> None:
        ids = store_runs(
            store,
            [
                run(status=S.COMPLETED, delivered_count=0),
                run(status=S.COMPLETED_WITH_ERRORS, delivered_count=3),
            ],
        )

        assert [item["id"] for item in api.runs()["runs"]] == [ids[1]]


class TestSearchQuery:
    """searchQuery: case-insensitive substring of the summary or an object's name, tag or cid."""

    WORLD: ClassVar[list[RunSpec]] = [
        RunSpec(
            fields={"summary": "Entity evaluation: Payments API", "delivered_count": 1},
            objects=[entity(1, "Payments API", "payments-api", "en2da8159dbeefb974")],
        ),
        RunSpec(
            fields={"summary": "Weekly report", "delivered_count": 1},
            objects=[
                {
                    "object_type": ObjectType.SCORECARD,
                    "object_id": 5,
                    "name": "Production Readiness",
                    "tag": "prod-readiness",
                    "cid": None,
                    "url": "https://tidings.example.com/scorecards/5",
                }
            ],
        ),
        RunSpec(
            fields={"summary": "Deadline approaching", "delivered_count": 1},
            objects=[
                {
                    "object_type": ObjectType.INITIATIVE,
                    "object_id": 9,
                    "name": "Q4 Migration",
                    "tag": None,
                    "cid": None,
                    "url": None,
                }
            ],
        ),
        run(summary="Coverage reached 100% on checkout_svc", delivered_count=1),
        run(summary="Coverage reached 100 on checkoutXsvc", delivered_count=1),
        run(summary="Path a/b and C:\\temp changed", delivered_count=1),
    ]
    LABELS = "abcdef"

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            pytest.param("payments", "a", id="summary lower case"),
            pytest.param("PAYMENTS api", "a", id="summary upper case"),
            pytest.param("ation: pay", "a", id="summary across words"),
            pytest.param("readiness", "b", id="object name"),
            pytest.param("PROD-READ", "b", id="object tag"),
            pytest.param("2DA8159DBEEF", "a", id="object cid"),
            pytest.param("q4 migr", "c", id="initiative name"),
            pytest.param("coverage", "de", id="two summaries"),
            pytest.param("100%", "d", id="percent is literal"),
            pytest.param("%", "d", id="lone percent"),
            pytest.param("_", "d", id="lone underscore"),
            pytest.param("checkout_svc", "d", id="underscore is literal"),
            pytest.param("a/b", "f", id="slash is literal"),
            pytest.param("c:\\temp", "f", id="backslash is literal"),
            pytest.param("nothing like this", "", id="no match"),
        ],
    )
    def test_search_matches_summary_and_object_name_tag_cid(
        self, api: Api, store: Engine, query: str, expected: str
    ) -> None:
        label_of = labelled(store_runs(store, self.WORLD), self.LABELS)

        body = api.runs({"searchQuery": query, "orderBy": "ASC"})

        assert names(body, label_of) == expected
        assert body["total"] == len(expected)

    @pytest.mark.parametrize("blank", ["", "   ", "\t"])
    def test_blank_search_is_no_filter(self, api: Api, store: Engine, blank: str) -> None:
        store_runs(store, self.WORLD)

        assert api.runs({"searchQuery": blank})["total"] == len(self.LABELS)

    def test_run_with_several_matching_objects_is_listed_once(
        self, api: Api, store: Engine
    ) -> None:
        [run_id] = store_runs(
            store,
            [
                RunSpec(
                    fields={"summary": "Checkout services", "delivered_count": 1},
                    objects=[
                        entity(1, "Checkout API", "checkout-api"),
                        entity(2, "Checkout Worker", "checkout-worker"),
                    ],
                )
            ],
        )

        body = api.runs({"searchQuery": "checkout"})

        assert ([item["id"] for item in body["runs"]], body["total"]) == ([run_id], 1)

    def test_search_and_delivered_only_both_hold(self, api: Api, store: Engine) -> None:
        [undelivered] = store_runs(store, [run(summary="Payments API down", delivered_count=0)])

        assert api.runs({"searchQuery": "payments"})["total"] == 0
        found = api.runs({"searchQuery": "payments", "deliveredOnly": "false"})
        assert [item["id"] for item in found["runs"]] == [undelivered]

    def test_case_is_ignored_beyond_ascii(self, api: Api, store: Engine) -> None:
        store_runs(store, [run(summary="Zahlungen ÜBER alles", delivered_count=1)])

        assert api.runs({"searchQuery": "über"})["total"] == 1


class TestIncludeObjects:
    """notificationObjects only with includeObjects=true, in the run's order, absent fields out."""

    OBJECTS: ClassVar[list[dict[str, Any]]] = [
        {
            "object_type": ObjectType.SCORECARD,
            "object_id": 30,
            "name": "Production Readiness",
            "tag": "prod-readiness",
            "cid": None,
            "url": "https://tidings.example.com/scorecards/30",
        },
        entity(10, "Checkout Service", "checkout-svc", "en1111111111111111"),
        {
            "object_type": ObjectType.INITIATIVE,
            "object_id": 20,
            "name": "Q4 Migration",
            "tag": None,
            "cid": None,
            "url": None,
        },
    ]

    def test_objects_come_in_the_runs_order_with_their_fields(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(store, [RunSpec(fields={"delivered_count": 1}, objects=self.OBJECTS)])

        [item] = api.runs({"includeObjects": "true"})["runs"]

        assert item["notificationObjects"] == [
            {
                "id": 30,
                "name": "Production Readiness",
                "type": "SCORECARD",
                "tag": "prod-readiness",
                "url": "https://tidings.example.com/scorecards/30",
            },
            {
                "id": 10,
                "name": "Checkout Service",
                "type": "ENTITY",
                "tag": "checkout-svc",
                "cid": "en1111111111111111",
                "url": "https://tidings.example.com/catalog/checkout-svc",
            },
            {"id": 20, "name": "Q4 Migration", "type": "INITIATIVE"},
        ]

    @pytest.mark.parametrize("params", [{}, {"includeObjects": "false"}])
    def test_objects_are_left_out_unless_asked_for(
        self, api: Api, store: Engine, params: dict[str, str]
    ) -> None:
        store_runs(store, [RunSpec(fields={"delivered_count": 1}, objects=self.OBJECTS)])

        [item] = api.runs(params)["runs"]

        assert "notificationObjects" not in item

    def test_run_without_objects_has_an_empty_list(self, api: Api, store: Engine) -> None:
        store_runs(store, [run(delivered_count=1)])

        [item] = api.runs({"includeObjects": "true"})["runs"]

        assert item["notificationObjects"] == []

    def test_each_run_has_its_own_objects_and_shared_ones_appear_in_both(
        self, api: Api, store: Engine
    ) -> None:
        shared = entity(1, "Payments API", "payments-api")
        first, second = store_runs(
            store,
            [
                RunSpec(fields={"delivered_count": 1}, objects=[shared]),
                RunSpec(
                    fields={"delivered_count": 1},
                    objects=[entity(2, "Ledger", "ledger"), shared],
                ),
            ],
        )

        body = api.runs({"includeObjects": "true"})

        tags = {
            item["id"]: [o["tag"] for o in item["notificationObjects"]] for item in body["runs"]
        }
        assert tags == {first: ["payments-api"], second: ["ledger", "payments-api"]}

    def test_objects_do_not_add_a_second_top_level_array(self, api: Api, store: Engine) -> None:
        store_runs(store, [RunSpec(fields={"delivered_count": 1}, objects=self.OBJECTS)])

        body = api.runs({"includeObjects": "true"})

        assert [key for key, value in body.items() if isinstance(value, list)] == ["runs"]


class TestFields:
    """Cortex's field names; optional fields without a value are left out, never null."""

    def test_completed_original_run_has_exactly_its_fields(self, api: Api, store: Engine) -> None:
        created = datetime(2025, 6, 28, 19, 23, 14, 615_000, tzinfo=UTC)
        [run_id] = store_runs(
            store,
            [
                run(
                    notification_type=T.ENTITY_SCORE_DROPPED,
                    medium=F.SLACK,
                    summary="Score dropped for checkout-svc",
                    delivered_count=2,
                    date_created=created,
                    date_updated=created + timedelta(seconds=5, milliseconds=386),
                )
            ],
        )

        [item] = api.runs()["runs"]

        assert item == {
            "id": run_id,
            "notificationType": "ENTITY_SCORE_DROPPED",
            "medium": "SLACK",
            "status": "COMPLETED",
            "summary": "Score dropped for checkout-svc",
            "deliveredCount": 2,
            "seqNo": 0,
            "dateCreated": "2025-06-28T19:23:14.615Z",
            "dateUpdated": "2025-06-28T19:23:20.001Z",
        }

    def test_failed_run_has_its_reason_and_error_message(self, api: Api, store: Engine) -> None:
        store_runs(store, [FILTER_WORLD[2]])

        [item] = api.runs(EVERY_RUN)["runs"]

        assert (item["status"], item["failedReason"], item["errorMessage"]) == (
            "FAILED",
            "PACKET_GENERATOR_ERROR",
            "template exploded",
        )
        assert item["deliveredCount"] == 0
        assert {"ignoredReason", "originalRunId", "notificationObjects"}.isdisjoint(item)

    def test_ignored_run_has_its_reason(self, api: Api, store: Engine) -> None:
        store_runs(store, [FILTER_WORLD[3]])

        [item] = api.runs(EVERY_RUN)["runs"]

        assert (item["status"], item["ignoredReason"]) == ("IGNORED", "SCORECARD_DISABLED")
        assert {"failedReason", "errorMessage", "originalRunId"}.isdisjoint(item)

    def test_no_field_of_any_run_is_null_and_dates_have_the_wire_format(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(store, FILTER_WORLD)

        runs = api.runs(EVERY_RUN | {"includeObjects": "true"})["runs"]

        assert len(runs) == len(FILTER_LABELS)
        assert [key for item in runs for key, value in item.items() if value is None] == []
        dates = [item[key] for item in runs for key in ("dateCreated", "dateUpdated")]
        assert [date for date in dates if not INSTANT.match(date)] == []


class TestReRuns:
    """A re-run names the first run of its chain and its place in the chain."""

    def test_re_runs_carry_original_run_id_and_seq_no(self, api: Api, store: Engine) -> None:
        [original] = store_runs(store, [run(delivered_count=1)])
        first, second = store_runs(
            store,
            [
                run(original_run_id=original, seq_no=1, delivered_count=1),
                run(original_run_id=original, seq_no=2, delivered_count=1),
            ],
        )

        body = api.runs({"orderBy": "ASC"})

        chain = [(item["id"], item.get("originalRunId"), item["seqNo"]) for item in body["runs"]]
        assert chain == [(original, None, 0), (first, original, 1), (second, original, 2)]
        assert "originalRunId" not in body["runs"][0]


class TestEnvelope:
    """Exactly one array beside page, total and totalPages, all exact."""

    def test_body_has_exactly_runs_page_total_and_total_pages(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(store, [run(delivered_count=1)])

        assert set(api.runs()) == {"runs", "page", "total", "totalPages"}

    @pytest.mark.parametrize(
        ("stored", "page_size", "total_pages"),
        [(0, 250, 0), (1, 250, 1), (4, 2, 2), (5, 2, 3), (3, 1, 3)],
    )
    def test_total_pages_is_total_over_page_size_rounded_up(
        self, api: Api, store: Engine, stored: int, page_size: int, total_pages: int
    ) -> None:
        if stored:
            store_runs(store, [run(delivered_count=1)] * stored)

        body = api.runs({"pageSize": page_size})

        assert (body["total"], body["totalPages"], len(body["runs"])) == (
            stored,
            total_pages,
            min(stored, page_size),
        )

    def test_page_past_the_end_is_empty_with_the_true_totals(self, api: Api, store: Engine) -> None:
        store_runs(store, [run(delivered_count=1)] * 3)

        body = api.runs({"page": 5, "pageSize": 2})

        assert body == {"runs": [], "page": 5, "total": 3, "totalPages": 2}

    def test_pages_partition_the_list_in_order(self, api: Api, store: Engine) -> None:
        ids = store_runs(store, [run(delivered_count=1)] * 5)

        pages = [api.runs({"pageSize": 2, "page": page}) for page in range(3)]

        assert [item["id"] for page in pages for item in page["runs"]] == ids[::-1]


class TestOrder:
    """Runs are ordered by dateCreated, then id, newest first unless orderBy=ASC."""

    @pytest.mark.parametrize(
        ("order", "newest_first"), [(None, True), ("DESC", True), ("ASC", False)]
    )
    def test_runs_are_ordered_by_date_created_then_id(
        self, api: Api, store: Engine, order: str | None, newest_first: bool
    ) -> None:
        noon = datetime(2026, 11, 1, 12, tzinfo=UTC)
        tie_a, tie_b, earlier, later = store_runs(
            store,
            [
                run(date_created=noon, delivered_count=1),
                run(date_created=noon, delivered_count=1),
                run(date_created=noon - timedelta(hours=1), delivered_count=1),
                run(date_created=noon + timedelta(hours=1), delivered_count=1),
            ],
        )
        oldest_first = [earlier, tie_a, tie_b, later]

        body = api.runs({} if order is None else {"orderBy": order})

        expected = oldest_first[::-1] if newest_first else oldest_first
        assert [item["id"] for item in body["runs"]] == expected

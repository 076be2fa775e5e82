"""`GET /api/v1/notifications/logs`: every parameter, the envelope, the fields, the order.

One store per backend serves the whole module; each test stores exactly the runs and logs
it describes and the store is emptied after it.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.support.api import Api
from tests.support.builders import RunSpec, store_runs
from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
)

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def stored_log_ids(engine: Engine) -> list[int]:
    """Ids of the stored logs in the order they were inserted."""
    with engine.connect() as connection:
        return list(
            connection.execute(text("SELECT id FROM notification_logs ORDER BY id")).scalars()
        )


NO_RECIPIENT: dict[str, Any] = {
    "recipient_user_id": None,
    "recipient_email": None,
    "recipient_entity_id": None,
    "recipient_channel": None,
}


def delivered(**fields: Any) -> dict[str, Any]:
    """A DELIVERED log with only the recipient fields given."""
    return NO_RECIPIENT | {"status": LogStatus.DELIVERED} | fields


def failed(reason: FailedReason, **fields: Any) -> dict[str, Any]:
    """A FAILED log with its reason and an error message, never delivered."""
    return (
        NO_RECIPIENT
        | {
            "status": LogStatus.FAILED,
            "failed_reason": reason,
            "error_message": "provider said no",
            "date_delivered": None,
        }
        | fields
    )


def ignored(reason: IgnoredReason, **fields: Any) -> dict[str, Any]:
    """An IGNORED log with its reason, never delivered."""
    return (
        NO_RECIPIENT
        | {"status": LogStatus.IGNORED, "ignored_reason": reason, "date_delivered": None}
        | fields
    )


def ready(**fields: Any) -> dict[str, Any]:
    """A READY log, not yet delivered."""
    return NO_RECIPIENT | {"status": LogStatus.READY, "date_delivered": None} | fields


USER, TEAM, ENTITY = RecipientType.USER, RecipientType.TEAM, RecipientType.ENTITY

# Four runs, ten logs labelled a..j in insertion order; the filter table below names them.
FILTER_WORLD = [
    RunSpec(
        fields={"notification_type": NotificationType.SERVICE_REEVALUATED, "medium": Medium.SLACK},
        logs=[
            delivered(
                recipient_type=USER, recipient_user_id=1001, recipient_email="ada.berg@example.com"
            ),
            failed(
                FailedReason.CHANNEL_NOT_FOUND,
                recipient_type=ENTITY,
                recipient_entity_id=77,
                recipient_channel="#checkout-alerts",
            ),
            ignored(
                IgnoredReason.CHANNEL_DISABLED,
                recipient_type=TEAM,
                recipient_entity_id=12,
                recipient_channel="#team-payments",
            ),
        ],
    ),
    RunSpec(
        fields={"notification_type": NotificationType.WEEKLY_REPORT, "medium": Medium.EMAIL},
        logs=[
            delivered(
                recipient_type=USER, recipient_user_id=1002, recipient_email="grace@example.com"
            ),
            ignored(
                IgnoredReason.USER_UNSUBSCRIBED,
                recipient_type=USER,
                recipient_user_id=1003,
                recipient_email="alan.turing@example.com",
            ),
            failed(
                FailedReason.CLIENT_ERROR,
                recipient_type=USER,
                recipient_email="ada.berg@example.com",
            ),
        ],
    ),
    RunSpec(
        fields={
            "notification_type": NotificationType.ENTITY_SCORE_DROPPED,
            "medium": Medium.MICROSOFT_TEAMS,
        },
        logs=[
            delivered(
                recipient_type=TEAM,
                recipient_entity_id=12,
                recipient_channel="Payments Engineering",
            ),
            ready(recipient_type=ENTITY, recipient_entity_id=77, recipient_channel="Checkout"),
        ],
    ),
    RunSpec(
        fields={
            "notification_type": NotificationType.WORKFLOW_STATUS_UPDATE,
            "medium": Medium.WEBHOOK,
        },
        logs=[
            failed(FailedReason.MISSING_CONTENT, recipient_type=ENTITY, recipient_entity_id=78),
            ignored(IgnoredReason.DUPLICATE, recipient_type=USER, recipient_user_id=1001),
        ],
    ),
]
FILTER_LABELS = "abcdefghij"

FILTER_CASES = [
    pytest.param({}, "abcdefghij", id="no filter"),
    pytest.param({"notificationTypes": "WEEKLY_REPORT"}, "def", id="one type"),
    pytest.param(
        {"notificationTypes": ["WEEKLY_REPORT", "WORKFLOW_STATUS_UPDATE"]}, "defij", id="two types"
    ),
    pytest.param({"notificationTypes": "INITIATIVE_CREATION"}, "", id="type without logs"),
    pytest.param({"statuses": "DELIVERED"}, "adg", id="delivered"),
    pytest.param({"statuses": "READY"}, "h", id="ready"),
    pytest.param({"statuses": ["FAILED", "IGNORED"]}, "bcefij", id="failed or ignored"),
    pytest.param({"recipientTypes": "TEAM"}, "cg", id="team recipients"),
    pytest.param({"recipientTypes": "USER"}, "adefj", id="user recipients"),
    pytest.param({"recipientTypes": ["ENTITY", "TEAM"]}, "bcghi", id="entity or team recipients"),
    pytest.param({"recipientEmails": "ada.berg@example.com"}, "af", id="one email"),
    pytest.param(
        {"recipientEmails": ["ada.berg@example.com", "alan.turing@example.com"]},
        "aef",
        id="two emails",
    ),
    pytest.param({"recipientEmails": "nobody@example.com"}, "", id="unknown email"),
    pytest.param({"recipientEntityIds": "77"}, "bh", id="one entity"),
    pytest.param({"recipientEntityIds": ["12", "78"]}, "cgi", id="two entities"),
    pytest.param({"recipientEntityIds": "999"}, "", id="unknown entity"),
    pytest.param({"recipientChannels": "#checkout-alerts"}, "b", id="slack channel with #"),
    pytest.param({"recipientChannels": "checkout-alerts"}, "b", id="slack channel without #"),
    pytest.param({"recipientChannels": "Payments Engineering"}, "g", id="teams channel"),
    pytest.param(
        {"recipientChannels": ["team-payments", "Payments Engineering"]}, "cg", id="two channels"
    ),
    pytest.param({"recipientChannels": "#general"}, "", id="unknown channel"),
    pytest.param({"mediums": "EMAIL"}, "def", id="one medium"),
    pytest.param({"mediums": ["SLACK", "WEBHOOK"]}, "abcij", id="two mediums"),
    pytest.param({"ignoredReasons": "DUPLICATE"}, "j", id="one ignored reason"),
    pytest.param(
        {"ignoredReasons": ["USER_UNSUBSCRIBED", "CHANNEL_DISABLED"]}, "ce", id="two ignored"
    ),
    pytest.param({"ignoredReasons": "CORTEX_EMPLOYEE"}, "", id="unused ignored reason"),
    pytest.param({"failedReasons": "CLIENT_ERROR"}, "f", id="one failed reason"),
    pytest.param(
        {"failedReasons": ["CHANNEL_NOT_FOUND", "MISSING_CONTENT"]}, "bi", id="two failed"
    ),
    pytest.param({"failedReasons": "NO_SEATS_LEFT"}, "", id="unused failed reason"),
    pytest.param({"statuses": "FAILED", "mediums": "SLACK"}, "b", id="status and medium"),
    pytest.param({"recipientEntityIds": "77", "statuses": "READY"}, "h", id="entity and status"),
    pytest.param(
        {"notificationTypes": "WEEKLY_REPORT", "recipientEmails": "ada.berg@example.com"},
        "f",
        id="type and email",
    ),
    pytest.param(
        {"recipientTypes": "USER", "ignoredReasons": "DUPLICATE", "mediums": "WEBHOOK"},
        "j",
        id="three enum filters",
    ),
    pytest.param({"statuses": "DELIVERED", "failedReasons": "CLIENT_ERROR"}, "", id="disjoint"),
]


class TestFilters:
    """Values of one parameter are alternatives; different parameters must all hold."""

    @pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
    def test_filter_returns_exactly_the_matching_logs(
        self, api: Api, store: Engine, params: dict[str, Any], expected: str
    ) -> None:
        store_runs(store, FILTER_WORLD)
        label_of = dict(zip(stored_log_ids(store), FILTER_LABELS, strict=True))

        body = api.logs(params | {"orderBy": "ASC"})

        assert "".join(label_of[log["id"]] for log in body["logs"]) == expected
        assert body["total"] == len(expected)

    def test_notification_run_ids_return_the_logs_of_those_runs(
        self, api: Api, store: Engine
    ) -> None:
        first, second, third = store_runs(
            store, [RunSpec(logs=[{}, {}]), RunSpec(logs=[{}]), RunSpec(logs=[{}, {}, {}])]
        )

        body = api.logs({"notificationRunIds": [first, third]})

        assert sorted(log["runId"] for log in body["logs"]) == [first] * 2 + [third] * 3
        assert body["total"] == 5
        assert api.logs({"notificationRunIds": second})["total"] == 1

    def test_unknown_run_id_matches_nothing(self, api: Api, store: Engine) -> None:
        [run_id] = store_runs(store, [RunSpec(logs=[{}])])

        body = api.logs({"notificationRunIds": run_id + 1000})

        assert body == {"logs": [], "page": 0, "total": 0, "totalPages": 0}


class TestRecipientEmailsIgnoreCase:
    """recipientEmails is matched case-insensitively, whatever the case of either side."""

    def test_upper_case_query_finds_lower_case_address(self, api: Api, store: Engine) -> None:
        store_runs(store, [RunSpec(logs=[{"recipient_email": "ada.berg@example.com"}])])

        assert api.logs({"recipientEmails": "ADA.Berg@Example.COM"})["total"] == 1

    def test_lower_case_query_finds_mixed_case_address(self, api: Api, store: Engine) -> None:
        store_runs(store, [RunSpec(logs=[{"recipient_email": "Grace.Hopper@Example.com"}])])

        assert api.logs({"recipientEmails": "grace.hopper@example.com"})["total"] == 1


class TestEnvelope:
    """Exactly one array beside page, total and totalPages, all exact."""

    def test_body_has_exactly_logs_page_total_and_total_pages(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(store, [RunSpec(logs=[{}, {}])])

        body = api.logs()

        assert set(body) == {"logs", "page", "total", "totalPages"}
        assert [key for key, value in body.items() if isinstance(value, list)] == ["logs"]

    @pytest.mark.parametrize(
        ("stored", "page_size", "total_pages"),
        [(0, 250, 0), (1, 250, 1), (5, 5, 1), (6, 5, 2), (10, 3, 4), (3, 1, 3), (7, 1000, 1)],
    )
    def test_total_pages_is_total_over_page_size_rounded_up(
        self, api: Api, store: Engine, stored: int, page_size: int, total_pages: int
    ) -> None:
        if stored:
            store_runs(store, [RunSpec(logs=[{}] * stored)])

        body = api.logs({"pageSize": page_size})

        assert (body["total"], body["totalPages"]) == (stored, total_pages)
        assert len(body["logs"]) == min(stored, page_size)

    def test_nothing_matching_is_an_empty_page_with_zero_pages(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(store, [RunSpec(logs=[{}])])

        body = api.logs({"statuses": "FAILED"})

        assert body == {"logs": [], "page": 0, "total": 0, "totalPages": 0}

    @pytest.mark.parametrize("page", [2, 3, 1000])
    def test_page_past_the_end_is_empty_with_the_true_totals(
        self, api: Api, store: Engine, page: int
    ) -> None:
        store_runs(store, [RunSpec(logs=[{}] * 4)])

        body = api.logs({"page": page, "pageSize": 2})

        assert body == {"logs": [], "page": page, "total": 4, "totalPages": 2}

    def test_defaults_are_page_zero_of_250(self, api: Api, store: Engine) -> None:
        store_runs(store, [RunSpec(logs=[{}] * 251)])

        body = api.logs()

        assert (body["page"], len(body["logs"]), body["total"], body["totalPages"]) == (
            0,
            250,
            251,
            2,
        )

    def test_pages_partition_the_list_in_order(self, api: Api, store: Engine) -> None:
        store_runs(store, [RunSpec(logs=[{}] * 4), RunSpec(logs=[{}] * 3)])
        everything = [log["id"] for log in api.logs({"orderBy": "ASC"})["logs"]]

        pages = [api.logs({"orderBy": "ASC", "pageSize": 3, "page": page}) for page in range(3)]

        assert [page["page"] for page in pages] == [0, 1, 2]
        assert [log["id"] for page in pages for log in page["logs"]] == everything
        assert [len(page["logs"]) for page in pages] == [3, 3, 1]


class TestFields:
    """Cortex's field names; optional fields without a value are left out, never null."""

    def test_delivered_user_log_has_exactly_its_fields(self, api: Api, store: Engine) -> None:
        created = datetime(2025, 6, 28, 19, 23, 14, 615_000, tzinfo=UTC)
        [run_id] = store_runs(
            store,
            [
                RunSpec(
                    fields={
                        "notification_type": NotificationType.WEEKLY_REPORT,
                        "medium": Medium.EMAIL,
                        "date_created": created,
                    },
                    logs=[
                        delivered(
                            recipient_type=USER,
                            recipient_user_id=42,
                            recipient_email="jane@example.com",
                            date_updated=created + timedelta(seconds=2),
                            date_delivered=created + timedelta(seconds=1),
                        )
                    ],
                )
            ],
        )
        [log_id] = stored_log_ids(store)

        [log] = api.logs()["logs"]

        assert log == {
            "id": log_id,
            "runId": run_id,
            "type": "WEEKLY_REPORT",
            "medium": "EMAIL",
            "status": "DELIVERED",
            "recipientType": "USER",
            "recipientUserId": 42,
            "recipientEmail": "jane@example.com",
            "dateCreated": "2025-06-28T19:23:14.615Z",
            "dateUpdated": "2025-06-28T19:23:16.615Z",
            "dateDelivered": "2025-06-28T19:23:15.615Z",
        }

    def test_failed_channel_log_has_its_reason_and_error_but_no_user_fields(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(
            store,
            [
                RunSpec(
                    logs=[
                        failed(
                            FailedReason.CHANNEL_NOT_FOUND,
                            recipient_type=ENTITY,
                            recipient_entity_id=77,
                            recipient_channel="#checkout-alerts",
                            error_message="channel_not_found",
                        )
                    ]
                )
            ],
        )

        [log] = api.logs()["logs"]

        assert set(log) == {
            "id",
            "runId",
            "type",
            "medium",
            "status",
            "recipientType",
            "recipientEntityId",
            "recipientChannel",
            "failedReason",
            "errorMessage",
            "dateCreated",
            "dateUpdated",
        }
        assert (log["status"], log["failedReason"], log["errorMessage"]) == (
            "FAILED",
            "CHANNEL_NOT_FOUND",
            "channel_not_found",
        )
        assert (log["recipientEntityId"], log["recipientChannel"]) == (77, "#checkout-alerts")

    def test_ignored_log_has_its_reason_and_nothing_delivered(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(
            store,
            [
                RunSpec(
                    logs=[
                        ignored(
                            IgnoredReason.USER_UNSUBSCRIBED,
                            recipient_type=USER,
                            recipient_user_id=43,
                        )
                    ]
                )
            ],
        )

        [log] = api.logs()["logs"]

        assert log["ignoredReason"] == "USER_UNSUBSCRIBED"
        assert log["recipientUserId"] == 43
        absent = {"failedReason", "errorMessage", "dateDelivered", "recipientEmail"}
        assert absent.isdisjoint(log)

    def test_no_field_of_any_log_is_null(self, api: Api, store: Engine) -> None:
        store_runs(store, FILTER_WORLD)

        logs = api.logs()["logs"]

        assert len(logs) == len(FILTER_LABELS)
        assert [key for log in logs for key, value in log.items() if value is None] == []


class TestDates:
    """Instants are UTC, millisecond precision, with a Z: 2025-06-28T19:23:14.615Z."""

    def test_instant_is_printed_in_utc_with_milliseconds_and_z(
        self, api: Api, store: Engine
    ) -> None:
        plus_two = timezone(timedelta(hours=2))
        moment = datetime(2025, 6, 28, 21, 23, 14, 615_789, tzinfo=plus_two)
        store_runs(store, [RunSpec(fields={"date_created": moment}, logs=[{}])])

        [log] = api.logs()["logs"]

        assert log["dateCreated"] == "2025-06-28T19:23:14.615Z"

    def test_whole_second_still_has_three_digits(self, api: Api, store: Engine) -> None:
        moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        store_runs(store, [RunSpec(fields={"date_created": moment}, logs=[{}])])

        [log] = api.logs()["logs"]

        assert log["dateCreated"] == "2026-01-02T03:04:05.000Z"

    def test_every_date_of_every_log_has_the_wire_format(self, api: Api, store: Engine) -> None:
        store_runs(store, FILTER_WORLD)

        dates = [
            log[key]
            for log in api.logs()["logs"]
            for key in ("dateCreated", "dateUpdated", "dateDelivered")
            if key in log
        ]

        assert len(dates) > len(FILTER_LABELS) * 2
        assert [date for date in dates if not INSTANT.match(date)] == []


class TestDateRange:
    """fromDate and untilDate are inclusive bounds on dateCreated, to the millisecond."""

    NOON = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    MS = timedelta(milliseconds=1)

    def _store_around_noon(self, engine: Engine) -> dict[int, str]:
        """Logs at noon minus 1 ms, noon, and noon plus 1 ms; their labels by id."""
        store_runs(
            engine,
            [
                RunSpec(fields={"date_created": self.NOON + shift}, logs=[{}])
                for shift in (
                    -self.MS,
                    timedelta(0),
                    self.MS,
                )
            ],
        )
        return dict(zip(stored_log_ids(engine), ("before", "noon", "after"), strict=True))

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"fromDate": "2026-11-01T12:00:00.000Z"}, ["noon", "after"]),
            ({"fromDate": "2026-11-01T12:00:00.001Z"}, ["after"]),
            ({"untilDate": "2026-11-01T12:00:00.000Z"}, ["before", "noon"]),
            ({"untilDate": "2026-11-01T11:59:59.999Z"}, ["before"]),
            (
                {"fromDate": "2026-11-01T12:00:00.000Z", "untilDate": "2026-11-01T12:00:00.000Z"},
                ["noon"],
            ),
            (
                {"fromDate": "2026-11-01T11:59:59.999Z", "untilDate": "2026-11-01T12:00:00.001Z"},
                ["before", "noon", "after"],
            ),
            ({"fromDate": "2026-11-01T12:00:00.002Z"}, []),
            ({"untilDate": "2026-11-01T11:59:59.998Z"}, []),
            # Valid date-times whose UTC instant lies beyond Python's years 1 to 9999.
            ({"fromDate": "0001-01-01T00:00:00+01:00"}, ["before", "noon", "after"]),
            ({"untilDate": "9999-12-31T23:59:59-01:00"}, ["before", "noon", "after"]),
            ({"fromDate": "9999-12-31T23:59:59-01:00"}, []),
            ({"untilDate": "0001-01-01T00:00:00+01:00"}, []),
        ],
    )
    def test_bounds_are_inclusive(
        self, api: Api, store: Engine, params: dict[str, str], expected: list[str]
    ) -> None:
        label_of = self._store_around_noon(store)

        body = api.logs(params | {"orderBy": "ASC"})

        assert [label_of[log["id"]] for log in body["logs"]] == expected
        assert body["total"] == len(expected)

    def test_date_created_read_from_the_api_as_until_date_includes_that_log(
        self, api: Api, store: Engine
    ) -> None:
        moment = datetime(2025, 6, 28, 19, 23, 14, 615_789, tzinfo=UTC)
        store_runs(
            store,
            [
                RunSpec(fields={"date_created": moment}, logs=[{}]),
                RunSpec(fields={"date_created": moment + timedelta(milliseconds=1)}, logs=[{}]),
            ],
        )
        [older, _newer] = api.logs({"orderBy": "ASC"})["logs"]

        until = api.logs({"untilDate": older["dateCreated"]})
        exactly = api.logs({"fromDate": older["dateCreated"], "untilDate": older["dateCreated"]})

        assert [log["id"] for log in until["logs"]] == [older["id"]]
        assert [log["id"] for log in exactly["logs"]] == [older["id"]]

    def test_range_applies_to_date_created_not_to_later_dates(
        self, api: Api, store: Engine
    ) -> None:
        store_runs(
            store,
            [
                RunSpec(
                    fields={"date_created": self.NOON},
                    logs=[
                        {
                            "date_updated": self.NOON + timedelta(days=2),
                            "date_delivered": self.NOON + timedelta(days=1),
                        }
                    ],
                )
            ],
        )

        assert api.logs({"fromDate": "2026-11-02T00:00:00Z"})["total"] == 0
        assert api.logs({"untilDate": "2026-11-01T12:00:00Z"})["total"] == 1


class TestOrder:
    """Logs are ordered by dateCreated, then id, newest first unless orderBy=ASC."""

    def _store_three_times(self, engine: Engine) -> list[int]:
        """Logs at 12:00 (two, in one run), 11:00 and 13:00; ids in insertion order."""
        store_runs(
            engine,
            [
                RunSpec(
                    fields={"date_created": datetime(2026, 11, 1, 12, tzinfo=UTC)}, logs=[{}, {}]
                ),
                RunSpec(fields={"date_created": datetime(2026, 11, 1, 11, tzinfo=UTC)}, logs=[{}]),
                RunSpec(fields={"date_created": datetime(2026, 11, 1, 13, tzinfo=UTC)}, logs=[{}]),
            ],
        )
        return stored_log_ids(engine)

    def test_default_order_is_newest_first_and_higher_id_first_on_a_tie(
        self, api: Api, store: Engine
    ) -> None:
        noon_a, noon_b, eleven, one = self._store_three_times(store)

        assert [log["id"] for log in api.logs()["logs"]] == [one, noon_b, noon_a, eleven]

    def test_desc_is_the_default(self, api: Api, store: Engine) -> None:
        self._store_three_times(store)

        assert api.logs({"orderBy": "DESC"}) == api.logs()

    def test_asc_is_oldest_first_and_lower_id_first_on_a_tie(self, api: Api, store: Engine) -> None:
        noon_a, noon_b, eleven, one = self._store_three_times(store)

        body = api.logs({"orderBy": "ASC"})

        assert [log["id"] for log in body["logs"]] == [eleven, noon_a, noon_b, one]

    @pytest.mark.parametrize("order", ["ASC", "DESC"])
    def test_ties_are_broken_by_id_across_page_boundaries(
        self, api: Api, store: Engine, order: str
    ) -> None:
        store_runs(store, [RunSpec(logs=[{}] * 7)])
        ids = sorted(stored_log_ids(store), reverse=order == "DESC")

        pages = [api.logs({"orderBy": order, "pageSize": 2, "page": p}) for p in range(4)]

        assert [log["id"] for page in pages for log in page["logs"]] == ids

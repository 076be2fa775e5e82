"""How both endpoints read their query strings: arrays, blanks, duplicates, enum case, dates.

One store per backend serves the whole module; each test stores exactly the runs and logs
it describes and the store is emptied after it.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine

from tests.support.api import ITEMS, LOGS, RUNS, Api
from tests.support.builders import RunSpec, store_runs
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

ENDPOINTS = [pytest.param(LOGS, id="logs"), pytest.param(RUNS, id="runs")]


def log(status: LogStatus, recipient_type: RecipientType, **fields: Any) -> dict[str, Any]:
    """A log with only the recipient fields given."""
    return {
        "status": status,
        "recipient_type": recipient_type,
        "recipient_user_id": None,
        "recipient_email": None,
        "recipient_entity_id": None,
        "recipient_channel": None,
        "date_delivered": None,
    } | fields


L, R = LogStatus, RecipientType
LOG_WORLD = [
    RunSpec(
        fields={"notification_type": NotificationType.SERVICE_REEVALUATED, "medium": Medium.SLACK},
        logs=[
            log(L.DELIVERED, R.USER, recipient_user_id=1, recipient_email="ada@example.com"),
            log(
                L.FAILED,
                R.ENTITY,
                recipient_entity_id=77,
                recipient_channel="#alerts",
                failed_reason=FailedReason.CHANNEL_NOT_FOUND,
            ),
            log(
                L.IGNORED,
                R.TEAM,
                recipient_entity_id=12,
                recipient_channel="#team",
                ignored_reason=IgnoredReason.CHANNEL_DISABLED,
            ),
        ],
    ),
    RunSpec(
        fields={"notification_type": NotificationType.WEEKLY_REPORT, "medium": Medium.EMAIL},
        logs=[
            log(
                L.IGNORED,
                R.USER,
                recipient_email="bob@example.com",
                ignored_reason=IgnoredReason.USER_UNSUBSCRIBED,
            ),
            log(
                L.FAILED,
                R.USER,
                recipient_email="carol@example.com",
                failed_reason=FailedReason.CLIENT_ERROR,
            ),
            log(L.READY, R.USER, recipient_email="dave@example.com"),
        ],
    ),
    RunSpec(
        fields={
            "notification_type": NotificationType.WORKFLOW_STATUS_UPDATE,
            "medium": Medium.WEBHOOK,
        },
        logs=[
            log(
                L.FAILED,
                R.ENTITY,
                recipient_entity_id=78,
                failed_reason=FailedReason.MISSING_CONTENT,
            ),
            log(
                L.IGNORED,
                R.ENTITY,
                recipient_entity_id=79,
                ignored_reason=IgnoredReason.DUPLICATE,
            ),
        ],
    ),
    RunSpec(
        fields={
            "notification_type": NotificationType.WEEKLY_REPORT,
            "medium": Medium.MICROSOFT_TEAMS,
        },
        logs=[log(L.DELIVERED, R.TEAM, recipient_entity_id=13, recipient_channel="Ops")],
    ),
]
RUN_WORLD = [
    RunSpec(fields={"status": RunStatus.COMPLETED, "medium": Medium.SLACK, "delivered_count": 3}),
    RunSpec(
        fields={
            "status": RunStatus.FAILED,
            "notification_type": NotificationType.WEEKLY_REPORT,
            "medium": Medium.EMAIL,
            "failed_reason": RunFailedReason.PACKET_GENERATOR_ERROR,
        }
    ),
    RunSpec(
        fields={
            "status": RunStatus.IGNORED,
            "notification_type": NotificationType.INITIATIVE_CREATION,
            "medium": Medium.WEBHOOK,
            "ignored_reason": RunIgnoredReason.NO_RECIPIENTS,
        }
    ),
    RunSpec(
        fields={
            "status": RunStatus.IGNORED,
            "medium": Medium.MICROSOFT_TEAMS,
            "ignored_reason": RunIgnoredReason.WORKSPACE_DISABLED,
        }
    ),
    RunSpec(
        fields={
            "status": RunStatus.FAILED,
            "notification_type": NotificationType.WEEKLY_REPORT,
            "failed_reason": RunFailedReason.INTERNAL_ERROR,
        }
    ),
    RunSpec(fields={"status": RunStatus.COMPLETED_WITH_ERRORS, "delivered_count": 1}),
    RunSpec(fields={"status": RunStatus.CREATED, "medium": Medium.EMAIL}),
]
EVERY_RUN = "deliveredOnly=false"

# (path, parameter, three values); '{0}'..'{3}' stand for the ids of the runs stored.
ARRAY_CASES = [
    pytest.param(LOGS, "statuses", ["DELIVERED", "FAILED", "READY"], id="logs statuses"),
    pytest.param(
        LOGS,
        "notificationTypes",
        ["WORKFLOW_STATUS_UPDATE", "SERVICE_REEVALUATED", "ONCALL_ASSISTANT"],
        id="logs notificationTypes",
    ),
    pytest.param(LOGS, "recipientTypes", ["TEAM", "ENTITY", "TEAM"], id="logs recipientTypes"),
    pytest.param(LOGS, "mediums", ["SLACK", "EMAIL", "WEBHOOK"], id="logs mediums"),
    pytest.param(
        LOGS,
        "ignoredReasons",
        ["CHANNEL_DISABLED", "USER_UNSUBSCRIBED", "DUPLICATE"],
        id="logs ignoredReasons",
    ),
    pytest.param(
        LOGS,
        "failedReasons",
        ["CHANNEL_NOT_FOUND", "CLIENT_ERROR", "NO_SEATS_LEFT"],
        id="logs failedReasons",
    ),
    pytest.param(LOGS, "notificationRunIds", ["{0}", "{2}", "{3}"], id="logs notificationRunIds"),
    pytest.param(LOGS, "recipientEntityIds", ["77", "12", "79"], id="logs recipientEntityIds"),
    pytest.param(
        LOGS,
        "recipientEmails",
        ["ada@example.com", "bob@example.com", "dave@example.com"],
        id="logs recipientEmails",
    ),
    pytest.param(
        LOGS, "recipientChannels", ["#alerts", "team", "Ops"], id="logs recipientChannels"
    ),
    pytest.param(RUNS, "statuses", ["COMPLETED", "FAILED", "CREATED"], id="runs statuses"),
    pytest.param(
        RUNS,
        "notificationTypes",
        ["WEEKLY_REPORT", "INITIATIVE_CREATION", "ONCALL_ASSISTANT"],
        id="runs notificationTypes",
    ),
    pytest.param(RUNS, "mediums", ["EMAIL", "WEBHOOK", "MICROSOFT_TEAMS"], id="runs mediums"),
    pytest.param(
        RUNS,
        "ignoredReasons",
        ["NO_RECIPIENTS", "WORKSPACE_DISABLED", "SCORECARD_DISABLED"],
        id="runs ignoredReasons",
    ),
    pytest.param(
        RUNS,
        "failedReasons",
        ["PACKET_GENERATOR_ERROR", "INTERNAL_ERROR", "CONTEXT_RESOLUTION_ERROR"],
        id="runs failedReasons",
    ),
]


def stored(engine: Engine, path: str) -> list[int]:
    """Store the world `path` lists; returns the run ids."""
    return store_runs(engine, LOG_WORLD if path == LOGS else RUN_WORLD)


def scope(path: str) -> str:
    """The query that lists everything `path` stores (every run, delivered or not)."""
    return "page=0" if path == LOGS else EVERY_RUN


def encoded(value: str) -> str:
    """A value percent-encoded for a query string."""
    return quote(value, safe="")


class TestArrayParameters:
    """Arrays accept repeated keys, comma-separated values and mixes, all alike."""

    @pytest.mark.parametrize(("path", "name", "values"), ARRAY_CASES)
    def test_repeated_keys_commas_and_mixes_mean_the_union(
        self, api: Api, store: Engine, path: str, name: str, values: list[str]
    ) -> None:
        run_ids = stored(store, path)
        first, second, third = (encoded(value.format(*run_ids)) for value in values)
        union = sorted(
            {
                item
                for value in (first, second, third)
                for item in api.ids(path, f"{scope(path)}&{name}={value}")
            }
        )
        spellings = {
            "repeated": f"{name}={first}&{name}={second}&{name}={third}",
            "commas": f"{name}={first},{second},{third}",
            "encoded commas": f"{name}={first}%2C{second}%2C{third}",
            "mix": f"{name}={first},{second}&{name}={third}",
        }

        found = {
            spelling: api.ids(path, f"{scope(path)}&{query}")
            for spelling, query in spellings.items()
        }

        assert 0 < len(union) < len(api.ids(path, scope(path)))
        assert {spelling: sorted(ids) for spelling, ids in found.items()} == dict.fromkeys(
            spellings, union
        )


class TestBlanksAndDuplicates:
    """Blanks around and between values are dropped; a value given twice counts once."""

    @pytest.mark.parametrize(
        "query",
        [
            "statuses=%20FAILED%20,%20IGNORED%20",
            "statuses=,FAILED,,IGNORED,",
            "statuses=&statuses=FAILED&statuses=%20&statuses=IGNORED",
            "statuses=FAILED,FAILED&statuses=IGNORED&statuses=FAILED",
            "statuses=FAILED,failed,Failed,IGNORED",
        ],
    )
    def test_blanks_and_duplicates_do_not_change_the_answer(
        self, api: Api, store: Engine, query: str
    ) -> None:
        stored(store, LOGS)
        expected = api.ids(LOGS, "statuses=FAILED,IGNORED")

        ids = api.ids(LOGS, query)

        assert ids == expected
        assert len(set(ids)) == len(ids) == 6

    @pytest.mark.parametrize(
        "query", ["statuses=", "statuses=%20", "statuses=,,", "mediums=&statuses="]
    )
    def test_only_blanks_is_no_filter(self, api: Api, store: Engine, query: str) -> None:
        stored(store, LOGS)

        assert api.ids(LOGS, query) == api.ids(LOGS, "page=0")

    def test_repeated_run_id_lists_each_log_once(self, api: Api, store: Engine) -> None:
        first, *_ = stored(store, LOGS)

        ids = api.ids(LOGS, f"notificationRunIds={first},{first}&notificationRunIds={first}")

        assert len(ids) == len(set(ids)) == 3

    def test_same_email_in_two_cases_lists_each_log_once(self, api: Api, store: Engine) -> None:
        stored(store, LOGS)

        ids = api.ids(LOGS, "recipientEmails=ada@example.com,ADA@example.com")

        assert len(ids) == 1


class TestEnumCase:
    """Enum values are read without regard to case."""

    @pytest.mark.parametrize(
        ("path", "query", "canonical"),
        [
            (LOGS, "statuses=delivered", "statuses=DELIVERED"),
            (LOGS, "statuses=Delivered,fAiLeD", "statuses=DELIVERED,FAILED"),
            (LOGS, "mediums=microsoft_teams", "mediums=MICROSOFT_TEAMS"),
            (LOGS, "notificationTypes=weekly_report", "notificationTypes=WEEKLY_REPORT"),
            (LOGS, "recipientTypes=team", "recipientTypes=TEAM"),
            (LOGS, "ignoredReasons=user_unsubscribed", "ignoredReasons=USER_UNSUBSCRIBED"),
            (LOGS, "failedReasons=Client_Error", "failedReasons=CLIENT_ERROR"),
            (RUNS, f"{EVERY_RUN}&statuses=completed_with_errors", "statuses=COMPLETED_WITH_ERRORS"),
            (RUNS, f"{EVERY_RUN}&ignoredReasons=no_recipients", "ignoredReasons=NO_RECIPIENTS"),
            (RUNS, f"{EVERY_RUN}&failedReasons=internal_error", "failedReasons=INTERNAL_ERROR"),
            (RUNS, f"{EVERY_RUN}&mediums=Email", "mediums=EMAIL"),
        ],
    )
    def test_any_case_means_the_upper_case_value(
        self, api: Api, store: Engine, path: str, query: str, canonical: str
    ) -> None:
        stored(store, path)

        expected = api.ids(path, f"{scope(path)}&{canonical}")

        assert expected
        assert api.ids(path, query) == expected

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize(("spelling", "oldest_first"), [("asc", True), ("Desc", False)])
    def test_order_by_ignores_case(
        self, api: Api, store: Engine, path: str, spelling: str, oldest_first: bool
    ) -> None:
        stored(store, path)

        response = api.get(path, f"{scope(path)}&orderBy={spelling}")

        ids = [item["id"] for item in response.json()[ITEMS[path]]]
        assert ids == sorted(ids, reverse=not oldest_first)
        assert len(ids) > 1


# (path, parameter, a value it does not know, its enum)
UNKNOWN_ENUM_CASES: list[tuple[str, str, str, type[StrEnum]]] = [
    (LOGS, "notificationTypes", "WEEKLY_DIGEST", NotificationType),
    (LOGS, "statuses", "COMPLETED", LogStatus),
    (LOGS, "recipientTypes", "GROUP", RecipientType),
    (LOGS, "mediums", "SMS", Medium),
    (LOGS, "ignoredReasons", "NO_RECIPIENTS", IgnoredReason),
    (LOGS, "failedReasons", "INTERNAL_ERROR", FailedReason),
    (LOGS, "orderBy", "SIDEWAYS", SortOrder),
    (RUNS, "notificationTypes", "WEEKLY_DIGEST", NotificationType),
    (RUNS, "statuses", "DELIVERED", RunStatus),
    (RUNS, "mediums", "PAGER", Medium),
    (RUNS, "ignoredReasons", "USER_UNSUBSCRIBED", RunIgnoredReason),
    (RUNS, "failedReasons", "CLIENT_ERROR", RunFailedReason),
    (RUNS, "orderBy", "RANDOM", SortOrder),
]


class TestUnknownEnumValue:
    """An unknown enum value is a 400 that names the parameter and lists the allowed values."""

    @pytest.mark.parametrize(
        ("path", "name", "bad", "enum"),
        [
            pytest.param(*case, id=f"{ITEMS[case[0]]} {case[1]}={case[2]}")
            for case in UNKNOWN_ENUM_CASES
        ],
    )
    def test_unknown_value_is_a_400_naming_the_parameter_and_listing_allowed_values(
        self, api: Api, path: str, name: str, bad: str, enum: type[StrEnum]
    ) -> None:
        response = api.get(path, f"{name}={bad}")

        assert response.status_code == 400
        body = response.json()
        assert body["type"] == "BAD_REQUEST"
        assert name in body["details"]
        assert bad in body["details"]
        missing = [member.value for member in enum if member.value not in body["details"]]
        assert missing == []

    @pytest.mark.parametrize("query", ["statuses=FAILED,NOPE", "statuses=FAILED&statuses=NOPE"])
    def test_one_unknown_value_among_known_ones_is_a_400(self, api: Api, query: str) -> None:
        response = api.get(LOGS, query)

        assert response.status_code == 400
        assert "statuses" in response.json()["details"]


# Spellings of the instant 2026-11-01T12:00:00.000Z as a caller may send them.
NOON_SPELLINGS = [
    pytest.param("2026-11-01T12:00:00", id="no zone is UTC"),
    pytest.param("2026-11-01T12:00:00Z", id="Z"),
    pytest.param("2026-11-01T12:00:00.000Z", id="Z with milliseconds"),
    pytest.param("2026-11-01T12:00:00%2B00:00", id="+00:00"),
    pytest.param("2026-11-01T14:00:00%2B02:00", id="+02:00 encoded"),
    pytest.param("2026-11-01T14:00:00+02:00", id="+02:00 unencoded arrives as a space"),
    pytest.param("2026-11-01T14:00:00.000+02:00", id="+02:00 unencoded with milliseconds"),
    pytest.param("2026-11-01T17:30:00%2B05:30", id="+05:30"),
    pytest.param("2026-11-01T07:00:00-05:00", id="-05:00"),
]


class TestDates:
    """A date without a zone is UTC; Z and offsets are honoured, even a '+' sent unencoded."""

    NOON = datetime(2026, 11, 1, 12, tzinfo=UTC)

    def _store_around_noon(self, engine: Engine) -> list[int]:
        """Items at noon minus 1 ms, noon, and noon plus 1 ms; returns their run ids."""
        ms = timedelta(milliseconds=1)
        return store_runs(
            engine,
            [
                RunSpec(fields={"date_created": self.NOON + shift, "delivered_count": 1}, logs=[{}])
                for shift in (-ms, timedelta(0), ms)
            ],
        )

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize("spelling", NOON_SPELLINGS)
    def test_every_spelling_of_an_instant_bounds_at_that_instant(
        self, api: Api, store: Engine, path: str, spelling: str
    ) -> None:
        self._store_around_noon(store)
        before, noon, after = api.ids(path, "page=0")

        from_response = api.get(path, f"fromDate={spelling}&orderBy=ASC")
        until_response = api.get(path, f"untilDate={spelling}&orderBy=ASC")

        assert [item["id"] for item in from_response.json()[ITEMS[path]]] == [noon, after]
        assert [item["id"] for item in until_response.json()[ITEMS[path]]] == [before, noon]

    def test_unencoded_plus_really_reaches_the_server_as_a_plus_sign(self, api: Api) -> None:
        response = api.get(LOGS, "fromDate=2026-11-01T14:00:00+02:00")

        assert b"+02:00" in response.request.url.query
        assert response.status_code == 200


class TestIgnoredInput:
    """Content-Type on GET and unknown parameters do not change the answer."""

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize(
        "content_type", ["application/yaml", "text/plain", "application/x-www-form-urlencoded"]
    )
    def test_content_type_on_get_is_ignored(
        self, api: Api, store: Engine, path: str, content_type: str
    ) -> None:
        stored(store, path)
        plain = api.get(path, scope(path))

        response = api.get(path, scope(path), {"Content-Type": content_type})

        assert response.status_code == 200
        assert response.json() == plain.json()

    @pytest.mark.parametrize("path", ENDPOINTS)
    def test_unknown_parameters_are_ignored(self, api: Api, store: Engine, path: str) -> None:
        stored(store, path)
        plain = api.get(path, f"{scope(path)}&mediums=EMAIL")

        response = api.get(
            path,
            f"{scope(path)}&mediums=EMAIL&foo=bar&Mediums=NOPE&page_size=0&limit=-1&sort=x",
        )

        assert response.status_code == 200
        assert response.json() == plain.json()

"""POST /api/v1/notifications/events and the endpoints that show why: the answer, the
idempotency key (24 hours on the runtime's clock), bad events, keys and permissions."""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.catalog_builder import email_owner, service, tidings, unsubscribed, user
from tests.support.engine_harness import (
    EVENTS,
    PREVIEW,
    Harness,
    entity_ref,
    event,
    open_harness,
)
from tidings.auth.permissions import Permission
from tidings.engine import repository as engine_repository
from tidings.enums import NotificationType

T = NotificationType
ADA, BEN = "ada@example.com", "ben@example.com"
API = entity_ref("payments-api")
LOGS = "/api/v1/notifications/logs"
RUNS = "/api/v1/notifications/logs/run"


class Served:
    """The app over a harness, with a sender's and a viewer's key."""

    def __init__(self, harness: Harness, client: TestClient) -> None:
        self.harness = harness
        self.client = client
        self.sender = harness.key(Permission.SEND_NOTIFICATIONS)
        self.viewer = harness.key(Permission.VIEW_NOTIFICATION_LOGS)

    def post(self, body: Any, path: str = EVENTS) -> httpx.Response:
        """POST `body` with the sender's key."""
        response: httpx.Response = self.client.post(path, json=body, headers=self.sender)
        return response

    def get(self, path: str) -> dict[str, Any]:
        """The 200 body of a GET with the viewer's key."""
        response = self.client.get(path, headers=self.viewer)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """The app over a store where Ada and Ben own payments-api; Ben wants no email about
    broken specs."""
    with open_harness(database_url, tmp_path) as harness:
        harness.load(
            service("payments-api", owners=[email_owner(ADA), email_owner(BEN)]),
            tidings(
                users=[
                    user(ADA),
                    user(BEN, subscriptions=[unsubscribed("BROKEN_OPEN_API_SPEC", "EMAIL")]),
                ]
            ),
        )
        with harness.serving() as client:
            yield Served(harness, client)


def assert_error(response: httpx.Response, status: int, error_type: str) -> str:
    """Check an ErrorResponse; returns its details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == error_type
    assert body["httpStatus"] == status
    assert body["requestId"] == response.headers["X-Request-Id"]
    details: str = body["details"]
    return details


class TestAcceptingAnEvent:
    def test_accepted_event_answers_202_with_one_created_run_per_medium(
        self, served: Served
    ) -> None:
        response = served.post(event(T.BROKEN_OPEN_API_SPEC, API))
        assert response.status_code == 202
        body = response.json()
        assert body == {
            "eventId": body["eventId"],
            "notificationType": "BROKEN_OPEN_API_SPEC",
            "runs": [
                {"id": body["runs"][0]["id"], "medium": "SLACK", "status": "CREATED"},
                {"id": body["runs"][1]["id"], "medium": "MICROSOFT_TEAMS", "status": "CREATED"},
                {"id": body["runs"][2]["id"], "medium": "EMAIL", "status": "CREATED"},
            ],
            "replayed": False,
        }

    def test_embedded_runner_delivers_the_runs_of_an_accepted_event(self, served: Served) -> None:
        runs = served.post(event(T.BROKEN_OPEN_API_SPEC, API)).json()["runs"]
        served.harness.wait_idle()
        assert [
            (run["medium"], run["status"], run["deliveredCount"])
            for run in (served.get(f"{RUNS}/{created['id']}") for created in runs)
        ] == [
            ("SLACK", "COMPLETED", 2),
            ("MICROSOFT_TEAMS", "COMPLETED", 2),
            ("EMAIL", "COMPLETED", 1),
        ]

    def test_runs_decided_at_once_carry_their_reason_in_the_answer(self, served: Served) -> None:
        served.harness.load(tidings(workspace={"mediums": {"EMAIL": False}}))
        body = served.post(event(T.BROKEN_OPEN_API_SPEC, entity_ref("nope"))).json()
        assert [{k: v for k, v in run.items() if k != "id"} for run in body["runs"]] == [
            {
                "medium": "SLACK",
                "status": "FAILED",
                "failedReason": "CONTEXT_RESOLUTION_ERROR",
                "errorMessage": "the entity nope does not exist in the catalog",
            },
            {
                "medium": "MICROSOFT_TEAMS",
                "status": "FAILED",
                "failedReason": "CONTEXT_RESOLUTION_ERROR",
                "errorMessage": "the entity nope does not exist in the catalog",
            },
            {
                "medium": "EMAIL",
                "status": "IGNORED",
                "ignoredReason": "WORKSPACE_DISABLED",
                "errorMessage": "the workspace does not send over EMAIL",
            },
        ]


class TestIdempotencyKey:
    def test_same_key_answers_200_with_the_first_answer_and_creates_nothing(
        self, served: Served
    ) -> None:
        first = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="deploy-42"))
        served.harness.wait_idle()
        counts = served.harness.row_counts()
        again = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="deploy-42"))
        served.harness.wait_idle()
        assert (first.status_code, again.status_code) == (202, 200)
        assert again.json() == first.json() | {"replayed": True}
        assert served.harness.row_counts() == counts

    def test_same_key_with_another_event_still_answers_with_the_first(self, served: Served) -> None:
        first = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k")).json()
        again = served.post(event(T.ONCALL_PERSON_CHANGED, API, key="k"))
        assert (again.status_code, again.json()["eventId"]) == (200, first["eventId"])
        assert again.json()["notificationType"] == "BROKEN_OPEN_API_SPEC"

    def test_key_is_remembered_for_24_hours(self, served: Served) -> None:
        first = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k")).json()
        served.harness.clock.advance(timedelta(hours=24))
        again = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k"))
        assert (again.status_code, again.json()["eventId"]) == (200, first["eventId"])

    def test_key_older_than_24_hours_makes_a_new_event_which_then_owns_the_key(
        self, served: Served
    ) -> None:
        first = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k")).json()
        served.harness.clock.advance(timedelta(hours=24, seconds=1))
        fresh = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k"))
        assert fresh.status_code == 202
        assert fresh.json()["eventId"] != first["eventId"]
        assert {run["id"] for run in fresh.json()["runs"]}.isdisjoint(
            run["id"] for run in first["runs"]
        )
        again = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k"))
        assert (again.status_code, again.json()["eventId"]) == (200, fresh.json()["eventId"])
        assert served.harness.row_counts()["notification_events"] == 2

    def test_events_without_a_key_are_never_replayed(self, served: Served) -> None:
        answers = [served.post(event(T.BROKEN_OPEN_API_SPEC, API)) for _ in range(2)]
        assert [response.status_code for response in answers] == [202, 202]
        assert answers[0].json()["eventId"] != answers[1].json()["eventId"]

    def test_same_key_arriving_twice_at_once_is_answered_as_a_replay(
        self, served: Served, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k")).json()
        # The second request checks the key once before the first one commits (the race);
        # its insert then meets the unique key and it looks again.
        real_lookup, looks = engine_repository.event_by_key, []

        def racing_lookup(connection: Any, key: str) -> Any:
            looks.append(key)
            return None if len(looks) == 1 else real_lookup(connection, key)

        monkeypatch.setattr(engine_repository, "event_by_key", racing_lookup)
        again = served.post(event(T.BROKEN_OPEN_API_SPEC, API, key="k"))
        assert (again.status_code, again.json()["eventId"]) == (200, first["eventId"])


BAD_EVENTS = [
    ({"type": "NOT_A_TYPE"}, "type: Input should be 'INITIATIVE_CREATION'"),
    ({}, "type: Field required"),
    (event(T.BROKEN_OPEN_API_SPEC), "objects: BROKEN_OPEN_API_SPEC needs an object of type ENTITY"),
    (
        event(T.ENTITY_SCORE_DROPPED, API),
        "objects: ENTITY_SCORE_DROPPED needs an object of type SCORECARD",
    ),
    (
        event(T.TEAM_MEMBER_INVITATION),
        "recipients: TEAM_MEMBER_INVITATION goes to the people the event names; give their emails",
    ),
    (
        event(T.TEAM_MEMBER_INVITATION, recipients=["not an email"]),
        "recipients: 'not an email' is not an email address",
    ),
    (
        event(T.BROKEN_OPEN_API_SPEC, API) | {"colour": "red"},
        "colour: Extra inputs are not permitted",
    ),
    (
        event(T.BROKEN_OPEN_API_SPEC, API | {"name": "Payments"}),
        "objects.0.name: Extra inputs are not permitted",
    ),
    (
        event(T.BROKEN_OPEN_API_SPEC, {"type": "ENTITY", "tag": "a", "id": 1}),
        "objects.0: Value error, give exactly one of 'tag' and 'id'",
    ),
    (
        event(T.BROKEN_OPEN_API_SPEC, {"type": "TEAM", "tag": "a"}),
        "objects.0.type: Input should be",
    ),
    (event(T.BROKEN_OPEN_API_SPEC, API, key=""), "idempotencyKey: String should have at least 1"),
    ([], "request: Input should be a valid dictionary"),
]


class TestBadEvents:
    @pytest.mark.parametrize(("body", "details"), BAD_EVENTS, ids=[d for _b, d in BAD_EVENTS])
    @pytest.mark.parametrize("path", [EVENTS, PREVIEW], ids=["submit", "preview"])
    def test_bad_event_is_a_400_naming_the_field_and_writes_nothing(
        self, served: Served, path: str, body: Any, details: str
    ) -> None:
        counts = served.harness.row_counts()
        response = served.post(body, path)
        assert assert_error(response, 400, "BAD_REQUEST").startswith(details)
        assert served.harness.row_counts() == counts


SENDING = [
    ("POST", EVENTS),
    ("POST", PREVIEW),
    ("POST", f"{RUNS}/1/rerun"),
]
VIEWING = [("GET", f"{LOGS}/1"), ("GET", f"{RUNS}/1")]


class TestPermissions:
    @pytest.mark.parametrize(("method", "path"), SENDING + VIEWING, ids=lambda v: str(v))
    def test_request_without_a_key_is_a_401_even_with_a_bad_body(
        self, served: Served, method: str, path: str
    ) -> None:
        response = served.client.request(method, path, json={"type": "NOT_A_TYPE"})
        assert_error(response, 401, "FORBIDDEN")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize(("method", "path"), SENDING, ids=lambda v: str(v))
    def test_key_that_may_only_view_cannot_send(
        self, served: Served, method: str, path: str
    ) -> None:
        body = event(T.BROKEN_OPEN_API_SPEC, API)
        response = served.client.request(method, path, json=body, headers=served.viewer)
        assert "SEND_NOTIFICATIONS" in assert_error(response, 403, "FORBIDDEN")
        assert served.harness.row_counts()["notification_events"] == 0

    @pytest.mark.parametrize(("method", "path"), VIEWING, ids=lambda v: str(v))
    def test_key_that_may_only_send_cannot_view(
        self, served: Served, method: str, path: str
    ) -> None:
        response = served.client.request(method, path, headers=served.sender)
        assert "VIEW_NOTIFICATION_LOGS" in assert_error(response, 403, "FORBIDDEN")


def logs_of(served: Served, medium: str) -> list[dict[str, Any]]:
    """Send the broken-spec event; the logs of its run for `medium`, as the run view shows."""
    runs = served.post(event(T.BROKEN_OPEN_API_SPEC, API)).json()["runs"]
    served.harness.wait_idle()
    [run_id] = [run["id"] for run in runs if run["medium"] == medium]
    logs: list[dict[str, Any]] = served.get(f"{RUNS}/{run_id}")["logs"]
    return logs


class TestWhyEndpoints:
    def test_log_detail_shows_why_and_the_content_that_was_sent(self, served: Served) -> None:
        delivered = logs_of(served, "EMAIL")[0]
        body = served.get(f"{LOGS}/{delivered['id']}")
        assert body["why"] == f"named owner of service payments-api ({ADA})"
        assert "explanation" not in body
        assert body["content"]["subject"] == "The OpenAPI spec of Payments Api is broken"
        assert body["content"]["text"] == "The OpenAPI spec of Payments Api no longer parses."
        assert body["content"]["body"]["html"].startswith("<h1>The OpenAPI spec")

    def test_ignored_log_detail_explains_the_decision_and_has_no_content(
        self, served: Served
    ) -> None:
        ignored = logs_of(served, "EMAIL")[1]
        body = served.get(f"{LOGS}/{ignored['id']}")
        assert (body["status"], body["ignoredReason"], body["explanation"]) == (
            "IGNORED",
            "USER_UNSUBSCRIBED",
            f"{BEN} unsubscribed from Broken OpenAPI spec notifications over EMAIL",
        )
        assert "content" not in body

    def test_run_detail_counts_logs_by_reason_and_pages_them_with_why(self, served: Served) -> None:
        runs = served.post(event(T.BROKEN_OPEN_API_SPEC, API)).json()["runs"]
        served.harness.wait_idle()
        email = runs[2]["id"]
        body = served.get(f"{RUNS}/{email}?page=1&pageSize=1")
        assert body["chain"] == [{"id": email, "seqNo": 0, "status": "COMPLETED"}]
        assert sorted(body["logCounts"], key=json.dumps) == [
            {"status": "DELIVERED", "count": 1},
            {"status": "IGNORED", "reason": "USER_UNSUBSCRIBED", "count": 1},
        ]
        assert (body["page"], body["total"], body["totalPages"]) == (1, 2, 2)
        [log] = body["logs"]
        assert (log["recipientEmail"], log["why"]) == (
            BEN,
            f"named owner of service payments-api ({BEN})",
        )
        assert body["notificationObjects"][0]["tag"] == "payments-api"

    @pytest.mark.parametrize("path", [f"{LOGS}/999999", f"{RUNS}/999999"], ids=["log", "run"])
    def test_unknown_log_or_run_is_a_404(self, served: Served, path: str) -> None:
        assert_error(served.client.get(path, headers=served.viewer), 404, "NOT_FOUND")

    @pytest.mark.parametrize("query", ["page=-1", "pageSize=0", "pageSize=1001"])
    def test_bad_paging_of_a_run_detail_is_a_400(self, served: Served, query: str) -> None:
        run_id = served.post(event(T.BROKEN_OPEN_API_SPEC, API)).json()["runs"][0]["id"]
        response = served.client.get(f"{RUNS}/{run_id}?{query}", headers=served.viewer)
        assert f"{query.split('=')[0]}:" in assert_error(response, 400, "BAD_REQUEST")

    def test_cortex_list_endpoints_do_not_show_why(self, served: Served) -> None:
        logs_of(served, "EMAIL")
        logs = served.get(f"{LOGS}?pageSize=100")["logs"]
        runs = served.get(f"{RUNS}?pageSize=100&deliveredOnly=false&includeObjects=true")["runs"]
        assert len(logs) == 6
        assert len(runs) == 3
        assert all(set(log).isdisjoint({"why", "explanation", "content"}) for log in logs)
        assert all(set(run).isdisjoint({"chain", "logCounts", "logs"}) for run in runs)

"""POST /api/v1/notifications/events/preview: the runs and per-recipient decisions an event
would make, computed without writing or sending anything, and exactly what a real submit of
the same event then does (a READY recipient of the preview is one the real run sends to)."""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog import row_counts as catalog_row_counts
from tests.support.catalog_builder import (
    channel,
    email_owner,
    member,
    scorecard,
    service,
    team,
    team_owner,
    tidings,
    unsubscribed,
    user,
)
from tests.support.engine_harness import (
    PREVIEW,
    Harness,
    LogView,
    entity_ref,
    event,
    open_harness,
    scorecard_ref,
)
from tidings.auth.permissions import Permission
from tidings.engine import repository as engine_repository
from tidings.enums import NotificationType

T = NotificationType
ADA, BEN, OMAR = "ada@example.com", "ben@example.com", "omar@example.com"
OUTSIDER = "outsider@partner.example.net"
API = entity_ref("payments-api")
CATALOG = (
    team(
        "payments",
        member(ADA),
        member(OMAR, enabled=False),
        slack=[channel("team-payments"), channel("payments-social", enabled=False)],
    ),
    service(
        "payments-api",
        owners=[team_owner("payments"), email_owner(ADA), email_owner(OUTSIDER), email_owner(BEN)],
        slack=[channel("payments-alerts"), channel("team-payments")],
    ),
    tidings(
        users=[user(BEN, subscriptions=[unsubscribed("BROKEN_OPEN_API_SPEC", "EMAIL")])],
        scorecards=[scorecard("readiness"), scorecard("drafty", draft=True)],
        workspace={"notificationTypes": {"VERIFICATION_PERIOD_STARTED": {"EMAIL": False}}},
    ),
)


class Previewing:
    """The app over a store holding the module's catalog, with a sender's key."""

    def __init__(self, harness: Harness, client: TestClient) -> None:
        self.harness = harness
        self.client = client
        self.headers = harness.key(Permission.SEND_NOTIFICATIONS)

    def preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """The 200 body of a preview of `body`."""
        response = self.client.post(PREVIEW, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
def previewing(database_url: str, tmp_path: Path) -> Iterator[Previewing]:
    """The app over a store holding the module's catalog."""
    with open_harness(database_url, tmp_path) as harness:
        harness.load(*CATALOG)
        with harness.serving() as client:
            yield Previewing(harness, client)


EVENTS = [
    event(T.BROKEN_OPEN_API_SPEC, API),
    event(T.VERIFICATION_PERIOD_STARTED, API),
    event(T.WEEKLY_REPORT, data={"highlights": ["up"]}),
    event(T.WEEKLY_REPORT),
    event(T.BROKEN_OPEN_API_SPEC, entity_ref("nope")),
    event(T.SERVICE_REEVALUATED, API, scorecard_ref("drafty"), data={"score": 1}),
    event(T.SERVICE_REEVALUATED, API, scorecard_ref("readiness"), data={}),
]
IDS = [
    "owners-and-channels",
    "muted-member-and-medium-off",
    "everyone",
    "empty-content",
    "missing-entity",
    "draft-scorecard",
    "template-error",
]


@pytest.mark.parametrize("body", EVENTS, ids=IDS)
def test_preview_writes_nothing(previewing: Previewing, body: dict[str, Any]) -> None:
    engine = previewing.harness.runtime.engine
    before = (previewing.harness.row_counts(), catalog_row_counts(engine))
    previewing.preview(body)
    assert (previewing.harness.row_counts(), catalog_row_counts(engine)) == before


def decision(recipient: dict[str, Any]) -> tuple[Any, ...]:
    """What a preview says of one recipient: kind, who, decision, why and sentence."""
    who = recipient.get("recipientChannel") or recipient.get("recipientEmail")
    return (
        recipient["recipientType"],
        who,
        recipient.get("ignoredReason") or recipient["status"],
        recipient["why"],
        recipient.get("explanation"),
    )


def foreseen(log: LogView) -> tuple[Any, ...]:
    """A settled log in the terms of a preview: ignored and empty messages are decided
    before sending; everything else was READY to be sent (and sent)."""
    if log.status == "IGNORED":
        return (log.recipient_type, log.who, log.reason, log.why, log.explanation)
    if log.reason == "MISSING_CONTENT":
        return (log.recipient_type, log.who, "FAILED", log.why, log.explanation)
    return (log.recipient_type, log.who, "READY", log.why, None)


def counted(log: LogView) -> str:
    """The key a preview counts a settled log under."""
    if log.reason is not None and (log.status == "IGNORED" or log.reason == "MISSING_CONTENT"):
        return log.reason
    return "READY"


@pytest.mark.parametrize("body", EVENTS, ids=IDS)
def test_preview_matches_what_submitting_the_event_then_does(
    previewing: Previewing, body: dict[str, Any]
) -> None:
    harness = previewing.harness
    preview = previewing.preview(body)
    answer = harness.send(body)
    assert preview["notificationType"] == answer.notification_type
    assert [run["medium"] for run in preview["runs"]] == [run.medium for run in answer.runs]
    for planned, created in zip(preview["runs"], answer.runs, strict=True):
        run = harness.run(created.id)
        if planned["status"] != "CREATED":
            assert (planned["status"], planned.get("ignoredReason")) == (
                run.status,
                run.ignored_reason,
            )
        assert (planned.get("failedReason"), planned.get("errorMessage")) == (
            run.failed_reason,
            run.error_message,
        )
        logs = harness.logs(created.id)
        assert [decision(recipient) for recipient in planned["recipients"]] == [
            foreseen(log) for log in logs
        ]
        assert planned["counts"] == dict(Counter(counted(log) for log in logs))
        assert planned["recipientCount"] == len(logs)
        with harness.runtime.engine.connect() as connection:
            stored = [engine_repository.content_of(connection, log.id) for log in logs]
        assert [
            (r.get("subject"), r.get("text")) if r["status"] == "READY" else None
            for r in planned["recipients"]
        ] == [None if content is None else content[:2] for content in stored]


def test_preview_lists_at_most_200_recipients_and_counts_them_all(
    previewing: Previewing,
) -> None:
    previewing.harness.load(
        team("crowd", *(member(f"person{index:03d}@example.com") for index in range(205)))
    )
    preview = previewing.preview(event(T.WEEKLY_REPORT, data={"highlights": ["up"]}))
    for run in preview["runs"]:
        assert len(run["recipients"]) == 200
        # The crowd, Ada, Ben and Omar (whose muted membership withholds the report).
        assert run["recipientCount"] == 208
        assert run["counts"] == {"READY": 207, "CHANNEL_DISABLED": 1}

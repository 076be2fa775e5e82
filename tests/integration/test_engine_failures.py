"""Everything that fails, with its exact reason and sentence.

Logs: MEMBER_EMAILS_NOT_FOUND (a chat message to an owner who is no user),
MISSING_CONTENT (a message that renders empty, or whose content is gone before sending),
BACKSTAGE_BASE_URL_MISSING (links to a Backstage entity with no Backstage URL set) and
NO_SEATS_LEFT (an invitation beyond the licensed seats).
Runs: CONTEXT_RESOLUTION_ERROR (the event names what the catalog lacks),
PACKET_GENERATOR_ERROR (a template needs a fact the event did not give) and INTERNAL_ERROR
(the event itself is gone).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.catalog_builder import (
    email_owner,
    initiative,
    member,
    scorecard,
    service,
    team,
    tidings,
    user,
)
from tests.support.engine_harness import (
    Harness,
    entity_ref,
    event,
    initiative_ref,
    open_harness,
    scorecard_ref,
)
from tidings.enums import Medium, NotificationType

T = NotificationType
ADA, OUTSIDER = "ada@example.com", "outsider@partner.example.net"
API = entity_ref("payments-api")
CATALOG = (
    service("payments-api", owners=[email_owner(ADA), email_owner(OUTSIDER)]),
    tidings(
        users=[user(ADA)],
        scorecards=[scorecard("readiness")],
        initiatives=[
            initiative("adopt-slos", "readiness"),
            initiative("orphan", "no-such-scorecard"),
        ],
    ),
)


@pytest.fixture
def harness(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    """The engine over a store holding the module's catalog."""
    with open_harness(database_url, tmp_path) as opened:
        opened.load(*CATALOG)
        yield opened


class TestMemberEmailsNotFound:
    @pytest.mark.parametrize(
        ("medium", "chat"),
        [(Medium.SLACK, "Slack"), (Medium.MICROSOFT_TEAMS, "Microsoft Teams")],
        ids=str,
    )
    def test_chat_message_to_an_owner_who_is_no_user_fails(
        self, harness: Harness, medium: Medium, chat: str
    ) -> None:
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        [log] = [
            log for log in harness.logs(harness.run_of(answer, medium).id) if log.user_id is None
        ]
        sentence = f"users_not_found: no {chat} account matches {OUTSIDER}"
        assert (log.who, log.status, log.reason, log.error_message, log.explanation) == (
            OUTSIDER,
            "FAILED",
            "MEMBER_EMAILS_NOT_FOUND",
            sentence,
            sentence,
        )

    def test_email_to_an_owner_who_is_no_user_is_delivered(self, harness: Harness) -> None:
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, API))
        assert harness.outcomes(harness.run_of(answer, Medium.EMAIL).id) == [
            (ADA, "DELIVERED"),
            (OUTSIDER, "DELIVERED"),
        ]


class TestMissingContent:
    @pytest.mark.parametrize(
        "data", [{}, {"highlights": []}], ids=["no-highlights", "empty-highlights"]
    )
    def test_weekly_report_with_nothing_to_say_fails_every_log(
        self, harness: Harness, data: dict[str, Any]
    ) -> None:
        answer = harness.send(event(T.WEEKLY_REPORT, data=data))
        sentence = "the message rendered empty: there is nothing to tell this recipient"
        for created in answer.runs:
            assert [
                (log.who, log.status, log.reason, log.error_message, log.explanation)
                for log in harness.logs(created.id)
            ] == [(ADA, "FAILED", "MISSING_CONTENT", sentence, sentence)]
            run = harness.run(created.id)
            assert (run.status, run.failed_reason, run.delivered_count) == ("FAILED", None, 0)
        assert harness.outbox() == []
        assert harness.row_counts()["notification_contents"] == 0

    def test_content_gone_before_sending_fails_the_log(self, harness: Harness) -> None:
        answer, _queued = harness.submit(event(T.BROKEN_OPEN_API_SPEC, API))
        run_id = harness.run_of(answer, Medium.EMAIL).id
        harness.expand_only(run_id, event(T.BROKEN_OPEN_API_SPEC, API))
        harness.execute("DELETE FROM notification_contents")
        harness.process([run_id])
        sentence = "the message content is no longer stored"
        assert [(log.reason, log.error_message) for log in harness.logs(run_id)] == [
            ("MISSING_CONTENT", sentence)
        ] * 2
        assert harness.run(run_id).status == "FAILED"


class TestContextResolutionError:
    @pytest.mark.parametrize(
        ("body", "sentence"),
        [
            (
                event(T.BROKEN_OPEN_API_SPEC, entity_ref("nope")),
                "the entity nope does not exist in the catalog",
            ),
            (
                event(T.BROKEN_OPEN_API_SPEC, {"type": "ENTITY", "id": 999_999}),
                "the entity 999999 does not exist in the catalog",
            ),
            (
                event(T.SERVICE_REEVALUATED, API, scorecard_ref("nope"), data={"score": 1}),
                "the scorecard nope does not exist in the catalog",
            ),
            (
                event(T.INITIATIVE_CREATION, initiative_ref("nope")),
                "the initiative nope does not exist in the catalog",
            ),
            (
                event(T.INITIATIVE_CREATION, initiative_ref("orphan")),
                "the initiative orphan follows the scorecard no-such-scorecard, which does not "
                "exist in the catalog",
            ),
        ],
        ids=["entity-tag", "entity-id", "scorecard", "initiative", "initiative-scorecard"],
    )
    def test_event_naming_what_the_catalog_lacks_fails_every_run_at_once(
        self, harness: Harness, body: dict[str, Any], sentence: str
    ) -> None:
        answer, queued = harness.submit(body)
        assert queued == []
        assert [(run.status, run.failed_reason, run.error_message) for run in answer.runs] == [
            ("FAILED", "CONTEXT_RESOLUTION_ERROR", sentence)
        ] * 3
        assert all(harness.logs(run.id) == [] for run in answer.runs)

    def test_object_deleted_before_the_run_is_processed_fails_the_run(
        self, harness: Harness
    ) -> None:
        answer, queued = harness.submit(event(T.BROKEN_OPEN_API_SPEC, API))
        harness.execute("DELETE FROM catalog_entities WHERE tag = 'payments-api'")
        harness.process(queued)
        for created in answer.runs:
            run = harness.run(created.id)
            assert (run.status, run.failed_reason, run.error_message) == (
                "FAILED",
                "CONTEXT_RESOLUTION_ERROR",
                "the entity payments-api does not exist in the catalog",
            )


class TestPacketGeneratorError:
    def test_template_needing_a_fact_the_event_lacks_fails_the_run_and_keeps_no_logs(
        self, harness: Harness
    ) -> None:
        body = event(T.SERVICE_REEVALUATED, API, scorecard_ref("readiness"), data={"x": 1})
        answer, queued = harness.submit(body)
        assert [run.status for run in answer.runs] == ["CREATED"] * 3
        harness.process(queued)
        for created in answer.runs:
            run = harness.run(created.id)
            assert (run.status, run.failed_reason, run.delivered_count) == (
                "FAILED",
                "PACKET_GENERATOR_ERROR",
                0,
            )
            assert run.error_message == (
                "the SERVICE_REEVALUATED template failed: 'dict object' has no attribute 'score'"
            )
            assert harness.logs(created.id) == []
        assert harness.row_counts()["notification_run_destinations"] == 0
        assert harness.outbox() == []


class TestInternalError:
    def test_run_whose_event_is_gone_fails_with_internal_error(self, harness: Harness) -> None:
        answer, queued = harness.submit(event(T.BROKEN_OPEN_API_SPEC, API))
        harness.execute("DELETE FROM notification_events")
        harness.process(queued)
        assert {
            (run.status, run.failed_reason, run.error_message)
            for run in (harness.run(created.id) for created in answer.runs)
        } == {("FAILED", "INTERNAL_ERROR", "the event of this run is no longer stored")}


BACKSTAGE_COMPONENT = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {"name": "mobile-api", "title": "Mobile API"},
    "spec": {"type": "service", "lifecycle": "production", "owner": "group:default/mobile"},
}


class TestBackstageBaseUrlMissing:
    """Entities imported from Backstage are linked in Backstage's catalog."""

    def test_messages_about_a_backstage_entity_fail_without_a_backstage_url(
        self, harness: Harness
    ) -> None:
        harness.load(team("mobile", member(ADA)), BACKSTAGE_COMPONENT)
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, entity_ref("mobile-api")))
        [log] = harness.logs(harness.run_of(answer, Medium.EMAIL).id)
        sentence = (
            "the links of mobile-api point to Backstage, and no Backstage base URL is set "
            "(TIDINGS_BACKSTAGE_BASE_URL)"
        )
        assert (log.who, log.status, log.reason, log.explanation) == (
            ADA,
            "FAILED",
            "BACKSTAGE_BASE_URL_MISSING",
            sentence,
        )
        assert harness.run_of(answer, Medium.EMAIL).status == "FAILED"

    def test_with_a_backstage_url_they_are_sent_and_link_to_backstage(
        self, harness: Harness
    ) -> None:
        harness.runtime.settings = harness.runtime.settings.model_copy(
            update={"backstage_base_url": "https://backstage.example.org/"}
        )
        harness.load(team("mobile", member(ADA)), BACKSTAGE_COMPONENT)
        answer = harness.send(event(T.BROKEN_OPEN_API_SPEC, entity_ref("mobile-api")))
        [log] = harness.logs(harness.run_of(answer, Medium.SLACK).id)
        with harness.runtime.engine.connect() as connection:
            body = connection.scalar(
                text("SELECT body FROM notification_outbox WHERE log_id = :log_id"),
                {"log_id": log.id},
            )
        assert log.status == "DELIVERED"
        assert "https://backstage.example.org/catalog/default/component/mobile-api" in str(body)


class TestNoSeatsLeft:
    """Invitations take licensed seats; beyond them they fail with NO_SEATS_LEFT."""

    def test_invitees_beyond_the_free_seats_fail_and_the_others_are_invited(
        self, harness: Harness
    ) -> None:
        # The catalog has one user (ada): with two seats, one invitee fits.
        harness.load(tidings(workspace={"seats": 2}))
        invitees = ["new1@example.com", "new2@example.com"]
        answer = harness.send(event(T.TEAM_MEMBER_INVITATION, recipients=invitees))
        logs = harness.logs(harness.run_of(answer, Medium.EMAIL).id)
        assert [(log.who, log.status, log.reason) for log in logs] == [
            ("new1@example.com", "DELIVERED", None),
            ("new2@example.com", "FAILED", "NO_SEATS_LEFT"),
        ]
        assert logs[1].explanation == (
            "the workspace has no free seat for new2@example.com (all 2 licensed seats are taken)"
        )

    def test_without_a_seat_limit_every_invitee_is_invited(self, harness: Harness) -> None:
        invitees = ["new1@example.com", "new2@example.com"]
        answer = harness.send(event(T.TEAM_MEMBER_INVITATION, recipients=invitees))
        logs = harness.logs(harness.run_of(answer, Medium.EMAIL).id)
        assert {log.status for log in logs} == {"DELIVERED"}

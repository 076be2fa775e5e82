"""How a run settles (decisions.md, "Run status"), and how an interrupted run is finished.

COMPLETED when every log that was sent was delivered, COMPLETED_WITH_ERRORS when some were
and some failed, FAILED when none was delivered and some failed, IGNORED / NO_RECIPIENTS
when nothing was sent; `deliveredCount` is the number of DELIVERED logs. A run is CREATED
until then, and whoever processes it again finishes it without sending anything twice.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.support.catalog_builder import (
    Document,
    email_owner,
    member,
    service,
    team,
    team_owner,
    tidings,
    unsubscribed,
    user,
)
from tests.support.engine_harness import EVENTS, Harness, entity_ref, event, open_harness
from tidings.auth.permissions import Permission
from tidings.channels.base import Answered, Attempt, OutgoingMessage
from tidings.engine import delivery, repository
from tidings.engine.repository import LogDraft, Outcome
from tidings.enums import LogStatus, Medium, NotificationType, RecipientType
from tidings.logs.repository import logs

T = NotificationType
ADA, BEN, CORA = "ada@example.com", "ben@example.com", "cora@example.com"
OUTSIDER = "outsider@partner.example.net"
API = entity_ref("payments-api")
BROKEN_SPEC = event(T.BROKEN_OPEN_API_SPEC, API)


@pytest.fixture
def harness(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    """The engine over an empty store."""
    with open_harness(database_url, tmp_path) as opened:
        yield opened


def owned_by(*emails: str, users: tuple[str, ...] = (), **user_fields: Any) -> list[Document]:
    """payments-api owned by these emails; `users` of them are tidings users."""
    return [
        service("payments-api", owners=[email_owner(email) for email in emails]),
        tidings(users=[user(email, **user_fields) for email in users]),
    ]


class TestRunStatus:
    @pytest.mark.parametrize(
        ("owners", "users", "status", "delivered"),
        [
            ((ADA, BEN), (ADA, BEN), "COMPLETED", 2),
            ((ADA, OUTSIDER), (ADA,), "COMPLETED_WITH_ERRORS", 1),
            ((OUTSIDER,), (), "FAILED", 0),
        ],
        ids=["all-delivered", "some-failed", "all-failed"],
    )
    def test_slack_run_settles_from_its_logs(
        self,
        harness: Harness,
        owners: tuple[str, ...],
        users: tuple[str, ...],
        status: str,
        delivered: int,
    ) -> None:
        harness.load(*owned_by(*owners, users=users))
        run = harness.run_of(harness.send(BROKEN_SPEC), Medium.SLACK)
        assert (run.status, run.delivered_count, run.ignored_reason, run.failed_reason) == (
            status,
            delivered,
            None,
            None,
        )
        assert run.delivered_count == sum(
            1 for log in harness.logs(run.id) if log.status == "DELIVERED"
        )

    def test_ignored_logs_do_not_keep_a_run_from_completing(self, harness: Harness) -> None:
        harness.load(
            *owned_by(ADA, BEN, users=(ADA,)),
            tidings(users=[user(BEN, subscriptions=[unsubscribed("BROKEN_OPEN_API_SPEC")])]),
        )
        run = harness.run_of(harness.send(BROKEN_SPEC), Medium.EMAIL)
        assert harness.outcomes(run.id) == [(ADA, "DELIVERED"), (BEN, "USER_UNSUBSCRIBED")]
        assert (run.status, run.delivered_count) == ("COMPLETED", 1)

    def test_entity_without_owners_leaves_every_run_with_no_recipients(
        self, harness: Harness
    ) -> None:
        harness.load(service("payments-api"))
        answer = harness.send(BROKEN_SPEC)
        for created in answer.runs:
            run = harness.run(created.id)
            assert (run.status, run.ignored_reason, run.delivered_count) == (
                "IGNORED",
                "NO_RECIPIENTS",
                0,
            )
            assert run.expanded_at is not None

    def test_run_whose_every_log_is_ignored_has_no_recipients(self, harness: Harness) -> None:
        harness.load(
            *owned_by(BEN, users=(BEN,), subscriptions=[unsubscribed("BROKEN_OPEN_API_SPEC")])
        )
        answer = harness.send(BROKEN_SPEC)
        for created in answer.runs:
            run = harness.run(created.id)
            assert (run.status, run.ignored_reason) == ("IGNORED", "NO_RECIPIENTS")
            assert harness.outcomes(run.id) == [(BEN, "USER_UNSUBSCRIBED")]

    def test_team_without_members_is_no_recipients_too(self, harness: Harness) -> None:
        harness.load(team("payments"), service("payments-api", owners=[team_owner("payments")]))
        answer = harness.send(BROKEN_SPEC)
        assert {harness.run(run.id).ignored_reason for run in answer.runs} == {"NO_RECIPIENTS"}

    def test_submitted_run_is_created_until_processed(self, harness: Harness) -> None:
        harness.load(*owned_by(ADA, users=(ADA,)))
        _answer, queued = harness.submit(BROKEN_SPEC)
        assert [harness.run(run_id).status for run_id in queued] == ["CREATED"] * 3
        assert [harness.run(run_id).expanded_at for run_id in queued] == [None] * 3
        harness.process(queued)
        assert [harness.run(run_id).status for run_id in queued] == ["COMPLETED"] * 3


def half_written_log(email: str, status: LogStatus = LogStatus.READY) -> LogDraft:
    """A log an interrupted expansion left behind."""
    return LogDraft(
        notification_type=T.BROKEN_OPEN_API_SPEC,
        medium=Medium.EMAIL,
        status=status,
        recipient_type=RecipientType.USER,
        recipient_user_id=None,
        recipient_email=email,
        recipient_entity_id=None,
        recipient_channel=None,
        ignored_reason=None,
        failed_reason=None,
        error_message=None,
        why="left behind",
        explanation=None,
        content=("s", "t", "{}"),
    )


class TestResumingAnInterruptedRun:
    def test_partial_expansion_is_redone_without_duplicates(self, harness: Harness) -> None:
        harness.load(*owned_by(ADA, BEN, CORA, users=(ADA, BEN, CORA)))
        answer, _queued = harness.submit(BROKEN_SPEC)
        run_id = harness.run_of(answer, Medium.EMAIL).id
        with harness.runtime.engine.begin() as connection:
            repository.claim_destinations(connection, run_id, [f"person:{ADA}", f"person:{BEN}"])
            repository.insert_logs(
                connection, run_id, [half_written_log(ADA), half_written_log(BEN)], harness.clock()
            )
        assert harness.run(run_id).expanded_at is None

        harness.process([run_id])

        assert harness.outcomes(run_id) == [
            (ADA, "DELIVERED"),
            (BEN, "DELIVERED"),
            (CORA, "DELIVERED"),
        ]
        assert [log.why for log in harness.logs(run_id)] == [
            f"named owner of service payments-api ({email})" for email in (ADA, BEN, CORA)
        ]
        assert harness.outbox() == [("EMAIL", ADA), ("EMAIL", BEN), ("EMAIL", CORA)]
        assert (harness.run(run_id).status, harness.run(run_id).delivered_count) == ("COMPLETED", 3)

    def test_expanded_run_interrupted_during_delivery_sends_only_what_is_still_ready(
        self, harness: Harness
    ) -> None:
        harness.load(*owned_by(ADA, BEN, CORA, users=(ADA, BEN, CORA)))
        answer, _queued = harness.submit(BROKEN_SPEC)
        run_id = harness.run_of(answer, Medium.EMAIL).id
        harness.expand_only(run_id, BROKEN_SPEC)
        first = harness.logs(run_id)[0]
        with harness.runtime.engine.begin() as connection:
            repository.record_outcomes(
                connection, [Outcome(first.id, LogStatus.DELIVERED)], harness.clock()
            )
        assert harness.run(run_id).status == "CREATED"

        harness.process([run_id])

        assert harness.outbox() == [("EMAIL", BEN), ("EMAIL", CORA)]
        # The expansion was not redone: the log delivered before the crash is kept as it was.
        kept = harness.logs(run_id)[0]
        assert (kept.id, kept.status) == (first.id, "DELIVERED")
        run = harness.run(run_id)
        assert (run.status, run.delivered_count) == ("COMPLETED", 3)

    def test_processing_a_settled_run_again_changes_nothing(self, harness: Harness) -> None:
        harness.load(*owned_by(ADA, users=(ADA,)))
        _answer, queued = harness.submit(BROKEN_SPEC)
        harness.process(queued)
        before = (harness.row_counts(), [harness.run(run_id) for run_id in queued])
        harness.process(queued)
        assert (harness.row_counts(), [harness.run(run_id) for run_id in queued]) == before

    def test_runner_started_by_the_app_finishes_the_runs_left_created(
        self, harness: Harness
    ) -> None:
        harness.load(*owned_by(ADA, users=(ADA,)))
        left, _queued = harness.submit(BROKEN_SPEC)
        harness.expand_only(harness.run_of(left, Medium.SLACK).id, BROKEN_SPEC)
        with harness.serving() as client:
            headers = harness.key(Permission.SEND_NOTIFICATIONS)
            # Waiting right after start could return before the runner has queued the
            # unfinished runs; the runner takes them up before it processes this event.
            posted = client.post(EVENTS, json=BROKEN_SPEC, headers=headers)
            assert posted.status_code == 202, posted.text
            harness.wait_idle()
        run_ids = [run.id for run in left.runs] + [run["id"] for run in posted.json()["runs"]]
        assert [harness.run(run_id).status for run_id in run_ids] == ["COMPLETED"] * 6
        assert sorted(harness.outbox()) == sorted(
            [("SLACK", ADA), ("MICROSOFT_TEAMS", ADA), ("EMAIL", ADA)] * 2
        )


@dataclass
class AnsweringOneByOne:
    """An email medium that reports each answer as it comes, and notes who the store has as
    delivered whenever the delivery stage makes it wait."""

    engine: Engine
    medium: Medium = Medium.EMAIL
    stored_when_resumed: list[list[str]] = field(default_factory=list)

    async def send_batch(
        self, messages: Sequence[OutgoingMessage], answered: Answered | None = None
    ) -> list[Attempt]:
        """Deliver each message, waiting whenever the delivery stage says so."""
        attempts = []
        for index, _message in enumerate(messages):
            attempts.append(Attempt.delivered())
            hold = answered(index, attempts[-1]) if answered is not None else None
            if hold is not None:
                await hold
                self.stored_when_resumed.append(self.delivered())
        return attempts

    def delivered(self) -> list[str]:
        """The recipients whose email logs the store has as delivered."""
        statement = select(logs.c.recipient_email).where(
            logs.c.medium == Medium.EMAIL, logs.c.status == LogStatus.DELIVERED
        )
        with self.engine.connect() as connection:
            return sorted(connection.scalars(statement))

    async def close(self) -> None:
        """Nothing to release."""
        return None


class TestTheStoreKeepsUpWithTheMedium:
    def test_the_medium_sends_no_more_until_the_answers_waiting_are_stored(
        self, harness: Harness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(delivery, "UNWRITTEN_MAX", 2)
        email = AnsweringOneByOne(harness.runtime.engine)
        harness.runtime.channels = {**harness.runtime.channels, Medium.EMAIL: email}
        harness.load(*owned_by(ADA, BEN, CORA, users=(ADA, BEN, CORA)))

        run = harness.run_of(harness.send(BROKEN_SPEC), Medium.EMAIL)

        assert email.stored_when_resumed == [[ADA, BEN]]
        assert (run.status, run.delivered_count) == ("COMPLETED", 3)


class TestMembersOfTeams:
    def test_each_team_member_is_reached_once_per_medium_whatever_the_team_count(
        self, harness: Harness
    ) -> None:
        harness.load(
            team("payments", member(ADA), member(BEN)),
            team("platform", member(BEN)),
            service("payments-api", owners=[team_owner("payments"), team_owner("platform")]),
        )
        answer = harness.send(BROKEN_SPEC)
        run = harness.run_of(answer, Medium.EMAIL)
        assert harness.outcomes(run.id) == [
            (ADA, "DELIVERED"),
            (BEN, "DELIVERED"),
            (BEN, "DUPLICATE"),
        ]
        assert run.delivered_count == 2

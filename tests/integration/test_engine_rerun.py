"""Re-runs (decisions.md, "Re-run"): a new run of the chain, `originalRunId` the root and
`seqNo` one more than the highest, sending again only to recipients not yet delivered, with
the content stored for them (MISSING_CONTENT once it was purged); the old run never changes.

Delivery goes through the outbox, except that a test can make one address fail for a while.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.catalog_builder import email_owner, service, tidings, unsubscribed, user
from tests.support.engine_harness import (
    Harness,
    RunView,
    entity_ref,
    event,
    open_harness,
)
from tidings.auth.permissions import Permission
from tidings.channels.base import Answered, Attempt, Channel, OutgoingMessage
from tidings.engine import flows
from tidings.enums import FailedReason, Medium, NotificationType

T = NotificationType
ADA, BEN, CORA = "ada@example.com", "ben@example.com", "cora@example.com"
OUTSIDER = "outsider@partner.example.net"
API = entity_ref("payments-api")
BROKEN_SPEC = event(T.BROKEN_OPEN_API_SPEC, API)
RUNS = "/api/v1/notifications/logs/run"


@dataclass
class FlakyChannel:
    """A medium that refuses the addresses in `refusing` and hands the rest to `inner`."""

    inner: Channel
    refusing: set[str] = field(default_factory=set)
    medium: Medium = field(init=False)

    def __post_init__(self) -> None:
        self.medium = self.inner.medium

    async def send_batch(
        self, messages: Sequence[OutgoingMessage], answered: Answered | None = None
    ) -> list[Attempt]:
        """Refuse the refused addresses, hand the others to the inner medium (answering the
        whole batch at once)."""
        accepted = [m for m in messages if m.destination not in self.refusing]
        delivered = iter(await self.inner.send_batch(accepted))
        refused = Attempt.failed(FailedReason.CLIENT_ERROR, "the provider answered 403")
        return [
            refused if message.destination in self.refusing else next(delivered)
            for message in messages
        ]

    async def close(self) -> None:
        """Nothing to release."""
        return None


@dataclass
class Chain:
    """The harness with its email medium made flaky."""

    harness: Harness
    email: FlakyChannel

    def rerun(self, run_id: int) -> RunView:
        """Re-run a run and process the new one."""
        created = flows.rerun(self.harness.runtime.engine, run_id, self.harness.clock)
        self.harness.process([created.id])
        return self.harness.run(created.id)

    def email_run(self, body: dict[str, Any] = BROKEN_SPEC) -> RunView:
        """Send the event; its email run."""
        return self.harness.run_of(self.harness.send(body), Medium.EMAIL)


@pytest.fixture
def chain(database_url: str, tmp_path: Path) -> Iterator[Chain]:
    """Ada, Ben and Cora own payments-api; Cora wants no email about broken specs."""
    with open_harness(database_url, tmp_path) as harness:
        harness.load(
            service(
                "payments-api",
                owners=[
                    email_owner(ADA),
                    email_owner(BEN),
                    email_owner(CORA),
                    email_owner(OUTSIDER),
                ],
            ),
            tidings(
                users=[
                    user(ADA),
                    user(BEN),
                    user(CORA, subscriptions=[unsubscribed("BROKEN_OPEN_API_SPEC", "EMAIL")]),
                ]
            ),
        )
        email = FlakyChannel(harness.runtime.channels[Medium.EMAIL])
        harness.runtime.channels = {**harness.runtime.channels, Medium.EMAIL: email}
        yield Chain(harness, email)


class TestRerunSendsOnlyWhatWasNotDelivered:
    def test_delivered_recipients_get_duplicate_and_failed_ones_are_sent_again(
        self, chain: Chain
    ) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        assert (root.status, root.delivered_count) == ("COMPLETED_WITH_ERRORS", 2)
        chain.email.refusing = set()

        again = chain.rerun(root.id)

        assert (again.original_run_id, again.seq_no) == (root.id, 1)
        assert (again.status, again.delivered_count) == ("COMPLETED", 1)
        logs = chain.harness.logs(again.id)
        assert [(log.who, log.outcome) for log in logs] == [
            (ADA, "DUPLICATE"),
            (BEN, "DELIVERED"),
            (CORA, "USER_UNSUBSCRIBED"),
            (OUTSIDER, "DUPLICATE"),
        ]
        assert logs[0].explanation == "already delivered by an earlier run of this chain"
        assert logs[2].explanation == (
            f"ignored in run {root.id}: {CORA} unsubscribed from Broken OpenAPI spec "
            "notifications over EMAIL"
        )
        assert [log.why for log in logs] == [
            f"named owner of service payments-api ({email})" for email in (ADA, BEN, CORA, OUTSIDER)
        ]
        assert sorted(chain.harness.outbox()) == [
            ("EMAIL", ADA),
            ("EMAIL", BEN),
            ("EMAIL", OUTSIDER),
        ] + [(m, who) for m in ("MICROSOFT_TEAMS", "SLACK") for who in (ADA, BEN, CORA)]

    def test_old_run_and_its_logs_never_change(self, chain: Chain) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        before = (chain.harness.run(root.id), chain.harness.logs(root.id))
        chain.email.refusing = set()
        chain.harness.clock.advance(timedelta(hours=1))
        chain.rerun(root.id)
        assert (chain.harness.run(root.id), chain.harness.logs(root.id)) == before

    def test_re_run_of_a_re_run_keeps_the_root_and_counts_on(self, chain: Chain) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        first = chain.rerun(root.id)
        assert (first.status, first.delivered_count) == ("FAILED", 0)
        second = chain.rerun(first.id)
        third = chain.rerun(root.id)
        assert [(run.original_run_id, run.seq_no) for run in (first, second, third)] == [
            (root.id, 1),
            (root.id, 2),
            (root.id, 3),
        ]
        assert [(log.who, log.outcome) for log in chain.harness.logs(second.id)][:2] == [
            (ADA, "DUPLICATE"),
            (BEN, "CLIENT_ERROR"),
        ]
        assert chain.harness.logs(second.id)[0].explanation == (
            f"ignored in run {first.id}: already delivered by an earlier run of this chain"
        )

    def test_each_destination_gets_one_message_across_the_whole_chain(self, chain: Chain) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        first = chain.rerun(root.id)
        chain.email.refusing = set()
        chain.rerun(first.id)
        emails = [who for medium, who in chain.harness.outbox() if medium == "EMAIL"]
        assert sorted(emails) == [ADA, BEN, OUTSIDER]

    def test_purged_content_fails_the_resend_with_missing_content(self, chain: Chain) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        chain.email.refusing = set()
        chain.harness.execute("DELETE FROM notification_contents")
        again = chain.rerun(root.id)
        [ben] = [log for log in chain.harness.logs(again.id) if log.who == BEN]
        sentence = f"the content of run {root.id} was purged after its retention"
        assert (ben.status, ben.reason, ben.error_message, ben.explanation) == (
            "FAILED",
            "MISSING_CONTENT",
            sentence,
            sentence,
        )
        assert (again.status, again.delivered_count) == ("FAILED", 0)
        assert ("EMAIL", BEN) not in chain.harness.outbox()

    def test_owner_who_became_a_user_gets_the_resent_chat_message(self, chain: Chain) -> None:
        root = chain.harness.run_of(chain.harness.send(BROKEN_SPEC), Medium.SLACK)
        assert dict(chain.harness.outcomes(root.id))[OUTSIDER] == "MEMBER_EMAILS_NOT_FOUND"
        chain.harness.load(tidings(users=[user(OUTSIDER)]))
        again = chain.rerun(root.id)
        assert dict(chain.harness.outcomes(again.id))[OUTSIDER] == "DELIVERED"

    def test_re_run_of_a_run_still_delivering_leaves_its_recipients_to_it(
        self, chain: Chain
    ) -> None:
        answer, _queued = chain.harness.submit(BROKEN_SPEC)
        root = chain.harness.run_of(answer, Medium.EMAIL)
        chain.harness.expand_only(root.id, BROKEN_SPEC)

        again = chain.rerun(root.id)
        chain.harness.process([root.id])

        logs = chain.harness.logs(again.id)
        assert [(log.who, log.outcome) for log in logs] == [
            (ADA, "DUPLICATE"),
            (BEN, "DUPLICATE"),
            (CORA, "USER_UNSUBSCRIBED"),
            (OUTSIDER, "DUPLICATE"),
        ]
        assert logs[0].explanation == f"still being delivered by run {root.id}"
        emails = [who for medium, who in chain.harness.outbox() if medium == "EMAIL"]
        assert sorted(emails) == [ADA, BEN, OUTSIDER]

    def test_re_run_of_a_run_not_expanded_yet_is_refused(self, chain: Chain) -> None:
        answer, _queued = chain.harness.submit(BROKEN_SPEC)
        root = chain.harness.run_of(answer, Medium.EMAIL)
        with pytest.raises(flows.RerunError, match="has not reached its recipients yet"):
            chain.rerun(root.id)


class TestRerunOfARunThatFailedBeforeItsLogs:
    def test_re_run_after_the_missing_object_was_imported_sends_to_its_owners(
        self, chain: Chain
    ) -> None:
        root = chain.email_run(event(T.BROKEN_OPEN_API_SPEC, entity_ref("ledger-core")))
        assert (root.status, root.failed_reason) == ("FAILED", "CONTEXT_RESOLUTION_ERROR")
        chain.harness.load(service("ledger-core", owners=[email_owner(ADA)]))
        again = chain.rerun(root.id)
        assert (again.status, chain.harness.outcomes(again.id)) == (
            "COMPLETED",
            [(ADA, "DELIVERED")],
        )


class TestRerunEndpoint:
    def post(self, chain: Chain, run_id: int, permission: Permission) -> httpx.Response:
        """POST a re-run through the app; the runner has finished when this returns."""
        with chain.harness.serving() as client:
            response = client.post(f"{RUNS}/{run_id}/rerun", headers=chain.harness.key(permission))
            chain.harness.wait_idle()
        assert isinstance(response, httpx.Response)
        return response

    def test_re_run_answers_201_with_the_new_run_which_the_runner_then_sends(
        self, chain: Chain
    ) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        chain.email.refusing = set()
        response = self.post(chain, root.id, Permission.SEND_NOTIFICATIONS)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body == {"id": body["id"], "medium": "EMAIL", "status": "CREATED"}
        run = chain.harness.run(body["id"])
        assert (run.status, run.original_run_id, run.seq_no) == ("COMPLETED", root.id, 1)

    def test_run_detail_shows_the_chain_and_the_new_run_keeps_the_objects(
        self, chain: Chain
    ) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        new_id = self.post(chain, root.id, Permission.SEND_NOTIFICATIONS).json()["id"]
        viewer = chain.harness.key(Permission.VIEW_NOTIFICATION_LOGS)
        with chain.harness.serving() as client:
            old = client.get(f"{RUNS}/{root.id}", headers=viewer).json()
            new = client.get(f"{RUNS}/{new_id}", headers=viewer).json()
        expected = [
            {"id": root.id, "seqNo": 0, "status": "COMPLETED_WITH_ERRORS"},
            {"id": new_id, "seqNo": 1, "status": "FAILED"},
        ]
        assert (old["chain"], new["chain"]) == (expected, expected)
        assert (new["originalRunId"], new["seqNo"]) == (root.id, 1)
        assert "originalRunId" not in old
        assert new["notificationObjects"] == old["notificationObjects"]

    @pytest.mark.parametrize(
        ("later", "status"),
        [
            ((), "COMPLETED"),
            ((service("payments-api"),), "IGNORED"),
            ((tidings(workspace={"mediums": {"EMAIL": False}}),), "IGNORED"),
        ],
        ids=["completed", "no-recipients", "medium-off"],
    )
    def test_completed_or_ignored_run_is_a_409(
        self, chain: Chain, later: tuple[dict[str, Any], ...], status: str
    ) -> None:
        chain.harness.load(*later)
        run = chain.email_run()
        assert run.status == status
        count = chain.harness.row_counts()["notification_runs"]
        response = self.post(chain, run.id, Permission.SEND_NOTIFICATIONS)
        assert response.status_code == 409
        body = response.json()
        assert (body["type"], body["httpStatus"]) == ("CONFLICT", 409)
        assert body["details"] == (
            f"run {run.id} is {status}: only CREATED, FAILED and COMPLETED_WITH_ERRORS runs "
            "can be re-run"
        )
        assert chain.harness.row_counts()["notification_runs"] == count

    def test_unknown_run_is_a_404(self, chain: Chain) -> None:
        response = self.post(chain, 999_999, Permission.SEND_NOTIFICATIONS)
        assert response.status_code == 404
        assert response.json()["details"] == "run 999999 does not exist"

    def test_key_that_may_only_view_cannot_re_run(self, chain: Chain) -> None:
        chain.email.refusing = {BEN}
        root = chain.email_run()
        response = self.post(chain, root.id, Permission.VIEW_NOTIFICATION_LOGS)
        assert response.status_code == 403
        assert chain.harness.row_counts()["notification_runs"] == 3

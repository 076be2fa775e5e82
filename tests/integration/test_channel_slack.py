"""The Slack medium against the Slack emulator: where a message goes, what it carries, and what
each of Slack's answers means for the log (docs/delivery.md, "Failed reasons by medium")."""

import asyncio
import re
from collections.abc import Iterator, Sequence

import orjson
import pytest

from tidings.channels.base import Attempt, OutgoingMessage
from tidings.channels.slack import SlackChannel
from tidings.emulators import EmulatorSuite, FaultRule, SlackUser
from tidings.emulators.slack import SlackChannel as SeededChannel
from tidings.enums import AttemptOutcome, FailedReason, Medium, RecipientType
from tidings.kit.clock import system_clock

ALERTS = SeededChannel("alerts")
# conversations.list is read 200 channels a page: this one is on the second page.
FAR_DOWN = SeededChannel("far-down-the-list")
CHANNELS = [
    ALERTS,
    SeededChannel("deploys"),
    SeededChannel("old-alerts", is_archived=True),
    SeededChannel("private-ops", is_member=False),
    *(SeededChannel(f"team-{number:03}") for number in range(200)),
    FAR_DOWN,
]
ADA = SlackUser("ada@example.com")
GRACE = SlackUser("grace@example.com", id="U0GRACE")
SUBJECT = "Broken OpenAPI spec: payments-api"
TEXT = "The OpenAPI spec of payments-api no longer parses."
BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": SUBJECT}},
    {"type": "section", "text": {"type": "mrkdwn", "text": TEXT}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "<https://x.example/p|Open>"}]},
]
BODY = orjson.dumps({"text": f"{SUBJECT}\n{TEXT}", "blocks": BLOCKS}).decode()
SLACK_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
DELIVERED, RETRY, RATE_LIMITED, FAILED = (
    AttemptOutcome.DELIVERED,
    AttemptOutcome.RETRY,
    AttemptOutcome.RATE_LIMITED,
    AttemptOutcome.FAILED,
)


@pytest.fixture(scope="module")
def suite() -> Iterator[EmulatorSuite]:
    """One Slack workspace for the module."""
    with EmulatorSuite(slack_channels=CHANNELS, slack_users=[ADA, GRACE]) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh(suite: EmulatorSuite) -> None:
    """Each test starts with nothing received and no faults planned."""
    suite.reset()


def to_channel(name: str, *, log_id: int = 1, body: str = BODY) -> OutgoingMessage:
    return OutgoingMessage(
        log_id=log_id,
        run_id=1,
        medium=Medium.SLACK,
        recipient_type=RecipientType.TEAM,
        user_id=None,
        email=None,
        channel=name,
        slack_user_id=None,
        teams_user_id=None,
        subject=SUBJECT,
        text=TEXT,
        body=body,
    )


def to_person(email: str, slack_user_id: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        log_id=2,
        run_id=1,
        medium=Medium.SLACK,
        recipient_type=RecipientType.USER,
        user_id=11,
        email=email,
        channel=None,
        slack_user_id=slack_user_id,
        teams_user_id=None,
        subject=SUBJECT,
        text=TEXT,
        body=BODY,
    )


def slack(suite: EmulatorSuite, *, token: str | None = None, pace: float = 0) -> SlackChannel:
    """The Slack medium pointed at the emulator (unpaced unless told)."""
    return SlackChannel(
        system_clock, token or suite.slack_token, base_url=suite.slack_url, pace=pace
    )


def deliver(channel: SlackChannel, *batches: Sequence[OutgoingMessage]) -> list[Attempt]:
    """Send each batch in turn through one channel, in one event loop; every attempt."""

    async def send_all() -> list[Attempt]:
        try:
            return [attempt for batch in batches for attempt in await channel.send_batch(batch)]
        finally:
            await channel.close()

    return asyncio.run(send_all())


class TestChannelMessages:
    @pytest.mark.parametrize("name", ["#alerts", "alerts"])
    def test_channel_name_is_resolved_through_conversations_list_and_posted_by_id(
        self, suite: EmulatorSuite, name: str
    ) -> None:
        [attempt] = deliver(slack(suite), [to_channel(name)])

        assert attempt.outcome is DELIVERED
        assert attempt.status_code == 200
        [posted] = suite.slack.received.items()
        assert posted["arguments"]["channel"] == ALERTS.id
        assert posted["channel_name"] == "alerts"

    def test_message_carries_block_kit_blocks_and_the_text(self, suite: EmulatorSuite) -> None:
        deliver(slack(suite), [to_channel("#alerts")])

        [posted] = suite.slack.received.items()
        assert posted["blocks"] == BLOCKS
        assert posted["text"] == f"{SUBJECT}\n{TEXT}"
        assert posted["arguments"]["unfurl_links"] is False

    def test_message_without_a_layout_is_posted_as_its_text(self, suite: EmulatorSuite) -> None:
        deliver(slack(suite), [to_channel("#alerts", body="{}")])

        [posted] = suite.slack.received.items()
        assert (posted["text"], posted["blocks"]) == (TEXT, None)

    def test_channel_on_the_second_page_of_conversations_list_is_found(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(slack(suite), [to_channel("#far-down-the-list")])

        assert attempt.outcome is DELIVERED
        assert suite.slack.received.items()[0]["channel"] == FAR_DOWN.id

    def test_channel_made_after_the_names_were_listed_is_found_by_listing_again(
        self, suite: EmulatorSuite
    ) -> None:
        made_later = SeededChannel("made-after-the-listing")
        channel = slack(suite)

        async def before_and_after() -> list[Attempt]:
            try:
                [first] = await channel.send_batch([to_channel("#alerts")])
                suite.slack.workspace.add(channels=[made_later])
                [second] = await channel.send_batch([to_channel("#made-after-the-listing")])
                return [first, second]
            finally:
                await channel.close()

        attempts = asyncio.run(before_and_after())

        assert [attempt.outcome for attempt in attempts] == [DELIVERED, DELIVERED]
        assert suite.slack.received.items()[1]["channel"] == made_later.id

    def test_messages_to_one_channel_are_paced_and_all_delivered(
        self, suite: EmulatorSuite
    ) -> None:
        messages = [to_channel("#alerts", log_id=1), to_channel("#alerts", log_id=2)]

        attempts = deliver(slack(suite, pace=20), messages)

        assert [attempt.outcome for attempt in attempts] == [DELIVERED, DELIVERED]
        assert len(suite.slack.received.items()) == 2


class TestDirectMessages:
    def test_person_with_a_slack_id_is_messaged_at_that_id(self, suite: EmulatorSuite) -> None:
        [attempt] = deliver(slack(suite), [to_person(GRACE.email, slack_user_id=GRACE.id)])

        assert attempt.outcome is DELIVERED
        [posted] = suite.slack.received.items()
        assert posted["arguments"]["channel"] == GRACE.id
        assert (posted["user_id"], posted["channel"]) == (GRACE.id, GRACE.dm_channel_id)

    def test_person_without_a_slack_id_is_found_by_email(self, suite: EmulatorSuite) -> None:
        [attempt] = deliver(slack(suite), [to_person(ADA.email)])

        assert attempt.outcome is DELIVERED
        [posted] = suite.slack.received.items()
        assert posted["arguments"]["channel"] == ADA.id
        assert posted["user_email"] == ADA.email

    def test_email_without_a_slack_account_fails_with_member_emails_not_found(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(slack(suite), [to_person("nobody@example.com")])

        assert (attempt.outcome, attempt.failed_reason) == (
            FAILED,
            FailedReason.MEMBER_EMAILS_NOT_FOUND,
        )
        assert attempt.error_message == (
            "users_not_found: no Slack account has the email nobody@example.com"
        )
        assert suite.slack.received.items() == []


class TestSlackAnswers:
    @pytest.mark.parametrize(
        ("fault", "outcome", "reason", "says"),
        [
            pytest.param(
                FaultRule.slack_error("channel_not_found"),
                FAILED,
                FailedReason.CHANNEL_NOT_FOUND,
                "channel_not_found",
                id="channel_not_found",
            ),
            pytest.param(
                FaultRule.slack_error("not_in_channel"),
                FAILED,
                FailedReason.CHANNEL_NOT_FOUND,
                "not_in_channel",
                id="not_in_channel",
            ),
            pytest.param(
                FaultRule.slack_error("is_archived"),
                FAILED,
                FailedReason.CHANNEL_NOT_FOUND,
                "is_archived",
                id="is_archived",
            ),
            pytest.param(
                FaultRule.slack_error("invalid_auth"),
                FAILED,
                FailedReason.CLIENT_ERROR,
                "invalid_auth",
                id="invalid_auth",
            ),
            pytest.param(
                FaultRule.slack_error("missing_scope"),
                FAILED,
                FailedReason.CLIENT_ERROR,
                "missing_scope",
                id="missing_scope",
            ),
            pytest.param(
                FaultRule.slack_error("internal_error"),
                RETRY,
                None,
                "internal_error: Slack failed",
                id="internal_error",
            ),
            pytest.param(
                FaultRule.slack_error("fatal_error"),
                RETRY,
                None,
                "fatal_error: Slack failed",
                id="fatal_error",
            ),
            pytest.param(
                FaultRule.status(500), RETRY, None, "HTTP 500: Slack failed", id="http-500"
            ),
            pytest.param(
                FaultRule.status(503, '{"ok": false, "error": "service_unavailable"}'),
                RETRY,
                None,
                "service_unavailable: Slack failed",
                id="http-503-service_unavailable",
            ),
            pytest.param(
                FaultRule.drop(), RETRY, None, "could not reach Slack", id="dropped-connection"
            ),
            pytest.param(
                FaultRule.ratelimited(17),
                RATE_LIMITED,
                None,
                "ratelimited: Slack asked to wait 17 s",
                id="ratelimited",
            ),
        ],
    )
    def test_slacks_answer_decides_the_outcome(
        self,
        suite: EmulatorSuite,
        fault: FaultRule,
        outcome: AttemptOutcome,
        reason: FailedReason | None,
        says: str,
    ) -> None:
        suite.slack.faults.add(fault)

        [attempt] = deliver(slack(suite), [to_channel("#alerts")])

        assert (attempt.outcome, attempt.failed_reason) == (outcome, reason)
        assert says in (attempt.error_message or "")
        assert suite.slack.received.items() == []

    def test_ratelimited_waits_as_long_as_retry_after_says(self, suite: EmulatorSuite) -> None:
        suite.slack.faults.add(FaultRule.ratelimited(17, match="alerts"))

        [attempt] = deliver(slack(suite), [to_channel("#alerts")])

        assert attempt.outcome is RATE_LIMITED
        assert (attempt.status_code, attempt.retry_after) == (429, 17)

    @pytest.mark.parametrize(
        ("name", "says"),
        [
            pytest.param("#old-alerts", "is_archived", id="archived"),
            pytest.param("#private-ops", "not_in_channel", id="bot-not-a-member"),
            pytest.param(
                "#no-such-channel",
                "channel_not_found: the Slack workspace has no channel named #no-such-channel",
                id="unknown-name",
            ),
        ],
    )
    def test_channel_the_bot_cannot_post_in_fails_with_channel_not_found(
        self, suite: EmulatorSuite, name: str, says: str
    ) -> None:
        [attempt] = deliver(slack(suite), [to_channel(name)])

        assert (attempt.outcome, attempt.failed_reason) == (
            FAILED,
            FailedReason.CHANNEL_NOT_FOUND,
        )
        assert attempt.error_message == says
        assert suite.slack.received.items() == []

    @pytest.mark.parametrize(
        "message",
        [
            pytest.param(to_channel("#alerts"), id="channel"),
            pytest.param(to_person(ADA.email), id="person-by-email"),
            pytest.param(to_person(GRACE.email, slack_user_id=GRACE.id), id="person-by-id"),
        ],
    )
    def test_wrong_token_fails_with_client_error_in_slacks_words(
        self, suite: EmulatorSuite, message: OutgoingMessage
    ) -> None:
        [attempt] = deliver(slack(suite, token="xoxb-not-the-workspaces"), [message])

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert attempt.error_message == "invalid_auth"
        assert "invalid_auth" in (attempt.response_excerpt or "")


class TestEvidence:
    @pytest.mark.parametrize(
        "fault",
        [
            pytest.param(None, id="delivered"),
            pytest.param(FaultRule.slack_error("is_archived"), id="refused"),
            pytest.param(FaultRule.ratelimited(5), id="ratelimited"),
        ],
    )
    def test_slacks_request_id_is_kept_as_the_provider_request_id(
        self, suite: EmulatorSuite, fault: FaultRule | None
    ) -> None:
        if fault is not None:
            suite.slack.faults.add(fault)

        [attempt] = deliver(slack(suite), [to_channel("#alerts")])

        assert SLACK_REQUEST_ID.match(attempt.provider_request_id or "")

    def test_delivered_attempt_keeps_slacks_answer_as_its_excerpt(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(slack(suite), [to_channel("#alerts")])

        [posted] = suite.slack.received.items()
        assert posted["ts"] in (attempt.response_excerpt or "")
        assert attempt.started_at is not None
        assert attempt.latency_ms > 0

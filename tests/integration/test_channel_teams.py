"""The Microsoft Teams medium against the Teams emulator: Adaptive Cards posted to Workflows
webhooks, the 28 KB limit, what each HTTP answer means, and the guard against private targets
(docs/delivery.md, "Microsoft Teams")."""

import asyncio
import copy
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import pytest

from tidings.channels.base import Attempt, OutgoingMessage
from tidings.channels.http import Network, parse_networks
from tidings.channels.teams import MAX_MESSAGE_BYTES, TRUNCATED_NOTE, TeamsChannel, fit_message
from tidings.emulators import EmulatorSuite, FaultRule
from tidings.enums import AttemptOutcome, FailedReason, Medium, RecipientType
from tidings.kit.clock import system_clock

LOOPBACK = parse_networks("127.0.0.0/8")
SUBJECT = "Broken OpenAPI spec: payments-api"
TEXT = "The OpenAPI spec of payments-api no longer parses."
LINK = "https://portal.example.com/catalog/payments-api"
DELIVERED, RETRY, RATE_LIMITED, FAILED = (
    AttemptOutcome.DELIVERED,
    AttemptOutcome.RETRY,
    AttemptOutcome.RATE_LIMITED,
    AttemptOutcome.FAILED,
)


def workflows_message(subject: str = SUBJECT, text: str = TEXT) -> dict[str, Any]:
    """A Workflows message holding the card tidings renders: subject, text, an Open link."""
    card = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": subject, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": text, "wrap": True},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": LINK}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


@pytest.fixture(scope="module")
def suite() -> Iterator[EmulatorSuite]:
    """One set of Workflows webhooks for the module."""
    with EmulatorSuite() as started:
        yield started


@pytest.fixture(autouse=True)
def fresh(suite: EmulatorSuite) -> None:
    """Each test starts with nothing received and no faults planned."""
    suite.reset()


def to_channel(address: str | None, text: str = TEXT) -> OutgoingMessage:
    return OutgoingMessage(
        log_id=1,
        run_id=1,
        medium=Medium.MICROSOFT_TEAMS,
        recipient_type=RecipientType.TEAM,
        user_id=None,
        email=None,
        channel="payments-team",
        slack_user_id=None,
        teams_user_id=None,
        subject=SUBJECT,
        text=text,
        body=orjson.dumps(workflows_message(text=text)).decode(),
        address=address,
    )


def to_person(email: str) -> OutgoingMessage:
    return OutgoingMessage(
        log_id=2,
        run_id=1,
        medium=Medium.MICROSOFT_TEAMS,
        recipient_type=RecipientType.USER,
        user_id=11,
        email=email,
        channel=None,
        slack_user_id=None,
        teams_user_id=None,
        subject=SUBJECT,
        text=TEXT,
        body=orjson.dumps(workflows_message()).decode(),
    )


def deliver(
    messages: Sequence[OutgoingMessage],
    *,
    direct_url: str | None = None,
    allowed: tuple[Network, ...] = LOOPBACK,
) -> list[Attempt]:
    """Send one batch through a Teams medium that may reach the emulator on 127.0.0.1."""
    channel = TeamsChannel(system_clock, direct_url=direct_url, allowed=allowed)

    async def send() -> list[Attempt]:
        try:
            return await channel.send_batch(messages)
        finally:
            await channel.close()

    return asyncio.run(send())


class TestChannelCards:
    def test_card_is_posted_to_the_channels_webhook_and_accepted(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver([to_channel(suite.teams_url("payments-team"))])

        assert (attempt.outcome, attempt.status_code) == (DELIVERED, 202)
        [posted] = suite.teams.received.items()
        assert (posted["webhook"], posted["recipient"]) == ("payments-team", None)
        assert posted["message"] == workflows_message()
        assert posted["text"] == f"{SUBJECT} {TEXT}"

    def test_channel_without_a_webhook_fails_with_channel_not_found(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver([to_channel(None)])

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CHANNEL_NOT_FOUND)
        assert attempt.error_message == (
            "the Teams channel payments-team has no Workflows webhook (webhookUrl) in the catalog"
        )
        assert suite.teams.received.items() == []


class TestDirectMessages:
    def test_message_to_a_person_goes_to_the_direct_flow_naming_them(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver([to_person("ada@example.com")], direct_url=suite.teams_url("direct"))

        assert attempt.outcome is DELIVERED
        [posted] = suite.teams.received.items()
        assert (posted["webhook"], posted["recipient"]) == ("direct", "ada@example.com")
        assert posted["cards"] == [workflows_message()["attachments"][0]["content"]]

    def test_message_to_a_person_without_a_direct_flow_fails_naming_the_setting(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver([to_person("ada@example.com")], direct_url=None)

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert "TIDINGS_TEAMS_DIRECT_WEBHOOK_URL" in (attempt.error_message or "")
        assert suite.teams.received.items() == []


def texts(encoded: bytes) -> tuple[str, str, list[str]]:
    """The subject, the text, and the other texts of a fitted message's card."""
    body = orjson.loads(encoded)["attachments"][0]["content"]["body"]
    return body[0]["text"], body[1]["text"], [block["text"] for block in body[2:]]


class TestFitMessage:
    def test_message_within_the_limit_is_sent_as_it_is(self) -> None:
        document = workflows_message()

        assert fit_message(copy.deepcopy(document)) == orjson.dumps(document)

    def test_message_of_exactly_the_limit_is_sent_as_it_is(self) -> None:
        room = MAX_MESSAGE_BYTES - len(orjson.dumps(workflows_message(text="")))
        document = workflows_message(text="x" * room)

        fitted = fit_message(copy.deepcopy(document))

        assert len(fitted) == MAX_MESSAGE_BYTES
        assert fitted == orjson.dumps(document)

    def test_message_one_byte_over_the_limit_is_cut_and_says_so(self) -> None:
        room = MAX_MESSAGE_BYTES - len(orjson.dumps(workflows_message(text="")))

        fitted = fit_message(workflows_message(text="x" * (room + 1)))

        assert len(fitted) <= MAX_MESSAGE_BYTES
        subject, text, notes = texts(fitted)
        assert subject == SUBJECT
        assert text.endswith("…")
        assert notes == [TRUNCATED_NOTE]

    @pytest.mark.parametrize(
        "character",
        [
            pytest.param("x", id="1-byte"),
            pytest.param("é", id="2-bytes"),
            pytest.param("€", id="3-bytes"),
            pytest.param("😀", id="4-bytes"),
            pytest.param('"', id="escaped-quote"),
            pytest.param("\x01", id="escaped-control"),
        ],
    )
    def test_long_text_keeps_as_much_as_fits_whatever_bytes_its_characters_take(
        self, character: str
    ) -> None:
        fitted = fit_message(workflows_message(text=character * MAX_MESSAGE_BYTES))

        assert len(fitted) <= MAX_MESSAGE_BYTES
        subject, text, notes = texts(fitted)  # decodes: no character was cut in two
        assert subject == SUBJECT
        assert text == character * (len(text) - 1) + "…"
        assert notes == [TRUNCATED_NOTE]
        # Cut no more than needed: one character more (6 bytes at most) would not fit.
        assert len(fitted) > MAX_MESSAGE_BYTES - 6

    def test_long_subject_is_cut_once_the_text_is_gone(self) -> None:
        fitted = fit_message(workflows_message(subject="s" * 40_000), limit=4_096)

        assert len(fitted) <= 4_096
        subject, text, notes = texts(fitted)
        assert subject.endswith("…")
        assert text == "…"
        assert notes == [TRUNCATED_NOTE]

    def test_the_open_link_is_kept(self) -> None:
        fitted = fit_message(workflows_message(text="x" * 40_000))

        card = orjson.loads(fitted)["attachments"][0]["content"]
        assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open", "url": LINK}]


class TestLargeCards:
    def test_card_over_28_kb_is_cut_says_so_and_is_accepted(self, suite: EmulatorSuite) -> None:
        long_text = "The spec no longer parses at line 12. " * 1_000  # 38 KB

        [attempt] = deliver([to_channel(suite.teams_url("payments-team"), text=long_text)])

        assert (attempt.outcome, attempt.status_code) == (DELIVERED, 202)
        [posted] = suite.teams.received.items()
        assert posted["size"] <= 28 * 1024
        assert TRUNCATED_NOTE in posted["text"]
        assert posted["cards"][0]["actions"][0]["url"] == LINK


class TestWebhookAnswers:
    @pytest.mark.parametrize(
        ("fault", "outcome", "reason"),
        [
            pytest.param(FaultRule.status(500), RETRY, None, id="500"),
            pytest.param(FaultRule.status(502), RETRY, None, id="502"),
            pytest.param(FaultRule.status(503), RETRY, None, id="503"),
            pytest.param(FaultRule.status(504), RETRY, None, id="504"),
            pytest.param(FaultRule.status(408), RETRY, None, id="408"),
            pytest.param(FaultRule.status(425), RETRY, None, id="425"),
            pytest.param(FaultRule.drop(), RETRY, None, id="dropped-connection"),
            pytest.param(FaultRule.ratelimited(17), RATE_LIMITED, None, id="429"),
            pytest.param(FaultRule.status(400), FAILED, FailedReason.CLIENT_ERROR, id="400"),
            pytest.param(FaultRule.status(403), FAILED, FailedReason.CLIENT_ERROR, id="403"),
            pytest.param(FaultRule.status(404), FAILED, FailedReason.CLIENT_ERROR, id="404"),
            pytest.param(FaultRule.status(410), FAILED, FailedReason.CLIENT_ERROR, id="410"),
            pytest.param(FaultRule.status(413), FAILED, FailedReason.CLIENT_ERROR, id="413"),
        ],
    )
    def test_the_webhooks_answer_decides_the_outcome(
        self,
        suite: EmulatorSuite,
        fault: FaultRule,
        outcome: AttemptOutcome,
        reason: FailedReason | None,
    ) -> None:
        suite.teams.faults.add(fault)

        [attempt] = deliver([to_channel(suite.teams_url("payments-team"))])

        assert (attempt.outcome, attempt.failed_reason) == (outcome, reason)
        assert suite.teams.received.items() == []

    def test_429_waits_as_long_as_retry_after_says(self, suite: EmulatorSuite) -> None:
        suite.teams.faults.add(FaultRule.ratelimited(17, match="payments-team"))

        [attempt] = deliver([to_channel(suite.teams_url("payments-team"))])

        assert (attempt.status_code, attempt.retry_after) == (429, 17)
        assert attempt.error_message == (
            "the Teams webhook answered HTTP 429 Too Many Requests; retrying after 17 s"
        )

    def test_a_refusal_keeps_the_status_and_the_answer(self, suite: EmulatorSuite) -> None:
        flow_failed = '{"error": {"code": "FlowNotFound", "message": "The flow is off."}}'
        suite.teams.faults.add(FaultRule.status(404, flow_failed))

        [attempt] = deliver([to_channel(suite.teams_url("payments-team"))])

        assert attempt.status_code == 404
        assert attempt.error_message == "the Teams webhook answered HTTP 404 Not Found"
        assert attempt.response_excerpt == flow_failed


class TestPrivateTargets:
    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    def test_loopback_webhook_is_refused_without_the_allow_list(
        self, suite: EmulatorSuite, host: str
    ) -> None:
        address = suite.teams_url("payments-team").replace("127.0.0.1", host)

        [attempt] = deliver([to_channel(address)], allowed=())

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert "TIDINGS_WEBHOOK_ALLOWED_NETWORKS" in (attempt.error_message or "")
        assert suite.teams.received.items() == []

    def test_loopback_direct_flow_is_refused_without_the_allow_list(
        self, suite: EmulatorSuite
    ) -> None:
        direct = suite.teams_url("direct")

        [attempt] = deliver([to_person("ada@example.com")], direct_url=direct, allowed=())

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert suite.teams.received.items() == []

    def test_loopback_webhook_is_reached_when_the_allow_list_names_it(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(
            [to_channel(suite.teams_url("payments-team"))], allowed=parse_networks("127.0.0.0/8")
        )

        assert attempt.outcome is DELIVERED
        assert len(suite.teams.received.items()) == 1

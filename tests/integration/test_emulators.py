"""The protocol emulators, through real sockets and the clients tidings uses against the real
services: slack_sdk for Slack, aiohttp for Teams and webhooks, aiosmtplib for SMTP."""

import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import aiosmtplib
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from typer.testing import CliRunner

from tidings.cli import app
from tidings.emulators import (
    EmulatorSuite,
    FaultKind,
    FaultPlan,
    FaultRule,
    Received,
    SlackChannel,
    SlackUser,
)
from tidings.emulators.faults import SMTP_FAULTS, SMTP_REPLY_CODES
from tidings.emulators.teams import ADAPTIVE_CARD, BODY_LIMIT
from tidings.kit import standard_webhooks

CHANNELS = [
    SlackChannel("general"),
    SlackChannel("alerts"),
    SlackChannel("deploys"),
    SlackChannel("payments-oncall"),
    SlackChannel("old-alerts", is_archived=True),
    SlackChannel("private-ops", is_member=False),
]
ADA = SlackUser("ada@example.com", name="ada")
GRACE = SlackUser("grace@example.com", id="U0GRACE")
SMTP_USER, SMTP_PASSWORD = "tidings", "s3cret pass"
T = TypeVar("T")


@pytest.fixture(scope="module")
def suite() -> Iterator[EmulatorSuite]:
    """One suite for the module; each test starts with nothing received and no faults."""
    with EmulatorSuite(slack_channels=CHANNELS, slack_users=[ADA, GRACE]) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh(request: pytest.FixtureRequest) -> None:
    if "suite" in request.fixturenames:
        request.getfixturevalue("suite").reset()


@pytest.fixture(scope="module")
def smtp_with_auth() -> Iterator[EmulatorSuite]:
    """A suite whose SMTP server requires AUTH."""
    with EmulatorSuite(smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD) as started:
        yield started


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run one client call to completion (each call opens and closes its own connections)."""
    return asyncio.run(work)


# Slack ------------------------------------------------------------------------------------------


def slack(suite: EmulatorSuite, token: str | None = "suite") -> AsyncWebClient:
    """slack_sdk's client pointed at the emulator, with the suite's token unless told otherwise."""
    return AsyncWebClient(
        token=suite.slack_token if token == "suite" else token, base_url=suite.slack_url
    )


def slack_error(call: Coroutine[Any, Any, Any]) -> SlackApiError:
    """The SlackApiError a call raises."""
    with pytest.raises(SlackApiError) as raised:
        run(call)
    return raised.value


def lowered(headers: Any) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in dict(headers).items()}


class TestSlackAuth:
    def test_auth_test_names_the_workspace_and_the_bot(self, suite: EmulatorSuite) -> None:
        answer = run(slack(suite).auth_test())

        assert answer["ok"] is True
        assert answer["team_id"] == "T0EMULATED"
        assert answer["user_id"].startswith("U")
        assert answer["bot_id"].startswith("B")

    @pytest.mark.parametrize(
        ("token", "error"),
        [
            pytest.param("xoxb-not-the-one", "invalid_auth", id="wrong-token"),
            pytest.param(None, "not_authed", id="no-token"),
        ],
    )
    def test_bad_token_answers_http_200_with_slacks_error(
        self, suite: EmulatorSuite, token: str | None, error: str
    ) -> None:
        refused = slack_error(slack(suite, token).chat_postMessage(channel="#alerts", text="x"))

        assert refused.response.status_code == 200
        assert refused.response["error"] == error
        assert suite.slack.received.total == 0

    def test_every_answer_carries_a_slack_request_id(self, suite: EmulatorSuite) -> None:
        answer = run(slack(suite).auth_test())
        refused = slack_error(slack(suite, "xoxb-wrong").auth_test())

        assert lowered(answer.headers)["x-slack-req-id"]
        assert lowered(refused.response.headers)["x-slack-req-id"]


class TestSlackConversationsAndUsers:
    def test_conversations_list_pages_with_next_cursor(self, suite: EmulatorSuite) -> None:
        async def every_page() -> list[list[str]]:
            pages = await slack(suite).conversations_list(limit=2)
            return [[channel["name"] for channel in page["channels"]] async for page in pages]

        pages = run(every_page())

        assert all(len(page) == 2 for page in pages[:-1])
        assert 1 <= len(pages[-1]) <= 2
        names = [name for page in pages for name in page]
        assert names == [channel.name for channel in suite.slack.workspace.channels()]

    def test_last_page_has_an_empty_next_cursor(self, suite: EmulatorSuite) -> None:
        answer = run(slack(suite).conversations_list(limit=1000))

        assert answer["response_metadata"]["next_cursor"] == ""

    def test_channels_say_whether_archived_and_whether_the_bot_is_a_member(
        self, suite: EmulatorSuite
    ) -> None:
        channels = {
            channel["name"]: channel
            for channel in run(slack(suite).conversations_list(limit=1000))["channels"]
        }

        assert channels["old-alerts"]["is_archived"] is True
        assert channels["private-ops"]["is_member"] is False
        assert channels["alerts"]["id"] == CHANNELS[1].id
        assert channels["alerts"]["is_archived"] is False
        assert channels["alerts"]["is_member"] is True

    def test_exclude_archived_leaves_archived_channels_out(self, suite: EmulatorSuite) -> None:
        answer = run(slack(suite).conversations_list(limit=1000, exclude_archived=True))

        assert "old-alerts" not in [channel["name"] for channel in answer["channels"]]

    @pytest.mark.parametrize(
        ("arguments", "error"),
        [
            pytest.param({"cursor": "bm90IGEgY3Vyc29y"}, "invalid_cursor", id="bad-cursor"),
            pytest.param({"limit": 1001}, "invalid_limit", id="limit-too-high"),
            pytest.param({"limit": 0}, "invalid_limit", id="limit-zero"),
        ],
    )
    def test_bad_paging_arguments_are_refused(
        self, suite: EmulatorSuite, arguments: dict[str, Any], error: str
    ) -> None:
        refused = slack_error(slack(suite).conversations_list(**arguments))

        assert refused.response["error"] == error

    @pytest.mark.parametrize("email", ["ada@example.com", "Ada@Example.COM"])
    def test_lookup_by_email_finds_the_user_in_any_case(
        self, suite: EmulatorSuite, email: str
    ) -> None:
        answer = run(slack(suite).users_lookupByEmail(email=email))

        assert answer["user"]["id"] == ADA.id
        assert answer["user"]["profile"]["email"] == "ada@example.com"

    def test_lookup_of_an_unknown_email_is_users_not_found(self, suite: EmulatorSuite) -> None:
        refused = slack_error(slack(suite).users_lookupByEmail(email="nobody@example.com"))

        assert refused.response["error"] == "users_not_found"


class TestSlackPostMessage:
    @pytest.mark.parametrize(
        ("given", "channel", "channel_name", "user_email"),
        [
            pytest.param("#alerts", CHANNELS[1].id, "alerts", None, id="hash-name"),
            pytest.param("alerts", CHANNELS[1].id, "alerts", None, id="bare-name"),
            pytest.param(CHANNELS[1].id, CHANNELS[1].id, "alerts", None, id="channel-id"),
            pytest.param("U0GRACE", "D0GRACE", None, "grace@example.com", id="user-id-dm"),
        ],
    )
    def test_post_reaches_the_channel_or_the_users_dm(
        self,
        suite: EmulatorSuite,
        given: str,
        channel: str,
        channel_name: str | None,
        user_email: str | None,
    ) -> None:
        answer = run(slack(suite).chat_postMessage(channel=given, text="Deploy finished"))

        assert answer["ok"] is True
        assert answer["channel"] == channel
        [received] = suite.slack.received.items()
        assert received["channel"] == channel
        assert received["channel_name"] == channel_name
        assert received["user_email"] == user_email
        assert received["text"] == "Deploy finished"
        assert received["ts"] == answer["ts"]

    def test_each_message_gets_a_later_ts(self, suite: EmulatorSuite) -> None:
        first = run(slack(suite).chat_postMessage(channel="#alerts", text="one"))
        second = run(slack(suite).chat_postMessage(channel="#alerts", text="two"))

        assert float(second["ts"]) > float(first["ts"])

    def test_blocks_are_recorded(self, suite: EmulatorSuite) -> None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Score* 72"}}]

        run(slack(suite).chat_postMessage(channel="#alerts", text="Score 72", blocks=blocks))

        assert suite.slack.received.items()[0]["blocks"] == blocks

    @pytest.mark.parametrize(
        ("channel", "text", "error"),
        [
            pytest.param("#nowhere", "x", "channel_not_found", id="unknown-channel"),
            pytest.param("C0NOTACHANNEL", "x", "channel_not_found", id="unknown-id"),
            pytest.param("#old-alerts", "x", "is_archived", id="archived"),
            pytest.param("#private-ops", "x", "not_in_channel", id="not-a-member"),
            pytest.param(
                "#alerts",
                "",
                "no_text",
                id="no-text",
                marks=pytest.mark.filterwarnings("ignore:The top-level `text` argument"),
            ),
            pytest.param("#alerts", "x" * 40_001, "msg_too_long", id="too-long"),
        ],
    )
    def test_slack_errors(self, suite: EmulatorSuite, channel: str, text: str, error: str) -> None:
        refused = slack_error(slack(suite).chat_postMessage(channel=channel, text=text))

        assert refused.response.status_code == 200
        assert refused.response["error"] == error
        assert suite.slack.received.total == 0

    def test_form_body_with_the_token_as_an_argument(self, suite: EmulatorSuite) -> None:
        blocks = [{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]
        form = {
            "token": suite.slack_token,
            "channel": "#deploys",
            "text": "from a form",
            "blocks": json.dumps(blocks),
        }

        answer = post(suite.slack_url + "chat.postMessage", form=form)

        assert json.loads(answer.text)["ok"] is True
        [received] = suite.slack.received.items()
        assert received["blocks"] == blocks
        assert "token" not in received["arguments"]

    def test_unknown_channel_is_created_in_an_open_workspace(self, suite: EmulatorSuite) -> None:
        suite.slack.workspace.open_workspace = True
        try:
            answer = run(slack(suite).chat_postMessage(channel="#brand-new", text="hello"))
        finally:
            suite.slack.workspace.open_workspace = False

        assert answer["ok"] is True
        assert "brand-new" in [channel.name for channel in suite.slack.workspace.channels()]


class TestSlackFaults:
    def test_ratelimited_is_a_429_with_retry_after_through_slack_sdk(
        self, suite: EmulatorSuite
    ) -> None:
        suite.slack.faults.add(FaultRule.ratelimited(30, match="#alerts"))

        refused = slack_error(slack(suite).chat_postMessage(channel="#alerts", text="x"))

        assert refused.response.status_code == 429
        assert refused.response["error"] == "ratelimited"
        assert lowered(refused.response.headers)["retry-after"] == "30"
        assert lowered(refused.response.headers)["x-slack-req-id"]
        assert suite.slack.received.total == 0

    def test_slack_error_fault_answers_that_error_with_http_200(self, suite: EmulatorSuite) -> None:
        suite.slack.faults.add(FaultRule.slack_error("fatal_error"))

        refused = slack_error(slack(suite).chat_postMessage(channel="#alerts", text="x"))

        assert refused.response.status_code == 200
        assert refused.response["error"] == "fatal_error"

    @pytest.mark.parametrize(
        ("match", "channel"),
        [
            pytest.param("alerts", "#alerts", id="name-matches-hash-name"),
            pytest.param(CHANNELS[1].id, "alerts", id="id-matches-name"),
            pytest.param("grace@example.com", "U0GRACE", id="email-matches-dm"),
            pytest.param("U0GRACE", "U0GRACE", id="user-id-matches-dm"),
        ],
    )
    def test_fault_targets_any_name_of_the_destination(
        self, suite: EmulatorSuite, match: str, channel: str
    ) -> None:
        suite.slack.faults.add(FaultRule.slack_error("fatal_error", match=match))

        run(slack(suite).chat_postMessage(channel="#deploys", text="elsewhere"))
        refused = slack_error(slack(suite).chat_postMessage(channel=channel, text="x"))

        assert refused.response["error"] == "fatal_error"
        assert suite.slack.received.total == 1

    def test_fault_with_times_fails_that_many_posts_then_lets_them_through(
        self, suite: EmulatorSuite
    ) -> None:
        suite.slack.faults.add(FaultRule.status(503, times=2))

        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(
                    run(slack(suite).chat_postMessage(channel="#alerts", text="x")).status_code
                )
            except SlackApiError as error:
                outcomes.append(error.response.status_code)

        assert outcomes == [503, 503, 200]

    def test_delay_answers_normally(self, suite: EmulatorSuite) -> None:
        suite.slack.faults.add(FaultRule.delay(0.01))

        answer = run(slack(suite).chat_postMessage(channel="#alerts", text="late"))

        assert answer["ok"] is True
        assert suite.slack.faults.applied == 1


# Teams ------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str


def post(
    url: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Answer:
    """POST with aiohttp, the client tidings delivers webhooks with."""

    async def send() -> Answer:
        data: Any = form if form is not None else body
        sent_headers = dict(headers or {})
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            sent_headers.setdefault("content-type", "application/json")
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=data, headers=sent_headers) as response,
        ):
            return Answer(response.status, lowered(response.headers), await response.text())

    return run(send())


def card_message(text: str) -> dict[str, Any]:
    """A Workflows message holding one Adaptive Card with one TextBlock."""
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
    }
    return {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "content": card}]}


def card_of_size(size: int) -> bytes:
    """A valid message of exactly `size` bytes."""
    empty = len(json.dumps(card_message("")).encode())
    return json.dumps(card_message("x" * (size - empty))).encode()


class TestTeams:
    def test_card_is_accepted_with_202_and_recorded(self, suite: EmulatorSuite) -> None:
        answer = post(suite.teams_url("payments-team"), card_message("Scorecard dropped to 72"))

        assert answer.status == 202
        [received] = suite.teams.received.items()
        assert received["webhook"] == "payments-team"
        assert received["recipient"] is None
        assert received["text"] == "Scorecard dropped to 72"
        assert received["cards"][0]["type"] == "AdaptiveCard"

    def test_direct_message_flow_records_the_recipient(self, suite: EmulatorSuite) -> None:
        message = card_message("You were invited") | {"recipient": "ada@example.com"}

        assert post(suite.teams_url("direct"), message).status == 202
        assert suite.teams.received.items()[0]["recipient"] == "ada@example.com"

    @pytest.mark.parametrize(
        ("size", "status"),
        [
            pytest.param(BODY_LIMIT, 202, id="exactly-28KB"),
            pytest.param(BODY_LIMIT + 1, 413, id="one-byte-over"),
            pytest.param(BODY_LIMIT * 3, 413, id="far-over"),
        ],
    )
    def test_bodies_over_28_kb_are_refused_with_413(
        self, suite: EmulatorSuite, size: int, status: int
    ) -> None:
        body = card_of_size(size)
        assert len(body) == size

        answer = post(suite.teams_url("big"), body, {"content-type": "application/json"})

        assert answer.status == status
        if status == 413:
            assert json.loads(answer.text)["error"]["code"] == "RequestEntityTooLarge"
            assert suite.teams.received.total == 0

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b"not json", id="not-json"),
            pytest.param(b'{"text": "legacy connector card"}', id="no-type"),
            pytest.param(b'{"type": "message", "attachments": []}', id="no-attachments"),
            pytest.param(
                json.dumps(
                    {
                        "type": "message",
                        "attachments": [{"contentType": "text/html", "content": {}}],
                    }
                ).encode(),
                id="not-adaptive",
            ),
            pytest.param(
                json.dumps(
                    {
                        "type": "message",
                        "attachments": [{"contentType": ADAPTIVE_CARD, "content": {"type": "X"}}],
                    }
                ).encode(),
                id="content-not-a-card",
            ),
        ],
    )
    def test_bodies_that_are_not_card_messages_are_refused_with_400(
        self, suite: EmulatorSuite, body: bytes
    ) -> None:
        answer = post(suite.teams_url("ops"), body, {"content-type": "application/json"})

        assert answer.status == 400
        assert json.loads(answer.text)["error"]["message"]
        assert suite.teams.received.total == 0

    def test_fault_applies_to_its_webhook_only_and_for_its_times(
        self, suite: EmulatorSuite
    ) -> None:
        suite.teams.faults.add(FaultRule.status(500, "flow failed", match="ops", times=2))

        statuses = [post(suite.teams_url("ops"), card_message("x")).status for _ in range(3)]
        other = post(suite.teams_url("payments-team"), card_message("y")).status

        assert statuses == [500, 500, 202]
        assert other == 202

    def test_ratelimited_answers_429_with_retry_after(self, suite: EmulatorSuite) -> None:
        suite.teams.faults.add(FaultRule.ratelimited(7))

        answer = post(suite.teams_url("ops"), card_message("x"))

        assert answer.status == 429
        assert answer.headers["retry-after"] == "7"

    def test_drop_closes_the_connection_without_an_answer(self, suite: EmulatorSuite) -> None:
        suite.teams.faults.add(FaultRule.drop(match="ops"))

        with pytest.raises(aiohttp.ServerDisconnectedError):
            post(suite.teams_url("ops"), card_message("x"))

        assert post(suite.teams_url("ops"), card_message("x")).status == 202


# Webhooks ---------------------------------------------------------------------------------------


def signed(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of a delivery signed now (or at `timestamp`)."""
    moment = int(time.time()) if timestamp is None else timestamp
    headers = standard_webhooks.signature_headers(secret, make_msgid(), moment, body)
    return headers | {"content-type": "application/json"}


class TestWebhook:
    BODY = b'{"type": "SERVICE_REEVALUATED", "entity": "payments-api", "score": 72}'

    def test_signed_delivery_is_accepted_and_recorded(self, suite: EmulatorSuite) -> None:
        headers = signed(suite.webhook_secret, self.BODY)

        answer = post(suite.webhook_url("payments"), self.BODY, headers)

        assert answer.status == 200
        [received] = suite.webhook.received.items()
        assert received["hook"] == "payments"
        assert received["signature_valid"] is True
        assert received["webhook_id"] == headers["webhook-id"]
        assert received["body"]["score"] == 72

    @pytest.mark.parametrize(
        ("tamper", "error"),
        [
            pytest.param(
                lambda secret, body: (body + b" ", signed(secret, body)),
                "no webhook-signature matches",
                id="tampered-body",
            ),
            pytest.param(
                lambda secret, body: (body, signed(standard_webhooks.generate_secret(), body)),
                "no webhook-signature matches",
                id="other-secret",
            ),
            pytest.param(
                lambda secret, body: (body, signed(secret, body, int(time.time()) - 3600)),
                "s old",
                id="an-hour-old",
            ),
            pytest.param(
                lambda secret, body: (body, {"content-type": "application/json"}),
                "header is missing",
                id="unsigned",
            ),
        ],
    )
    def test_bad_signature_is_refused_with_401_and_recorded_as_invalid(
        self,
        suite: EmulatorSuite,
        tamper: Callable[[str, bytes], tuple[bytes, dict[str, str]]],
        error: str,
    ) -> None:
        body, headers = tamper(suite.webhook_secret, self.BODY)

        answer = post(suite.webhook_url("payments"), body, headers)

        assert answer.status == 401
        assert error in json.loads(answer.text)["error"]
        [received] = suite.webhook.received.items()
        assert received["signature_valid"] is False
        assert error in received["error"]

    def test_bad_signature_is_accepted_when_signatures_are_not_required(
        self, suite: EmulatorSuite
    ) -> None:
        suite.webhook.require_signature = False
        try:
            answer = post(suite.webhook_url("payments"), self.BODY, {"x-any": "thing"})
        finally:
            suite.webhook.require_signature = True

        assert answer.status == 200
        assert suite.webhook.received.items()[0]["signature_valid"] is False

    def test_fault_applies_by_hook_name(self, suite: EmulatorSuite) -> None:
        suite.webhook.faults.add(FaultRule.status(502, match="flaky"))
        headers = signed(suite.webhook_secret, self.BODY)

        flaky = post(suite.webhook_url("flaky"), self.BODY, headers)
        steady = post(suite.webhook_url("steady"), self.BODY, headers)

        assert (flaky.status, steady.status) == (502, 200)
        assert [item["hook"] for item in suite.webhook.received.items()] == ["steady"]

    def test_drop_closes_the_connection(self, suite: EmulatorSuite) -> None:
        suite.webhook.faults.add(FaultRule.drop())

        with pytest.raises(aiohttp.ServerDisconnectedError):
            post(suite.webhook_url("x"), self.BODY, signed(suite.webhook_secret, self.BODY))


# SMTP -------------------------------------------------------------------------------------------


def mail(*to: str, subject: str = "Scorecard dropped to 72") -> EmailMessage:
    """A message as tidings sends one: text and HTML alternatives, a Reply-To."""
    message = EmailMessage()
    message["From"] = "tidings <noreply@tidings.example>"
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="tidings.example")
    message["Reply-To"] = "platform@example.com"
    message.set_content("Payments API scored 72.\n")
    message.add_alternative("<p>Payments API scored <b>72</b>.</p>\n", subtype="html")
    return message


def trusting(suite: EmulatorSuite) -> ssl.SSLContext:
    """A client's TLS context that trusts the SMTP emulator's certificate, and no other."""
    return ssl.create_default_context(cafile=suite.smtp_ca_file)


def send_mail(
    suite: EmulatorSuite,
    message: EmailMessage,
    username: str | None = None,
    password: str | None = None,
    security: str = "none",
) -> tuple[dict[str, Any], str]:
    """Send with aiosmtplib, logging in when given a username and password; `security` is
    none, starttls or tls (implicit, on the TLS port), as in tidings' settings."""
    return run(
        aiosmtplib.send(
            message,
            hostname=suite.smtp_host,
            port=suite.smtp_tls_port if security == "tls" else suite.smtp_port,
            username=username,
            password=password,
            start_tls=security == "starttls",
            use_tls=security == "tls",
            tls_context=trusting(suite),
        )
    )


class TestSmtp:
    def test_accepted_message_is_recorded_parsed(self, suite: EmulatorSuite) -> None:
        message = mail("ada@example.com")

        refused, reply = send_mail(suite, message)

        assert refused == {}
        [received] = suite.smtp.received.items()
        assert reply == f"2.0.0 Ok: queued as {received['queue_id']}"
        assert received["mail_from"] == "noreply@tidings.example"
        assert received["rcpt_tos"] == ["ada@example.com"]
        assert received["subject"] == "Scorecard dropped to 72"
        assert received["message_id"] == message["Message-ID"]
        assert received["reply_to"] == "platform@example.com"
        assert received["text"] == "Payments API scored 72.\n"
        assert received["html"] == "<p>Payments API scored <b>72</b>.</p>\n"
        assert received["tls"] is False

    @pytest.mark.parametrize(
        ("rule", "code"),
        [
            pytest.param({"status": 451}, 451, id="transient-451"),
            pytest.param({"status": 550, "body": "5.1.1 No such user"}, 550, id="permanent-550"),
        ],
    )
    def test_reply_code_fault_refuses_the_recipient(
        self, suite: EmulatorSuite, rule: dict[str, Any], code: int
    ) -> None:
        suite.smtp.faults.add_json({"match": "ada@example.com", **rule})

        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            send_mail(suite, mail("ada@example.com"))

        [recipient] = refused.value.recipients
        assert (recipient.code, recipient.recipient) == (code, "ada@example.com")
        assert recipient.message.startswith(f"{code // 100}.")
        assert suite.smtp.received.total == 0

    def test_refused_recipient_does_not_stop_the_others(self, suite: EmulatorSuite) -> None:
        suite.smtp.faults.add(FaultRule.status(550, match="Ada@Example.com"))

        refused, _ = send_mail(suite, mail("ada@example.com", "grace@example.com"))

        assert refused["ada@example.com"].code == 550
        assert suite.smtp.received.items()[0]["rcpt_tos"] == ["grace@example.com"]

    def test_drop_closes_the_connection_at_rcpt(self, suite: EmulatorSuite) -> None:
        suite.smtp.faults.add(FaultRule.drop(match="ada@example.com"))

        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            send_mail(suite, mail("ada@example.com"))

        send_mail(suite, mail("ada@example.com"))
        assert suite.smtp.received.total == 1

    def test_delay_accepts_the_recipient(self, suite: EmulatorSuite) -> None:
        suite.smtp.faults.add(FaultRule.delay(0.01))

        refused, _ = send_mail(suite, mail("ada@example.com"))

        assert refused == {}
        assert suite.smtp.faults.applied == 1

    @pytest.mark.parametrize("security", ["none", "starttls", "tls"])
    def test_auth_is_not_offered_without_credentials(
        self, suite: EmulatorSuite, security: str
    ) -> None:
        with pytest.raises(aiosmtplib.SMTPException, match="AUTH"):
            send_mail(suite, mail("ada@example.com"), username="a", password="b", security=security)


class TestSmtpTls:
    def test_starttls_is_offered_and_the_upgraded_session_is_recorded_as_tls(
        self, suite: EmulatorSuite
    ) -> None:
        async def upgrade_and_send() -> tuple[bool, bool]:
            client = aiosmtplib.SMTP(
                hostname=suite.smtp_host,
                port=suite.smtp_port,
                start_tls=False,
                tls_context=trusting(suite),
            )
            async with client:
                await client.ehlo()
                offered = client.supports_extension("starttls")
                await client.starttls()
                await client.ehlo()
                offered_again = client.supports_extension("starttls")
                await client.send_message(mail("ada@example.com"))
            return offered, offered_again

        assert run(upgrade_and_send()) == (True, False)
        [received] = suite.smtp.received.items()
        assert (received["tls"], received["rcpt_tos"]) == (True, ["ada@example.com"])

    @pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
    def test_tls_port_speaks_implicit_tls_with_a_certificate_for_the_loopback_names(
        self, suite: EmulatorSuite, hostname: str
    ) -> None:
        async def send_over_tls() -> bool:
            client = aiosmtplib.SMTP(
                hostname=hostname,
                port=suite.smtp_tls_port,
                use_tls=True,
                tls_context=trusting(suite),
            )
            async with client:
                await client.ehlo()
                await client.send_message(mail("ada@example.com"))
                return client.supports_extension("starttls")

        assert run(send_over_tls()) is False
        [received] = suite.smtp.received.items()
        assert (received["tls"], received["rcpt_tos"]) == (True, ["ada@example.com"])

    @pytest.mark.parametrize(
        ("security", "error"),
        [
            pytest.param("starttls", ssl.SSLCertVerificationError, id="starttls"),
            # aiosmtplib wraps a failed handshake on connecting.
            pytest.param("tls", aiosmtplib.SMTPConnectError, id="implicit-tls"),
        ],
    )
    def test_a_client_that_trusts_only_the_systems_cas_refuses_the_certificate(
        self, suite: EmulatorSuite, security: str, error: type[Exception]
    ) -> None:
        with pytest.raises(error, match="certificate verify failed"):
            run(
                aiosmtplib.send(
                    mail("ada@example.com"),
                    hostname=suite.smtp_host,
                    port=suite.smtp_tls_port if security == "tls" else suite.smtp_port,
                    start_tls=security == "starttls",
                    use_tls=security == "tls",
                )
            )

        assert suite.smtp.received.total == 0


class TestSmtpAuth:
    @pytest.mark.parametrize("mechanism", ["auth_plain", "auth_login"])
    def test_right_credentials_log_in_with_either_mechanism(
        self, smtp_with_auth: EmulatorSuite, mechanism: str
    ) -> None:
        async def log_in_and_send() -> None:
            client = aiosmtplib.SMTP(
                hostname=smtp_with_auth.smtp_host, port=smtp_with_auth.smtp_port, start_tls=False
            )
            async with client:
                await client.ehlo()
                await getattr(client, mechanism)(SMTP_USER, SMTP_PASSWORD)
                await client.send_message(mail("ada@example.com"))

        run(log_in_and_send())

        assert smtp_with_auth.smtp.received.items()[-1]["auth_user"] == SMTP_USER

    @pytest.mark.parametrize("security", ["starttls", "tls"])
    def test_login_works_over_tls_too(self, smtp_with_auth: EmulatorSuite, security: str) -> None:
        send_mail(
            smtp_with_auth, mail("ada@example.com"), SMTP_USER, SMTP_PASSWORD, security=security
        )

        received = smtp_with_auth.smtp.received.items()[-1]
        assert (received["auth_user"], received["tls"]) == (SMTP_USER, True)

    @pytest.mark.parametrize(
        ("login", "error", "code"),
        [
            pytest.param(
                {"username": SMTP_USER, "password": "wrong"},
                aiosmtplib.SMTPAuthenticationError,
                535,
                id="wrong-password",
            ),
            pytest.param({}, aiosmtplib.SMTPSenderRefused, 530, id="no-login"),
        ],
    )
    def test_mail_is_refused_without_the_right_credentials(
        self,
        smtp_with_auth: EmulatorSuite,
        login: dict[str, str],
        error: type[aiosmtplib.SMTPResponseException],
        code: int,
    ) -> None:
        before = smtp_with_auth.smtp.received.total

        with pytest.raises(error) as refused:
            send_mail(smtp_with_auth, mail("ada@example.com"), **login)

        assert refused.value.code == code
        assert smtp_with_auth.smtp.received.total == before


# The fault model --------------------------------------------------------------------------------


class TestFaultPlan:
    def test_first_matching_rule_applies_and_is_used_up(self) -> None:
        plan = FaultPlan(
            [FaultRule.status(500, match="ops"), FaultRule.status(502), FaultRule.drop()]
        )

        taken = [plan.take("alerts"), plan.take("ops"), plan.take("ops"), plan.take("ops")]

        assert [fault.kind if fault else None for fault in taken] == [
            FaultKind.STATUS,
            FaultKind.STATUS,
            FaultKind.DROP,
            None,
        ]
        assert [fault.status if fault else None for fault in taken[:2]] == [502, 500]
        assert plan.applied == 3

    def test_times_zero_applies_for_ever(self) -> None:
        plan = FaultPlan([FaultRule.ratelimited(1, times=0)])

        assert all(plan.take("x") is not None for _ in range(100))
        assert plan.rules()[0].times == 0

    def test_remaining_uses_are_shown(self) -> None:
        plan = FaultPlan([FaultRule.status(503, times=3)])
        plan.take("x")

        assert plan.to_json()["rules"] == [
            {"match": None, "times": 2, "status": 503},
        ]

    @pytest.mark.parametrize(
        ("match", "target"),
        [("#alerts", "alerts"), ("alerts", "#alerts"), ("Ada@Example.com", "ada@example.com")],
    )
    def test_match_ignores_case_and_a_leading_hash(self, match: str, target: str) -> None:
        plan = FaultPlan([FaultRule.drop(match=match)])

        assert plan.take(target) is not None

    @pytest.mark.parametrize(
        "rule",
        [
            {"status": 503},
            {"status": 451, "body": "4.3.0 busy", "match": "a@b.c", "times": 2},
            {"ratelimited": 30},
            {"slack_error": "channel_not_found", "times": 0},
            {"delay": 1.5},
            {"drop": True},
        ],
    )
    def test_json_round_trip(self, rule: dict[str, Any]) -> None:
        parsed = FaultRule.from_json(rule)

        assert FaultRule.from_json(parsed.to_json()) == parsed
        assert parsed.to_json() == {"match": None, "times": 1} | rule

    @pytest.mark.parametrize(
        ("rule", "message"),
        [
            ({"status": 503, "retry": 1}, "unknown keys in a fault rule: retry"),
            ({"status": 503, "drop": True}, "exactly one of"),
            ({"times": 2}, "exactly one of"),
            ({"delay": 1, "body": "x"}, "body goes only with status"),
            ({"status": "503"}, "status is an integer"),
            ({"ratelimited": -1}, "Retry-After"),
            ({"delay": "soon"}, "delay is a number"),
            ({"drop": False}, "drop is true"),
            ({"drop": True, "times": -1}, "times must be 0"),
            ({"drop": True, "match": ""}, "match must name a target"),
            ([{"drop": True}], "a fault rule is a JSON object"),
        ],
    )
    def test_malformed_rules_are_refused_with_the_reason(self, rule: Any, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            FaultRule.from_json(rule)

    @pytest.mark.parametrize(
        ("rule", "message"),
        [
            (FaultRule.slack_error("fatal_error"), "does not support slack_error"),
            (FaultRule.ratelimited(5), "does not support ratelimited"),
            (FaultRule.status(250), "from 400 to 599, not 250"),
        ],
    )
    def test_a_plan_refuses_what_its_protocol_cannot_express(
        self, rule: FaultRule, message: str
    ) -> None:
        plan = FaultPlan(supported=SMTP_FAULTS, statuses=SMTP_REPLY_CODES, protocol="SMTP")

        with pytest.raises(ValueError, match=message):
            plan.add(rule)

    def test_a_list_of_rules_is_added_whole_or_not_at_all(self) -> None:
        plan = FaultPlan()

        with pytest.raises(ValueError, match="exactly one of"):
            plan.add_json([{"drop": True}, {"match": "x"}])

        assert plan.rules() == []


class TestReceived:
    def test_keeps_the_newest_and_counts_all(self) -> None:
        received = Received(keep=3)
        for number in range(5):
            received.record({"n": number})

        assert received.total == 5
        assert [item["n"] for item in received.items()] == [2, 3, 4]
        assert [item["seq"] for item in received.items(since=3)] == [4, 5]
        assert [item["n"] for item in received.latest(2)] == [4, 3]

    def test_wait_for_returns_once_enough_items_arrived(self) -> None:
        received = Received()
        received.record({"n": 1})

        assert len(received.wait_for(1, timeout=0)) == 1
        with pytest.raises(TimeoutError, match="1 items received, expected 2"):
            received.wait_for(2, timeout=0)


# Control endpoints and the inbox ------------------------------------------------------------------


def deliver_script_tag(suite: EmulatorSuite, emulator: str) -> None:
    """Deliver something holding a <script> tag to one emulator."""
    text = "<script>alert('x')</script>"
    if emulator == "slack":
        run(slack(suite).chat_postMessage(channel="#alerts", text=text))
    elif emulator == "teams":
        post(suite.teams_url("ops"), card_message(text))
    elif emulator == "smtp":
        send_mail(suite, mail("ada@example.com", subject=text))
    else:
        body = json.dumps({"note": text}).encode()
        post(suite.webhook_url("x"), body, signed(suite.webhook_secret, body))


EMULATORS = ["slack", "teams", "smtp", "webhook"]


class TestControl:
    @pytest.mark.parametrize("emulator", EMULATORS)
    def test_inbox_shows_what_was_received_escaped(
        self, suite: EmulatorSuite, emulator: str
    ) -> None:
        deliver_script_tag(suite, emulator)

        page = httpx.get(f"{suite.base_url(emulator)}/inbox")

        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(" in page.text
        assert "1 received" in page.text

    def test_inbox_lists_newest_first(self, suite: EmulatorSuite) -> None:
        for text in ("first message", "second message"):
            run(slack(suite).chat_postMessage(channel="#alerts", text=text))

        page = httpx.get(f"{suite.base_url('slack')}/inbox").text

        assert page.index("second message") < page.index("first message")

    @pytest.mark.parametrize("emulator", EMULATORS)
    def test_received_lists_newest_last_since_a_seq_and_resets(
        self, suite: EmulatorSuite, emulator: str
    ) -> None:
        for _ in range(3):
            deliver_script_tag(suite, emulator)
        url = f"{suite.base_url(emulator)}/_emulator/received"

        everything = httpx.get(url).json()
        later = httpx.get(url, params={"since": 1}).json()
        reset = httpx.delete(url)

        assert [item["seq"] for item in everything] == [1, 2, 3]
        assert [item["seq"] for item in later] == [2, 3]
        assert reset.status_code == 204
        assert httpx.get(url).json() == []

    def test_since_must_be_a_number(self, suite: EmulatorSuite) -> None:
        answer = httpx.get(f"{suite.base_url('slack')}/_emulator/received?since=yesterday")

        assert answer.status_code == 400

    @pytest.mark.parametrize("emulator", EMULATORS)
    def test_faults_are_added_listed_and_cleared_over_http(
        self, suite: EmulatorSuite, emulator: str
    ) -> None:
        url = f"{suite.base_url(emulator)}/_emulator/faults"

        one = httpx.post(url, json={"match": "ops", "status": 503})
        several = httpx.post(url, json=[{"delay": 0.5, "times": 0}, {"drop": True}])
        listed = httpx.get(url).json()
        cleared = httpx.delete(url)

        assert (one.status_code, several.status_code) == (201, 201)
        assert [rule["match"] for rule in listed["rules"]] == ["ops", None, None]
        assert listed["rules"][1] == {"match": None, "times": 0, "delay": 0.5}
        assert cleared.status_code == 204
        assert httpx.get(url).json() == {"applied": 0, "rules": []}

    @pytest.mark.parametrize(
        ("emulator", "body", "message"),
        [
            ("slack", b"{not json", "not JSON"),
            ("teams", b'{"slack_error": "fatal_error"}', "does not support slack_error"),
            ("smtp", b'{"status": 200}', "from 400 to 599"),
            ("webhook", b'{"status": 503, "after": 2}', "unknown keys"),
        ],
    )
    def test_bad_fault_rules_are_refused_with_400(
        self, suite: EmulatorSuite, emulator: str, body: bytes, message: str
    ) -> None:
        answer = httpx.post(f"{suite.base_url(emulator)}/_emulator/faults", content=body)

        assert answer.status_code == 400
        assert message in answer.json()["error"]
        assert suite.emulators[emulator].faults.rules() == []

    def test_fault_added_over_http_applies(self, suite: EmulatorSuite) -> None:
        httpx.post(f"{suite.base_url('teams')}/_emulator/faults", json={"status": 404})

        assert post(suite.teams_url("gone"), card_message("x")).status == 404

    def test_slack_workspace_grows_through_the_control_endpoint(self, suite: EmulatorSuite) -> None:
        url = f"{suite.base_url('slack')}/_emulator/workspace"
        added = httpx.post(
            url,
            json={"channels": [{"name": "incidents"}], "users": [{"email": "linus@example.com"}]},
        )

        answer = run(slack(suite).chat_postMessage(channel="#incidents", text="hello"))
        user = run(slack(suite).users_lookupByEmail(email="linus@example.com"))

        assert added.status_code == 200
        assert answer["ok"] is True
        assert user["user"]["name"] == "linus"
        assert httpx.post(url, json={"rooms": []}).status_code == 400


# The suite and the command line -------------------------------------------------------------------


class TestSuite:
    def test_each_emulator_listens_on_its_own_port(self, suite: EmulatorSuite) -> None:
        ports = {suite.base_url(name).rsplit(":", 1)[1] for name in EMULATORS}

        assert len(ports | {str(suite.smtp_port), str(suite.smtp_tls_port)}) == 6

    def test_a_port_in_use_is_reported(self) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]

            with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
                EmulatorSuite(webhook_port=port).start()

    def test_stopping_closes_every_port(self) -> None:
        with EmulatorSuite() as started:
            ports = [started.smtp_port, started.smtp_tls_port]

        for port in ports:
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()

    def test_description_names_the_smtp_tls_port_and_the_ca_file(
        self, suite: EmulatorSuite
    ) -> None:
        [line] = [line for line in suite.describe() if line.startswith("SMTP over TLS")]

        assert f"{suite.smtp_host}:{suite.smtp_tls_port}" in line
        assert suite.smtp_ca_file in line

    def test_the_smtp_certificate_is_written_at_start_and_removed_on_stop(self) -> None:
        with EmulatorSuite() as started:
            ca_file = Path(started.smtp_ca_file)
            assert ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")

        assert not ca_file.parent.exists()

    def test_settings_point_tidings_at_the_emulators(self, smtp_with_auth: EmulatorSuite) -> None:
        settings = smtp_with_auth.tidings_settings()

        assert settings["TIDINGS_SLACK_API_URL"] == smtp_with_auth.slack_url
        assert settings["TIDINGS_TEAMS_DIRECT_WEBHOOK_URL"] == smtp_with_auth.teams_url("direct")
        assert settings["TIDINGS_SMTP_PORT"] == str(smtp_with_auth.smtp_port)
        assert settings["TIDINGS_SMTP_SECURITY"] == "none"
        assert settings["TIDINGS_SMTP_CA_FILE"] == smtp_with_auth.smtp_ca_file
        assert settings["TIDINGS_SMTP_PASSWORD"] == SMTP_PASSWORD
        assert settings["TIDINGS_WEBHOOK_SIGNING_SECRET"] == smtp_with_auth.webhook_secret
        assert settings["TIDINGS_WEBHOOK_ALLOWED_NETWORKS"] == "127.0.0.0/8"


class TestCommand:
    def test_help_lists_every_option_with_its_default(self) -> None:
        result = CliRunner().invoke(app, ["emulators", "--help"], env={"COLUMNS": "200"})

        assert result.exit_code == 0
        for option, default in [
            ("--slack-port", "8801"),
            ("--teams-port", "8802"),
            ("--smtp-control-port", "8803"),
            ("--webhook-port", "8804"),
            ("--smtp-port", "8825"),
            ("--host", "127.0.0.1"),
        ]:
            line = next(line for line in result.output.splitlines() if f" {option} " in line)
            assert f"[default: {default}]" in line
        for option in ["--slack-token", "--smtp-username", "--webhook-secret", "--slack-workspace"]:
            assert option in result.output

    @staticmethod
    def start(*options: str) -> "subprocess.Popen[str]":
        """`tidings emulators` on free ports with `options`, its output piped."""
        ports = [
            f"--{name}-port"
            for name in ("slack", "teams", "smtp", "smtps", "smtp-control", "webhook")
        ]
        return subprocess.Popen(
            [sys.executable, "-m", "tidings", "emulators", *options]
            + [part for port in ports for part in (port, "0")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TIDINGS_DATABASE_URL": "sqlite://"},
        )

    @staticmethod
    def lines_until_serving(process: "subprocess.Popen[str]") -> list[str]:
        """What it prints, up to the line saying it serves."""
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Serving until Ctrl-C"):
                break
        return lines

    def test_serves_prints_what_to_export_and_stops_on_ctrl_c(self) -> None:
        process = self.start("--slack-token", "xoxb-cli")
        try:
            lines = self.lines_until_serving(process)
            exports = dict(
                line.removeprefix("export ").split("=", 1)
                for line in lines
                if line.startswith("export ")
            )
            client = AsyncWebClient(token="xoxb-cli", base_url=exports["TIDINGS_SLACK_API_URL"])
            answer = run(client.chat_postMessage(channel="#anything", text="via the CLI"))
        finally:
            process.send_signal(signal.SIGINT)
            _, errors = process.communicate(timeout=30)

        assert answer["ok"] is True
        assert exports["TIDINGS_SLACK_BOT_TOKEN"] == "xoxb-cli"
        assert exports["TIDINGS_WEBHOOK_SIGNING_SECRET"].startswith("whsec_")
        assert process.returncode == 0, errors

    @pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
    def test_a_signal_sent_the_moment_the_last_line_is_read_stops_it_cleanly(
        self, stop_signal: signal.Signals
    ) -> None:
        process = self.start()
        try:
            self.lines_until_serving(process)
        finally:
            process.send_signal(stop_signal)
            _, errors = process.communicate(timeout=30)

        assert process.returncode == 0, errors
        assert "Traceback" not in errors

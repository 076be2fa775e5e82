"""The webhook medium against the webhook emulator: the signed document a receiver gets, what
each answer means for the log, the excerpt kept of it, and the guard against private targets
(docs/delivery.md, "Webhooks")."""

import asyncio
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer

from tidings.channels.base import Attempt, OutgoingMessage
from tidings.channels.http import Network, is_public, parse_networks
from tidings.channels.webhook import WebhookChannel, webhook_body
from tidings.emulators import EmulatorSuite, FaultRule
from tidings.enums import AttemptOutcome, FailedReason, Medium, RecipientType
from tidings.kit.clock import system_clock
from tidings.kit.standard_webhooks import SignatureError, generate_secret, verify

LOOPBACK = parse_networks("127.0.0.0/8")
DOCUMENT: dict[str, Any] = {
    "type": "BROKEN_OPEN_API_SPEC",
    "subject": "Broken OpenAPI spec: payments-api",
    "text": "The OpenAPI spec of payments-api no longer parses.",
    "link": "https://portal.example.com/catalog/payments-api",
    "objects": [{"type": "ENTITY", "id": 7, "name": "Payments API", "tag": "payments-api"}],
    "data": {"spec": "openapi.yaml"},
}
DELIVERED, RETRY, RATE_LIMITED, FAILED = (
    AttemptOutcome.DELIVERED,
    AttemptOutcome.RETRY,
    AttemptOutcome.RATE_LIMITED,
    AttemptOutcome.FAILED,
)


@pytest.fixture(scope="module")
def suite() -> Iterator[EmulatorSuite]:
    """One set of webhook receivers for the module, checking signatures with its secret."""
    with EmulatorSuite() as started:
        yield started


@pytest.fixture(autouse=True)
def fresh(suite: EmulatorSuite) -> None:
    """Each test starts with nothing received and no faults planned."""
    suite.reset()


def to_webhook(address: str | None, *, log_id: int = 42) -> OutgoingMessage:
    return OutgoingMessage(
        log_id=log_id,
        run_id=56,
        medium=Medium.WEBHOOK,
        recipient_type=RecipientType.ENTITY,
        user_id=None,
        email=None,
        channel="payments-events",
        slack_user_id=None,
        teams_user_id=None,
        subject=DOCUMENT["subject"],
        text=DOCUMENT["text"],
        body=orjson.dumps(DOCUMENT).decode(),
        address=address,
    )


def deliver(
    secret: str,
    messages: Sequence[OutgoingMessage],
    *,
    allowed: tuple[Network, ...] = LOOPBACK,
    timeout_s: float = 10,
) -> list[Attempt]:
    """Send one batch through a webhook medium that may reach the emulator on 127.0.0.1."""
    channel = WebhookChannel(system_clock, secret, allowed=allowed, timeout_s=timeout_s)

    async def send() -> list[Attempt]:
        try:
            return await channel.send_batch(messages)
        finally:
            await channel.close()

    return asyncio.run(send())


def received_by(suite: EmulatorSuite, hook: str) -> list[dict[str, Any]]:
    """What one receiver got (each test posts to its own, so a late delivery cannot mix in)."""
    return [item for item in suite.webhook.received.items() if item["hook"] == hook]


class TestTheDelivery:
    def test_receiver_gets_the_document_with_the_log_and_run_ids(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("document"))])

        assert (attempt.outcome, attempt.status_code) == (DELIVERED, 200)
        [got] = received_by(suite, "document")
        assert got["body"] == {"logId": 42, "runId": 56, **DOCUMENT}

    def test_signature_holds_under_the_signing_secret(self, suite: EmulatorSuite) -> None:
        deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("signed"))])

        [got] = received_by(suite, "signed")
        assert (got["signature_valid"], got["error"]) == (True, None)

    def test_webhook_id_is_the_log_id_and_the_timestamp_is_when_it_was_signed(
        self, suite: EmulatorSuite
    ) -> None:
        before = int(time.time())
        deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("stamped"))])
        after = int(time.time())

        [got] = received_by(suite, "stamped")
        assert got["webhook_id"] == "42"
        assert before <= int(got["webhook_timestamp"]) <= after

    def test_the_same_log_sent_twice_carries_the_same_webhook_id(
        self, suite: EmulatorSuite
    ) -> None:
        again = to_webhook(suite.webhook_url("twice"))

        deliver(suite.webhook_secret, [again])
        deliver(suite.webhook_secret, [again])

        assert [got["webhook_id"] for got in received_by(suite, "twice")] == ["42", "42"]

    def test_each_log_carries_its_own_webhook_id(self, suite: EmulatorSuite) -> None:
        url = suite.webhook_url("batch")
        messages = [to_webhook(url, log_id=log_id) for log_id in (1, 2, 3)]

        deliver(suite.webhook_secret, messages)

        assert sorted(got["webhook_id"] for got in received_by(suite, "batch")) == ["1", "2", "3"]

    def test_logs_of_one_document_each_carry_their_own_ids(self, suite: EmulatorSuite) -> None:
        url = suite.webhook_url("shared")
        messages = [to_webhook(url, log_id=log_id) for log_id in (1, 2, 3)]

        deliver(suite.webhook_secret, messages)

        got = sorted(received_by(suite, "shared"), key=lambda item: item["body"]["logId"])
        assert [item["body"] for item in got] == [
            {"logId": log_id, "runId": 56, **DOCUMENT} for log_id in (1, 2, 3)
        ]
        assert all(item["signature_valid"] for item in got)

    @pytest.mark.parametrize(
        ("document", "sent"),
        [
            pytest.param("{}", {"logId": 42, "runId": 56}, id="empty"),
            pytest.param("", {"logId": 42, "runId": 56}, id="none-stored"),
            pytest.param(
                '{"text":"Caf\\u00e9 \\u2713"}',
                {"logId": 42, "runId": 56, "text": "Café ✓"},
                id="escaped-unicode",
            ),
            pytest.param(
                '{"logId":7,"type":"X","runId":8}',
                {"logId": 42, "runId": 56, "type": "X"},
                id="ids-in-the-document",
            ),
        ],
    )
    def test_the_body_is_the_document_after_the_log_and_run_ids(
        self, document: str, sent: dict[str, Any]
    ) -> None:
        message = replace(to_webhook(None), body=document)

        body = webhook_body(message)

        assert orjson.loads(body) == sent
        assert body.startswith(b'{"logId":42,"runId":56')

    def test_another_secret_is_refused_by_the_receiver_for_good(self, suite: EmulatorSuite) -> None:
        [attempt] = deliver(generate_secret(), [to_webhook(suite.webhook_url("strict"))])

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert attempt.status_code == 401
        [got] = received_by(suite, "strict")
        assert got["signature_valid"] is False

    def test_webhook_no_longer_in_the_catalog_fails_with_channel_not_found(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(suite.webhook_secret, [to_webhook(None)])

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CHANNEL_NOT_FOUND)
        assert attempt.error_message == "the webhook payments-events is no longer in the catalog"


async def capture(secret: str, message: OutgoingMessage) -> tuple[dict[str, str], bytes]:
    """Deliver one message to a receiver on 127.0.0.1 that keeps its headers and body."""
    requests: list[tuple[dict[str, str], bytes]] = []

    async def keep(request: web.BaseRequest) -> web.Response:
        requests.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        return web.Response(status=204)

    receiver = RawTestServer(keep, host="127.0.0.1")
    await receiver.start_server()
    channel = WebhookChannel(system_clock, secret, allowed=LOOPBACK)
    try:
        address = str(receiver.make_url("/hooks/mine"))
        [attempt] = await channel.send_batch([replace(message, address=address)])
    finally:
        await channel.close()
        await receiver.close()
    assert (attempt.outcome, attempt.status_code) == (DELIVERED, 204)
    [kept] = requests
    return kept


class TestTheSignature:
    """Checked by hand on what a receiver of our own captured, exactly as it came."""

    def test_signature_verifies_over_the_exact_body_sent(self) -> None:
        secret = generate_secret()
        message = to_webhook(None)

        headers, body = asyncio.run(capture(secret, message))

        assert body == webhook_body(message)
        assert headers["webhook-id"] == "42"
        assert headers["webhook-signature"].startswith("v1,")
        verify(secret, headers, body, now=int(headers["webhook-timestamp"]))
        with pytest.raises(SignatureError):
            verify(generate_secret(), headers, body, now=int(headers["webhook-timestamp"]))


class TestReceiverAnswers:
    @pytest.mark.parametrize(
        ("fault", "outcome", "reason"),
        [
            pytest.param(FaultRule.status(500), RETRY, None, id="500"),
            pytest.param(FaultRule.status(502), RETRY, None, id="502"),
            pytest.param(FaultRule.status(503), RETRY, None, id="503"),
            pytest.param(FaultRule.status(504), RETRY, None, id="504"),
            pytest.param(FaultRule.status(408), RETRY, None, id="408"),
            pytest.param(FaultRule.status(425), RETRY, None, id="425"),
            pytest.param(FaultRule.status(522), RETRY, None, id="522-proxy-timed-out"),
            pytest.param(FaultRule.ratelimited(17), RATE_LIMITED, None, id="429"),
            pytest.param(FaultRule.status(400), FAILED, FailedReason.CLIENT_ERROR, id="400"),
            pytest.param(FaultRule.status(403), FAILED, FailedReason.CLIENT_ERROR, id="403"),
            pytest.param(FaultRule.status(404), FAILED, FailedReason.CLIENT_ERROR, id="404"),
            pytest.param(FaultRule.status(410), FAILED, FailedReason.CLIENT_ERROR, id="410"),
            pytest.param(FaultRule.status(413), FAILED, FailedReason.CLIENT_ERROR, id="413"),
            pytest.param(FaultRule.status(201), DELIVERED, None, id="201"),
            pytest.param(FaultRule.status(204), DELIVERED, None, id="204"),
        ],
    )
    def test_the_receivers_answer_decides_the_outcome(
        self,
        suite: EmulatorSuite,
        fault: FaultRule,
        outcome: AttemptOutcome,
        reason: FailedReason | None,
    ) -> None:
        suite.webhook.faults.add(fault)

        [attempt] = deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("answers"))])

        assert (attempt.outcome, attempt.failed_reason) == (outcome, reason)

    def test_429_waits_as_long_as_retry_after_says(self, suite: EmulatorSuite) -> None:
        suite.webhook.faults.add(FaultRule.ratelimited(17, match="limited"))

        [attempt] = deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("limited"))])

        assert (attempt.outcome, attempt.status_code, attempt.retry_after) == (
            RATE_LIMITED,
            429,
            17,
        )

    def test_a_refusal_says_what_the_receiver_answered(self, suite: EmulatorSuite) -> None:
        suite.webhook.faults.add(FaultRule.status(503, "upstream down", match="down"))

        [attempt] = deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("down"))])

        assert attempt.error_message == "the receiver answered HTTP 503 Service Unavailable"
        assert (attempt.status_code, attempt.response_excerpt) == (503, "upstream down")

    def test_receiver_slower_than_the_timeout_is_worth_a_retry(self, suite: EmulatorSuite) -> None:
        suite.webhook.faults.add(FaultRule.delay(1.0, match="slow"))

        [attempt] = deliver(
            suite.webhook_secret, [to_webhook(suite.webhook_url("slow"))], timeout_s=0.3
        )

        assert attempt.outcome is RETRY
        assert attempt.error_message == "the receiver did not answer in time"

    def test_dropped_connection_is_worth_a_retry(self, suite: EmulatorSuite) -> None:
        suite.webhook.faults.add(FaultRule.drop(match="hangs-up"))

        [attempt] = deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("hangs-up"))])

        assert attempt.outcome is RETRY
        assert (attempt.error_message or "").startswith("the connection to the receiver failed")

    @pytest.mark.parametrize(
        ("answer", "excerpt"),
        [
            pytest.param('{"token": "abcd1234secret"}', '{"token": "***"}', id="token"),
            pytest.param(
                f'{{"received": "{secrets.token_urlsafe(30)}"}}',
                '{"received": "***"}',
                id="40-char-random-string",
            ),
            pytest.param('{"ok": true}', '{"ok": true}', id="nothing-secret"),
        ],
    )
    def test_the_answer_is_kept_with_secrets_masked(
        self, suite: EmulatorSuite, answer: str, excerpt: str
    ) -> None:
        suite.webhook.faults.add(FaultRule.status(200, answer, match="talkative"))

        [attempt] = deliver(suite.webhook_secret, [to_webhook(suite.webhook_url("talkative"))])

        assert attempt.outcome is DELIVERED
        assert attempt.response_excerpt == excerpt


class TestPrivateTargets:
    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    def test_loopback_receiver_is_refused_without_the_allow_list(
        self, suite: EmulatorSuite, host: str
    ) -> None:
        address = suite.webhook_url("private").replace("127.0.0.1", host)

        [attempt] = deliver(suite.webhook_secret, [to_webhook(address)], allowed=())

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert "TIDINGS_WEBHOOK_ALLOWED_NETWORKS" in (attempt.error_message or "")
        assert received_by(suite, "private") == []

    def test_loopback_receiver_is_reached_when_the_allow_list_names_it(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(
            suite.webhook_secret,
            [to_webhook(suite.webhook_url("allowed"))],
            allowed=parse_networks("10.0.0.0/8, 127.0.0.0/8"),
        )

        assert attempt.outcome is DELIVERED
        assert len(received_by(suite, "allowed")) == 1

    @pytest.mark.parametrize(
        ("address", "public"),
        [
            pytest.param("10.0.0.1", False, id="private-10"),
            pytest.param("172.16.0.1", False, id="private-172.16"),
            pytest.param("192.168.1.1", False, id="private-192.168"),
            pytest.param("127.0.0.1", False, id="loopback"),
            pytest.param("169.254.169.254", False, id="link-local-metadata"),
            pytest.param("0.0.0.0", False, id="unspecified"),
            pytest.param("224.0.0.1", False, id="multicast"),
            pytest.param("240.0.0.1", False, id="reserved"),
            pytest.param("::1", False, id="ipv6-loopback"),
            pytest.param("fe80::1", False, id="ipv6-link-local"),
            pytest.param("fe80::1%eth0", False, id="ipv6-link-local-with-zone"),
            pytest.param("fd00::1", False, id="ipv6-unique-local"),
            pytest.param("::ffff:127.0.0.1", False, id="ipv4-mapped-loopback"),
            pytest.param("93.184.216.34", True, id="public-ipv4"),
            pytest.param("2606:4700::1111", True, id="public-ipv6"),
        ],
    )
    def test_only_public_addresses_may_be_reached(self, address: str, public: bool) -> None:
        assert is_public(address, ()) is public

    @pytest.mark.parametrize(
        ("address", "allowed"),
        [
            pytest.param("10.0.0.1", "10.0.0.0/8", id="private-10"),
            pytest.param("192.168.1.1", "192.168.1.0/24", id="private-192.168"),
            pytest.param("127.0.0.1", "127.0.0.0/8", id="loopback"),
            pytest.param("::1", "::1/128", id="ipv6-loopback"),
            pytest.param("169.254.169.254", "169.254.169.254/32", id="one-address"),
        ],
    )
    def test_private_address_the_allow_list_names_may_be_reached(
        self, address: str, allowed: str
    ) -> None:
        assert is_public(address, parse_networks(allowed)) is True

    def test_the_allow_list_opens_only_what_it_names(self) -> None:
        allowed = parse_networks("127.0.0.0/8")

        assert is_public("169.254.169.254", allowed) is False
        assert is_public("10.0.0.1", allowed) is False

    def test_allow_list_is_comma_separated_cidrs(self) -> None:
        networks = parse_networks(" 127.0.0.0/8, ::1/128 ,, 10.1.2.3/8")

        assert [str(network) for network in networks] == ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]

    def test_allow_list_entry_that_is_not_a_network_is_named(self) -> None:
        with pytest.raises(ValueError, match=re.escape("'localhost' is not a network such as")):
            parse_networks("127.0.0.0/8, localhost")

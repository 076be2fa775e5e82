"""The email medium against the SMTP emulator: what each email holds, its stable Message-ID,
AUTH, TLS (STARTTLS and implicit) with the server's certificate verified, and what each SMTP
reply means for the log (4xx transient, 5xx permanent)."""

import asyncio
import re
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine

from tidings.channels.base import Attempt, Channel, OutgoingMessage
from tidings.channels.email import EmailChannel, build_email, message_id
from tidings.channels.registry import build_channels
from tidings.emulators import EmulatorSuite, FaultRule
from tidings.enums import AttemptOutcome, FailedReason, Medium, RecipientType
from tidings.kit.clock import system_clock
from tidings.settings import Settings

SMTP_USERNAME, SMTP_PASSWORD = "tidings", "s3cret pass"
SENDER = "tidings <noreply@mail.example.com>"
ADA = "ada@example.com"
SUBJECT = "Broken OpenAPI spec: payments-api"
TEXT = "The OpenAPI spec of payments-api no longer parses.\nOpen it to see where."
HTML = "<h1>Broken OpenAPI spec: payments-api</h1><p>The OpenAPI spec no longer parses.</p>"
REPLY_TO = ["platform@example.com", "oncall@example.com"]
DELIVERED, RETRY, FAILED = AttemptOutcome.DELIVERED, AttemptOutcome.RETRY, AttemptOutcome.FAILED


@pytest.fixture(scope="module")
def suite() -> Iterator[EmulatorSuite]:
    """One mail server for the module; it asks for AUTH."""
    with EmulatorSuite(smtp_username=SMTP_USERNAME, smtp_password=SMTP_PASSWORD) as started:
        yield started


@pytest.fixture(scope="module")
def suite_without_auth() -> Iterator[EmulatorSuite]:
    """A second mail server, which takes mail without AUTH."""
    with EmulatorSuite() as started:
        yield started


@pytest.fixture(autouse=True)
def fresh(suite: EmulatorSuite, suite_without_auth: EmulatorSuite) -> None:
    """Each test starts with nothing received and no faults planned."""
    suite.reset()
    suite_without_auth.reset()


def email_to(
    address: str | None = ADA,
    *,
    log_id: int = 42,
    subject: str = SUBJECT,
    layout: dict[str, Any] | None = None,
) -> OutgoingMessage:
    return OutgoingMessage(
        log_id=log_id,
        run_id=7,
        medium=Medium.EMAIL,
        recipient_type=RecipientType.USER,
        user_id=11,
        email=address,
        channel=None,
        slack_user_id=None,
        teams_user_id=None,
        subject=subject,
        text=TEXT,
        body=orjson.dumps(
            {"html": HTML, "replyTo": REPLY_TO} if layout is None else layout
        ).decode(),
    )


def deliver(
    suite: EmulatorSuite,
    *messages: OutgoingMessage,
    port: int | None = None,
    security: str = "none",
    ca_file: str | None = None,
    username: str | None = SMTP_USERNAME,
    password: str | None = SMTP_PASSWORD,
) -> list[Attempt]:
    """Send one batch, over plain SMTP and logged in unless told otherwise."""
    channel = EmailChannel(
        system_clock,
        suite.smtp_host,
        port or suite.smtp_port,
        sender=SENDER,
        security=security,
        ca_file=ca_file,
        username=username,
        password=password,
        timeout_s=10,
    )
    return send_batch(channel, messages)


def send_batch(channel: Channel, messages: Sequence[OutgoingMessage]) -> list[Attempt]:
    """Send one batch through a channel, then close it."""

    async def send() -> list[Attempt]:
        try:
            return await channel.send_batch(messages)
        finally:
            await channel.close()

    return asyncio.run(send())


def port_for(suite: EmulatorSuite, security: str) -> int:
    """The emulator's implicit TLS port for `tls`, its SMTP port (STARTTLS offered) otherwise."""
    return suite.smtp_tls_port if security == "tls" else suite.smtp_port


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class TestTheEmail:
    def test_email_has_subject_sender_recipient_and_both_parts(self, suite: EmulatorSuite) -> None:
        [attempt] = deliver(suite, email_to(ADA))

        assert attempt.outcome is DELIVERED
        [mail] = suite.smtp.received.items()
        assert mail["subject"] == SUBJECT
        assert (mail["from"], mail["mail_from"]) == (SENDER, "noreply@mail.example.com")
        assert (mail["to"], mail["rcpt_tos"]) == (ADA, [ADA])
        assert mail["text"] == TEXT + "\n"
        assert mail["html"] == HTML + "\n"

    def test_reply_to_lists_the_initiatives_reply_to_emails(self, suite: EmulatorSuite) -> None:
        deliver(suite, email_to(ADA))

        assert suite.smtp.received.items()[0]["reply_to"] == ", ".join(REPLY_TO)

    def test_without_reply_to_emails_there_is_no_reply_to(self, suite: EmulatorSuite) -> None:
        deliver(suite, email_to(ADA, layout={"html": HTML, "replyTo": []}))

        assert suite.smtp.received.items()[0]["reply_to"] is None

    def test_without_html_the_email_is_text_only(self, suite: EmulatorSuite) -> None:
        deliver(suite, email_to(ADA, layout={}))

        [mail] = suite.smtp.received.items()
        assert (mail["text"], mail["html"]) == (TEXT + "\n", None)

    def test_message_id_is_the_log_at_the_senders_domain_the_same_on_every_send(
        self, suite: EmulatorSuite
    ) -> None:
        deliver(suite, email_to(ADA, log_id=42))
        deliver(suite, email_to(ADA, log_id=42))

        ids = [mail["message_id"] for mail in suite.smtp.received.items()]
        assert ids == ["<tidings.log.42@mail.example.com>"] * 2

    def test_queue_id_of_the_250_reply_is_the_provider_request_id(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(suite, email_to(ADA))

        [mail] = suite.smtp.received.items()
        assert (attempt.status_code, attempt.provider_request_id) == (250, mail["queue_id"])
        assert attempt.response_excerpt == f"2.0.0 Ok: queued as {mail['queue_id']}"

    def test_subject_with_a_line_break_is_sent_on_one_line(self, suite: EmulatorSuite) -> None:
        [attempt] = deliver(suite, email_to(ADA, subject="payments-api scored 5\nof 10"))

        assert attempt.outcome is DELIVERED
        assert suite.smtp.received.items()[0]["subject"] == "payments-api scored 5 of 10"

    def test_recipient_without_an_email_address_fails_with_client_error(
        self, suite: EmulatorSuite
    ) -> None:
        [attempt] = deliver(suite, email_to(None))

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert attempt.error_message == "the recipient has no email address"

    @pytest.mark.parametrize(
        ("sender", "expected"),
        [
            pytest.param(SENDER, "<tidings.log.42@mail.example.com>", id="name-and-address"),
            pytest.param("noreply@example.org", "<tidings.log.42@example.org>", id="bare-address"),
            pytest.param("tidings", "<tidings.log.42@tidings.invalid>", id="no-domain"),
        ],
    )
    def test_message_id_domain_is_the_senders(self, sender: str, expected: str) -> None:
        assert message_id(42, sender) == expected
        assert build_email(email_to(ADA), sender)["Message-ID"] == expected


class TestServerReplies:
    @pytest.mark.parametrize(
        ("code", "outcome", "reason"),
        [
            pytest.param(421, RETRY, None, id="421-closing"),
            pytest.param(450, RETRY, None, id="450-mailbox-busy"),
            pytest.param(451, RETRY, None, id="451-try-later"),
            pytest.param(452, RETRY, None, id="452-no-storage"),
            pytest.param(550, FAILED, FailedReason.CLIENT_ERROR, id="550-no-such-user"),
            pytest.param(552, FAILED, FailedReason.CLIENT_ERROR, id="552-over-quota"),
            pytest.param(553, FAILED, FailedReason.CLIENT_ERROR, id="553-bad-address"),
            pytest.param(554, FAILED, FailedReason.CLIENT_ERROR, id="554-refused"),
        ],
    )
    def test_reply_at_rcpt_decides_the_outcome(
        self,
        suite: EmulatorSuite,
        code: int,
        outcome: AttemptOutcome,
        reason: FailedReason | None,
    ) -> None:
        suite.smtp.faults.add(FaultRule.status(code, f"{code // 100}.0.0 as planned", match=ADA))

        [attempt] = deliver(suite, email_to(ADA))

        assert (attempt.outcome, attempt.failed_reason) == (outcome, reason)
        assert attempt.status_code == code
        assert (
            attempt.error_message == f"the mail server answered {code} {code // 100}.0.0 as planned"
        )
        assert suite.smtp.received.items() == []

    def test_a_refusal_of_one_recipient_leaves_the_next_email_alone(
        self, suite: EmulatorSuite
    ) -> None:
        suite.smtp.faults.add(FaultRule.status(550, "5.1.1 No such user", match="gone@example.com"))

        attempts = deliver(suite, email_to("gone@example.com", log_id=1), email_to(ADA, log_id=2))

        assert [attempt.outcome for attempt in attempts] == [FAILED, DELIVERED]
        assert [mail["rcpt_tos"] for mail in suite.smtp.received.items()] == [[ADA]]

    def test_dropped_connection_is_worth_a_retry(self, suite: EmulatorSuite) -> None:
        suite.smtp.faults.add(FaultRule.drop(match=ADA))

        [attempt] = deliver(suite, email_to(ADA))

        assert attempt.outcome is RETRY
        assert (attempt.error_message or "").startswith("could not talk to the mail server")

    def test_server_that_is_not_listening_is_worth_a_retry(self, suite: EmulatorSuite) -> None:
        [attempt] = deliver(suite, email_to(ADA), port=free_port())

        assert attempt.outcome is RETRY
        assert (attempt.error_message or "").startswith("could not talk to the mail server")


class TestAuthentication:
    def test_login_with_the_servers_credentials_delivers(self, suite: EmulatorSuite) -> None:
        [attempt] = deliver(suite, email_to(ADA))

        assert attempt.outcome is DELIVERED
        assert suite.smtp.received.items()[0]["auth_user"] == SMTP_USERNAME

    @pytest.mark.parametrize(
        ("username", "password", "code"),
        [
            pytest.param(SMTP_USERNAME, "not the password", 535, id="wrong-password"),
            pytest.param("someone-else", SMTP_PASSWORD, 535, id="wrong-username"),
            pytest.param(None, None, 530, id="no-login"),
        ],
    )
    def test_a_refused_login_fails_for_good(
        self, suite: EmulatorSuite, username: str | None, password: str | None, code: int
    ) -> None:
        [attempt] = deliver(suite, email_to(ADA), username=username, password=password)

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        assert attempt.status_code == code
        assert suite.smtp.received.items() == []


class TestTls:
    @pytest.mark.parametrize("login", [True, False], ids=["auth", "no-auth"])
    @pytest.mark.parametrize(
        ("security", "encrypted"),
        [
            pytest.param("starttls", True, id="starttls"),
            pytest.param("tls", True, id="implicit-tls"),
            pytest.param("none", False, id="plain"),
        ],
    )
    def test_delivered_with_the_servers_ca_file_encrypted_unless_plain(
        self,
        suite: EmulatorSuite,
        suite_without_auth: EmulatorSuite,
        security: str,
        encrypted: bool,
        login: bool,
    ) -> None:
        server = suite if login else suite_without_auth
        username, password = (SMTP_USERNAME, SMTP_PASSWORD) if login else (None, None)

        [attempt] = deliver(
            server,
            email_to(ADA),
            port=port_for(server, security),
            security=security,
            ca_file=server.smtp_ca_file,
            username=username,
            password=password,
        )

        assert attempt.outcome is DELIVERED
        [mail] = server.smtp.received.items()
        assert (mail["tls"], mail["auth_user"], mail["rcpt_tos"]) == (encrypted, username, [ADA])

    @pytest.mark.parametrize("security", ["starttls", "tls"])
    def test_a_certificate_the_system_does_not_trust_fails_naming_the_ca_file_setting(
        self, suite: EmulatorSuite, security: str
    ) -> None:
        [attempt] = deliver(suite, email_to(ADA), port=port_for(suite, security), security=security)

        assert (attempt.outcome, attempt.failed_reason) == (FAILED, FailedReason.CLIENT_ERROR)
        message = attempt.error_message or ""
        assert message.startswith("the mail server's certificate is not trusted: self")
        assert message.endswith("; set TIDINGS_SMTP_CA_FILE")
        assert suite.smtp.received.items() == []

    @pytest.mark.parametrize(
        "content", [pytest.param(None, id="missing"), pytest.param("not a PEM", id="not-pem")]
    )
    def test_a_ca_file_that_cannot_be_loaded_is_refused_naming_it(
        self, tmp_path: Path, content: str | None
    ) -> None:
        ca_file = tmp_path / "ca.pem"
        if content is not None:
            ca_file.write_text(content)

        with pytest.raises(
            ValueError, match=f"TIDINGS_SMTP_CA_FILE: .* from {re.escape(str(ca_file))}: "
        ):
            EmailChannel(system_clock, "127.0.0.1", 25, sender=SENDER, ca_file=str(ca_file))

    def test_the_emulators_settings_with_starttls_deliver_over_tls(
        self, suite: EmulatorSuite
    ) -> None:
        settings: dict[str, Any] = suite.settings_fields()
        settings["smtp_security"] = "starttls"
        channels = build_channels(
            Settings(_env_file=None, **settings), create_engine("sqlite://"), system_clock
        )

        [attempt] = send_batch(channels[Medium.EMAIL], [email_to(ADA)])

        assert attempt.outcome is DELIVERED
        assert suite.smtp.received.items()[0]["tls"] is True

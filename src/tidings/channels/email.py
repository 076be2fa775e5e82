"""Email over SMTP (aiosmtplib): a text and an HTML part, a Message-ID per log.

The Message-ID comes from the log id, so a message sent again after a timeout or a crash
carries the same id and mail systems can drop the copy. A 4xx reply is transient, a 5xx
one permanent; the queue id of the server's reply is kept as the provider's request id.
Over TLS the server's certificate is verified, against the system's CAs or a given CA file;
a certificate that is not trusted fails the message, as trying again would not change it.
"""

import re
import ssl
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

import orjson
from aiosmtplib import (
    SMTPConnectError,
    SMTPException,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
    send,
)

from tidings.channels.base import Attempt, NetworkChannel, OutgoingMessage
from tidings.enums import FailedReason, Medium
from tidings.kit.clock import Clock

_QUEUE_ID = re.compile(r"queued as\s+<?([\w.\-@]+)>?", re.IGNORECASE)


def message_id(log_id: int, sender: str) -> str:
    """The Message-ID of a log's email: the same every time it is sent."""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    return f"<tidings.log.{log_id}@{domain if at and domain else 'tidings.invalid'}>"


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The email for a message: subject, text and HTML parts, Reply-To, stable Message-ID."""
    layout = orjson.loads(message.body or "{}")
    email = EmailMessage()
    email["From"] = sender
    email["To"] = formataddr(("", message.email or ""))
    # A header cannot hold a line break (event data can put one in a subject): fold it.
    email["Subject"] = " ".join(message.subject.splitlines())
    email["Message-ID"] = message_id(message.log_id, sender)
    reply_to = [address for address in layout.get("replyTo", []) if address]
    if reply_to:
        email["Reply-To"] = ", ".join(reply_to)
    email.set_content(message.text)
    if layout.get("html"):
        email.add_alternative(layout["html"], subtype="html")
    return email


def _reply_attempt(code: int, words: str) -> Attempt:
    said = f"the mail server answered {code} {words}".strip()
    if 400 <= code < 500:
        return Attempt.retry(said, code, answer=words)
    return Attempt.failed(FailedReason.CLIENT_ERROR, said, code, answer=words)


class EmailChannel(NetworkChannel):
    """Sends each message in its own SMTP transaction."""

    medium = Medium.EMAIL
    concurrency = 8

    def __init__(
        self,
        clock: Clock,
        host: str,
        port: int,
        *,
        sender: str,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
        concurrency: int | None = None,
        ca_file: str | None = None,
    ) -> None:
        super().__init__(clock, concurrency=concurrency)
        self._host, self._port, self._sender = host, port, sender
        self._security = security
        self._username, self._password = username, password
        self._timeout_s = timeout_s
        # One context for every connection (aiosmtplib would build one per connection).
        try:
            self._tls_context = ssl.create_default_context(cafile=ca_file)
        except OSError as error:  # ssl's errors name neither the file nor the setting
            raise ValueError(
                f"TIDINGS_SMTP_CA_FILE: cannot load CA certificates from {ca_file}: {error}"
            ) from error

    def pacing_key(self, message: OutgoingMessage) -> str:
        """One mail server for all: not paced per recipient."""
        return self._host

    async def send_one(self, message: OutgoingMessage) -> Attempt:
        """One SMTP transaction."""
        if not message.email:
            return Attempt.failed(FailedReason.CLIENT_ERROR, "the recipient has no email address")
        try:
            reply = await self._send(build_email(message, self._sender))
        except SMTPRecipientsRefused as error:
            [refusal, *_] = error.recipients
            return _reply_attempt(refusal.code, refusal.message)
        except ssl.SSLCertVerificationError as error:
            return Attempt.failed(
                FailedReason.CLIENT_ERROR,
                f"the mail server's certificate is not trusted: {error.verify_message}; "
                "set TIDINGS_SMTP_CA_FILE",
            )
        except (SMTPConnectError, SMTPServerDisconnected, SMTPTimeoutError, TimeoutError) as error:
            return Attempt.retry(f"could not talk to the mail server: {error}")
        except SMTPResponseException as error:
            return _reply_attempt(error.code, error.message)
        except (SMTPException, OSError) as error:
            return Attempt.retry(f"the mail server failed: {type(error).__name__}: {error}")
        found = _QUEUE_ID.search(reply)
        return Attempt.delivered(250, found.group(1) if found else None, reply)

    async def _send(self, email: EmailMessage) -> str:
        try:
            _refused, reply = await send(
                email,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                timeout=self._timeout_s,
                tls_context=self._tls_context,
            )
        except SMTPConnectError as error:
            # aiosmtplib wraps a failed implicit TLS handshake; STARTTLS's comes as it is.
            if isinstance(error.__cause__, ssl.SSLCertVerificationError):
                raise error.__cause__ from None
            raise
        return reply

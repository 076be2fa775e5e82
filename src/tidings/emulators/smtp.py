"""An SMTP server emulator (aiosmtpd) that records each accepted message, parsed.

With a username and password it offers AUTH PLAIN and LOGIN over the plain connection and
refuses mail until the client has logged in. STARTTLS is not offered: it would need a
certificate generated at start, and the `cryptography` package is not among tidings'
dependencies. Faults apply at RCPT, by recipient address. The control endpoints and the
inbox are served by `app`, a small HTTP app beside the SMTP port.
"""

import asyncio
import email
import email.policy
import hmac
import logging
import secrets
import socket
from email.message import EmailMessage, Message
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette

from tidings.emulators.control import control_routes
from tidings.emulators.faults import SMTP_FAULTS, SMTP_REPLY_CODES, FaultKind, FaultPlan
from tidings.emulators.received import Item, Received
from tidings.kit.clock import Clock, system_clock

HOSTNAME = "smtp.emulated.invalid"
# Queue ids in Postfix's style: letters and digits, no vowels.
QUEUE_ID_ALPHABET = "0123456789BCDFGHJKLMNPQRSTVWXYZ"
QUEUE_ID_LENGTH = 10
DEFAULT_REPLY_TEXT = {
    4: "4.3.0 Emulated temporary failure, try again later",
    5: "5.1.1 Emulated permanent failure: mailbox unavailable",
}


class _QuietLoginDataWarning(logging.Filter):
    """aiosmtpd warns on every successful AUTH that it set a deprecated attribute of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that warning."""
        return "login_data is deprecated" not in record.getMessage()


_QUIET = _QuietLoginDataWarning()


class SmtpEmulator:
    """An SMTP server that accepts mail for every recipient unless a fault says otherwise."""

    title = "SMTP"

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        clock: Clock = system_clock,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both a username and a password, or neither")
        self.username = username
        self.password = password
        self.received = Received(clock=clock)
        self.faults = FaultPlan(
            supported=SMTP_FAULTS, statuses=SMTP_REPLY_CODES, protocol="the SMTP emulator"
        )
        self.app = Starlette(routes=control_routes(self))
        self._hooks = _Hooks(self)

    def headline(self, item: Item) -> str:
        """Who to, and the subject."""
        return f"{', '.join(item['rcpt_tos'])}: {item['subject'] or '(no subject)'}"

    async def serve(self, sock: socket.socket) -> asyncio.Server:
        """Start accepting SMTP connections on a bound socket, in the running event loop."""
        mail_log = logging.getLogger("mail.log")
        mail_log.addFilter(_QUIET)
        # aiosmtpd logs every command of every session at INFO: noise beside a demo's output.
        mail_log.setLevel(max(mail_log.level, logging.WARNING))
        return await asyncio.get_running_loop().create_server(self._connection, sock=sock)

    def _connection(self) -> SMTP:
        auth = self.username is not None
        return SMTP(
            self._hooks,
            hostname=HOSTNAME,
            ident="tidings SMTP emulator",
            enable_SMTPUTF8=True,
            authenticator=self._authenticate if auth else None,
            # Without TLS, aiosmtpd offers AUTH only when told that plain text is fine: it is,
            # on 127.0.0.1 in a test. Without credentials AUTH stays unoffered.
            auth_require_tls=not auth,
            loop=asyncio.get_running_loop(),
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword) or self.username is None or self.password is None:
            return AuthResult(success=False, handled=False)
        valid = hmac.compare_digest(data.login, self.username.encode()) & hmac.compare_digest(
            data.password, self.password.encode()
        )
        return AuthResult(success=valid, handled=False, auth_data=data.login.decode())

    def accept(self, envelope: Envelope, session: Session) -> str:
        """Record a message the client finished sending; the reply that says it is queued."""
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        queue_id = "".join(secrets.choice(QUEUE_ID_ALPHABET) for _ in range(QUEUE_ID_LENGTH))
        self.received.record(
            {
                "queue_id": queue_id,
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "auth_user": session.auth_data if session.authenticated else None,
                "from": _header(message, "From"),
                "to": _header(message, "To"),
                "reply_to": _header(message, "Reply-To"),
                "subject": _header(message, "Subject"),
                "message_id": _header(message, "Message-ID"),
                "text": _part(message, "plain"),
                "html": _part(message, "html"),
                "size": len(content),
            }
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"


class _Hooks:
    """The handler aiosmtpd calls at each command (it looks the `handle_*` methods up)."""

    def __init__(self, emulator: SmtpEmulator) -> None:
        self.emulator = emulator

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Refuse mail before AUTH when credentials are set; accept the sender otherwise."""
        if self.emulator.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Apply the recipient's fault, if any; accept the recipient otherwise."""
        fault = self.emulator.faults.take(address)
        if fault is not None and fault.kind is FaultKind.DROP:
            if server.transport is not None:
                server.transport.close()
            # Closing makes aiosmtpd cancel this session: wait here for that, answering nothing.
            await asyncio.get_running_loop().create_future()
        elif fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.delay or 0)
        elif fault is not None:
            status = fault.status or 451
            return f"{status} {fault.body or DEFAULT_REPLY_TEXT[status // 100]}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Record the message."""
        return self.emulator.accept(envelope, session)


def _header(message: Message, name: str) -> str | None:
    value = message.get(name)
    return None if value is None else str(value)


def _part(message: Message, subtype: str) -> str | None:
    if not isinstance(message, EmailMessage):
        return None
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    content = part.get_content()
    # SMTP carries lines ending in CRLF; people and tests compare with Python's "\n".
    return content.replace("\r\n", "\n") if isinstance(content, str) else None

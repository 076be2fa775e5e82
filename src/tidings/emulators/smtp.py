"""An SMTP server emulator (aiosmtpd) that records each accepted message, parsed.

It offers STARTTLS on its port and serves implicit TLS on a second one, both with a
self-signed certificate for localhost and 127.0.0.1 made at start (`ServerCertificate`).
With a username and password it offers AUTH PLAIN and LOGIN, over TLS or not, and refuses
mail until the client has logged in. Faults apply at RCPT, by recipient address. The control
endpoints and the inbox are served by `app`, a small HTTP app beside the SMTP ports.
"""

import asyncio
import email
import email.policy
import hmac
import ipaddress
import logging
import secrets
import shutil
import socket
import ssl
import tempfile
from datetime import timedelta
from email.message import EmailMessage, Message
from functools import partial
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, TLSSetupException
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
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
CERTIFICATE_NAMES: list[x509.GeneralName] = [
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
]
CERTIFICATE_VALIDITY = timedelta(days=365)


class _QuietLoginDataWarning(logging.Filter):
    """aiosmtpd warns on every successful AUTH that it set a deprecated attribute of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that warning."""
        return "login_data is deprecated" not in record.getMessage()


_QUIET = _QuietLoginDataWarning()
# aiosmtpd's logger, which the emulator quietens and reports its sessions' failures to.
mail_log = logging.getLogger("mail.log")


class ServerCertificate:
    """A self-signed certificate for localhost and 127.0.0.1 (its own CA) and its key, written
    to a temporary directory that `remove` deletes."""

    def __init__(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        self.directory = Path(tempfile.mkdtemp(prefix="tidings-smtp-tls-"))
        self.ca_file = self.directory / "certificate.pem"
        key_file = self.directory / "key.pem"
        self.ca_file.write_bytes(_self_signed(key).public_bytes(Encoding.PEM))
        key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.ca_file, key_file)

    def remove(self) -> None:
        """Delete the certificate and its key."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tidings SMTP emulator")])
    # Clients check the validity against the real time, never against the suite's clock.
    now = system_clock()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(CERTIFICATE_NAMES), critical=False)
        # Being its own CA, it needs what strict verification asks of a CA (Python 3.13).
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


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

    async def serve(
        self, sock: socket.socket, tls_sock: socket.socket, tls_context: ssl.SSLContext
    ) -> list[asyncio.Server]:
        """Start accepting SMTP connections, with STARTTLS on `sock` and implicit TLS on
        `tls_sock` (both bound), in the running event loop."""
        mail_log.addFilter(_QUIET)
        # aiosmtpd logs every command of every session at INFO: noise beside a demo's output.
        mail_log.setLevel(max(mail_log.level, logging.WARNING))
        loop = asyncio.get_running_loop()
        return [
            await loop.create_server(partial(self._connection, tls_context), sock=sock),
            # Already encrypted: no STARTTLS to offer there.
            await loop.create_server(
                partial(self._connection, None), sock=tls_sock, ssl=tls_context
            ),
        ]

    def _connection(self, starttls_context: ssl.SSLContext | None) -> SMTP:
        auth = self.username is not None
        return SMTP(
            self._hooks,
            hostname=HOSTNAME,
            ident="tidings SMTP emulator",
            enable_SMTPUTF8=True,
            tls_context=starttls_context,
            require_starttls=False,
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

    def accept(self, envelope: Envelope, session: Session, *, tls: bool) -> str:
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
                "tls": tls,
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

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, lines: list[str]
    ) -> list[str]:
        """Offer AUTH only with credentials: aiosmtpd would offer it after STARTTLS regardless."""
        session.host_name = hostname
        if self.emulator.username is None:
            return [line for line in lines if not line.startswith("250-AUTH")]
        return lines

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

    async def handle_exception(self, error: Exception) -> str:
        """Log what broke a session; a refused certificate in one line, as clients refuse it
        on purpose (tests) or for want of the CA file."""
        if isinstance(error, TLSSetupException):
            mail_log.warning("a client gave up the STARTTLS handshake: does it trust the CA file?")
        else:
            mail_log.error("SMTP session failed", exc_info=error)
        return f"500 Error: ({type(error).__name__}) {error}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Record the message, and whether the session is encrypted (STARTTLS or implicit)."""
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        return self.emulator.accept(envelope, session, tls=tls)


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

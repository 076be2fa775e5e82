"""All four emulators, served from one background thread with its own event loop.

    with EmulatorSuite(slack_channels=[SlackChannel("alerts")]) as suite:
        client = AsyncWebClient(token=suite.slack_token, base_url=suite.slack_url)
        ...
        assert suite.slack.received.items()[0]["channel_name"] == "alerts"

Tests control the emulators through their Python objects (`suite.slack.faults.add(...)`,
`suite.smtp.received.items()`); the same controls are served over HTTP for other processes.
"""

import asyncio
import contextlib
import secrets
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Self
from urllib.parse import quote

import uvloop
from starlette.types import ASGIApp

from tidings.emulators.control import Emulator
from tidings.emulators.serving import HttpServer, bound_port, listening_socket
from tidings.emulators.slack import SlackChannel, SlackEmulator, SlackUser, SlackWorkspace
from tidings.emulators.smtp import ServerCertificate, SmtpEmulator
from tidings.emulators.teams import TeamsEmulator
from tidings.emulators.webhook import WebhookEmulator
from tidings.kit import standard_webhooks
from tidings.kit.clock import Clock, system_clock

STARTUP_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
# How often startup looks whether uvicorn has begun accepting (it offers no event to await).
STARTUP_POLL_S = 0.005
DIRECT_TEAMS_WEBHOOK = "direct"


def generate_slack_token() -> str:
    """A new bot token in Slack's format."""
    return f"xoxb-emulated-{secrets.token_hex(16)}"


class EmulatorSuite:
    """The Slack, Teams, SMTP and webhook emulators, each on its own port (0: any free one)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        slack_port: int = 0,
        teams_port: int = 0,
        smtp_port: int = 0,
        smtps_port: int = 0,
        smtp_control_port: int = 0,
        webhook_port: int = 0,
        slack_token: str | None = None,
        slack_channels: Iterable[SlackChannel] = (),
        slack_users: Iterable[SlackUser] = (),
        slack_open_workspace: bool = False,
        smtp_username: str | None = None,
        smtp_password: str | None = None,
        webhook_secret: str | None = None,
        webhook_require_signature: bool = True,
        clock: Clock = system_clock,
    ) -> None:
        self.host = host
        workspace = SlackWorkspace(slack_channels, slack_users, open_workspace=slack_open_workspace)
        self.slack = SlackEmulator(slack_token or generate_slack_token(), workspace, clock=clock)
        self.teams = TeamsEmulator(clock=clock)
        self.smtp = SmtpEmulator(username=smtp_username, password=smtp_password, clock=clock)
        self.webhook = WebhookEmulator(
            webhook_secret or standard_webhooks.generate_secret(),
            require_signature=webhook_require_signature,
            clock=clock,
        )
        self._wanted_ports = {
            "slack": slack_port,
            "teams": teams_port,
            "smtp": smtp_port,
            "smtps": smtps_port,
            "smtp_control": smtp_control_port,
            "webhook": webhook_port,
        }
        self._sockets: dict[str, socket.socket] = {}
        self._ports: dict[str, int] = {}
        self._certificate: ServerCertificate | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # Lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind every port, start serving in the background, return once all accept."""
        if self._thread is not None:
            raise RuntimeError("the emulators are already started")
        with _closed_on_error(self._sockets):
            for name, port in self._wanted_ports.items():
                self._sockets[name] = listening_socket(self.host, port)
            self._certificate = ServerCertificate()
        self._ports = {name: bound_port(sock) for name, sock in self._sockets.items()}
        self._thread = threading.Thread(
            target=self._run,
            args=(self._certificate.context,),
            name="tidings-emulators",
            daemon=True,
        )
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"the emulators did not start within {STARTUP_TIMEOUT_S} s")
        if self._failure is not None:
            self.stop()
            raise RuntimeError(f"the emulators failed to start: {self._failure}")
        return self

    def stop(self) -> None:
        """Stop serving, close every port, and wait for the background thread to end."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own meanwhile
                loop.call_soon_threadsafe(stopping.set)
        thread.join(STOP_TIMEOUT_S)
        for sock in self._sockets.values():
            sock.close()
        if self._certificate is not None:
            self._certificate.remove()
            self._certificate = None
        self._thread = None

    def wait(self) -> None:
        """Block until the suite stops (Ctrl-C interrupts the wait)."""
        # In short joins: a join without a timeout was seen to sit through a SIGINT, leaving
        # `tidings emulators` deaf to Ctrl-C with its ports held.
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.2)

    def reset(self) -> None:
        """Forget what every emulator received and every fault planned."""
        for emulator in self.emulators.values():
            emulator.received.clear()
            emulator.faults.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Where to reach them -----------------------------------------------------------------------

    @property
    def emulators(self) -> dict[str, Emulator]:
        """Each emulator by name: slack, teams, smtp, webhook."""
        return {
            "slack": self.slack,
            "teams": self.teams,
            "smtp": self.smtp,
            "webhook": self.webhook,
        }

    @property
    def slack_url(self) -> str:
        """The Slack Web API's base URL, as slack_sdk's `base_url` takes it."""
        return f"{self.base_url('slack')}/api/"

    @property
    def slack_token(self) -> str:
        """The bot token the Slack emulator accepts."""
        return self.slack.token

    def teams_url(self, name: str) -> str:
        """The Workflows webhook URL of a Teams channel."""
        return f"{self.base_url('teams')}/webhooks/{quote(name, safe='')}"

    @property
    def smtp_host(self) -> str:
        """The SMTP server's address."""
        return self.host

    @property
    def smtp_port(self) -> int:
        """The SMTP server's port (plain, with STARTTLS offered)."""
        return self._port("smtp")

    @property
    def smtp_tls_port(self) -> int:
        """The SMTP server's implicit TLS port."""
        return self._port("smtps")

    @property
    def smtp_ca_file(self) -> str:
        """The PEM file of the SMTP server's certificate, which is its own CA."""
        if self._certificate is None:
            raise RuntimeError("the emulators are not started")
        return str(self._certificate.ca_file)

    @property
    def webhook_secret(self) -> str:
        """The Standard Webhooks signing secret the webhook receiver verifies with."""
        return self.webhook.secret

    def webhook_url(self, name: str) -> str:
        """The URL of one webhook receiver."""
        return f"{self.base_url('webhook')}/hooks/{quote(name, safe='')}"

    def settings_fields(self) -> dict[str, str]:
        """`tidings_settings()` by the names of tidings' Settings fields (`slack_bot_token`),
        for building a Settings in the same process."""
        return {
            name.removeprefix("TIDINGS_").lower(): value
            for name, value in self.tidings_settings().items()
        }

    def tidings_settings(self) -> dict[str, str]:
        """The `TIDINGS_*` settings that point tidings at these emulators.

        Teams channels take their Workflows URL from the catalog (`teams_url(name)`); messages
        to people go to the direct-message flow, here the webhook named `direct`.
        """
        settings = {
            "TIDINGS_SLACK_API_URL": self.slack_url,
            "TIDINGS_SLACK_BOT_TOKEN": self.slack_token,
            "TIDINGS_TEAMS_ENABLED": "true",
            "TIDINGS_TEAMS_DIRECT_WEBHOOK_URL": self.teams_url(DIRECT_TEAMS_WEBHOOK),
            "TIDINGS_SMTP_HOST": self.smtp_host,
            "TIDINGS_SMTP_PORT": str(self.smtp_port),
            # Plain by default; with the CA file, starttls on this port and tls on the TLS
            # port work too.
            "TIDINGS_SMTP_SECURITY": "none",
            "TIDINGS_SMTP_CA_FILE": self.smtp_ca_file,
        }
        if self.smtp.username is not None and self.smtp.password is not None:
            settings["TIDINGS_SMTP_USERNAME"] = self.smtp.username
            settings["TIDINGS_SMTP_PASSWORD"] = self.smtp.password
        settings["TIDINGS_WEBHOOK_SIGNING_SECRET"] = self.webhook_secret
        # tidings delivers webhooks to loopback addresses only when told it may.
        settings["TIDINGS_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
        return settings

    def describe(self) -> list[str]:
        """Where each emulator listens and the secrets to use, one line each, for people."""
        return [
            f"Slack Web API    {self.slack_url}   inbox {self.base_url('slack')}/inbox",
            f"Slack bot token  {self.slack_token}",
            f"Teams Workflows  {self.teams_url('NAME')}   one URL per Teams channel; "
            f"inbox {self.base_url('teams')}/inbox",
            f"SMTP             {self.smtp_host}:{self.smtp_port}   STARTTLS offered; "
            f"inbox {self.base_url('smtp')}/inbox",
            f"SMTP over TLS    {self.smtp_host}:{self.smtp_tls_port}   CA file {self.smtp_ca_file}",
            f"Webhooks         {self.webhook_url('NAME')}   inbox {self.base_url('webhook')}/inbox",
            f"Signing secret   {self.webhook_secret}",
        ]

    def base_url(self, emulator: str) -> str:
        """Where an emulator serves `/_emulator/...` and `/inbox` (SMTP: its HTTP app)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port('smtp_control' if emulator == 'smtp' else emulator)}"

    def _port(self, name: str) -> int:
        if name not in self._ports:
            raise RuntimeError("the emulators are not started")
        return self._ports[name]

    # The background thread ---------------------------------------------------------------------

    def _run(self, smtp_tls: ssl.SSLContext) -> None:
        # The webhook receiver is benchmarked: a delivery costs about 170 µs of CPU on uvloop,
        # 280 µs on asyncio's own loop.
        loop = uvloop.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(smtp_tls))
        except BaseException as error:  # reported to start(); SystemExit comes from uvicorn
            self._failure = error
        finally:
            self._ready.set()
            _cancel_remaining(loop)
            loop.close()

    async def _serve(self, smtp_tls: ssl.SSLContext) -> None:
        self._stopping = asyncio.Event()
        apps: dict[str, ASGIApp] = {
            "slack": self.slack.app,
            "teams": self.teams.app,
            "webhook": self.webhook.app,
            "smtp_control": self.smtp.app,
        }
        servers = [HttpServer(app, self._sockets[name]) for name, app in apps.items()]
        smtp = await self.smtp.serve(self._sockets["smtp"], self._sockets["smtps"], smtp_tls)
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        while not all(server.started for server in servers):
            for task in tasks:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("an emulator's HTTP server ended while starting")
            await asyncio.sleep(STARTUP_POLL_S)
        self._ready.set()
        await self._stopping.wait()
        for smtp_server in smtp:
            smtp_server.close()
        for server in servers:
            server.stop()
        await asyncio.gather(*tasks)


@contextlib.contextmanager
def _closed_on_error(sockets: dict[str, socket.socket]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for sock in sockets.values():
            sock.close()
        sockets.clear()
        raise


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """End what the servers left running: SMTP sessions, requests held by faults."""
    remaining = asyncio.all_tasks(loop)
    for task in remaining:
        task.cancel()
    if remaining:
        loop.run_until_complete(asyncio.gather(*remaining, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())

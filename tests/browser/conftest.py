"""Real headless Chromium (Debian's build, installed by scripts/ensure-test-services.sh)
driven by Playwright against the app served by uvicorn on 127.0.0.1, over a SQLite store whose
runs were delivered to the emulators.

Without Chromium or Playwright these tests skip with the reason locally, and fail under CI.
"""

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.support.catalog_builder import member, service, team, team_owner, tidings, user
from tests.support.engine_harness import Harness, entity_ref, event, open_harness
from tidings.app import create_app
from tidings.auth.permissions import Permission
from tidings.emulators.faults import FaultRule
from tidings.emulators.slack import SlackChannel, SlackUser
from tidings.emulators.suite import EmulatorSuite
from tidings.enums import NotificationType

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ADA, BEN = "ada@example.com", "ben@example.com"
HOOK, SLACK_CHANNEL = "payments-events", "payments-alerts"
SETTINGS = {
    "retry_attempts": 3,
    "slack_per_channel_per_second": 0,
    "teams_per_webhook_per_second": 0,
    # Longer than the delay the live test makes the webhook answer with.
    "webhook_timeout_seconds": 20.0,
}


def _unavailable(reason: str) -> None:
    """Fail under CI, where the setup must have installed what the tests need; skip locally."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, which the test setup installs."""
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} is missing: run scripts/ensure-test-services.sh as root "
            "(it installs Debian's 'chromium'), or apt-get install chromium"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    """A headless Chromium for the module.

    Not for the session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, and every later test that calls asyncio.run would fail.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is missing: run make setup")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class Served:
    """The app behind a real HTTP server, the harness under it, and the emulators."""

    base_url: str
    harness: Harness
    suite: EmulatorSuite
    key: str

    def url(self, path: str) -> str:
        """An absolute URL of the app."""
        return self.base_url + path


def _listening_socket() -> socket.socket:
    """A socket listening on a free port: connections queue until uvicorn takes them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _catalog(harness: Harness, suite: EmulatorSuite) -> None:
    harness.load(
        team(
            "payments",
            member(ADA),
            member(BEN),
            slack=[{"name": SLACK_CHANNEL}],
            webhooks=[{"name": HOOK, "url": suite.webhook_url(HOOK)}],
        ),
        service("payments-api", owners=[team_owner("payments")]),
        tidings(users=[user(ADA), user(BEN)]),
    )


def _first_runs(harness: Harness, suite: EmulatorSuite) -> None:
    """Two events over every medium; the webhook's first run fails (its receiver is gone)."""
    _catalog(harness, suite)
    suite.webhook.faults.add(FaultRule.status(410, times=0))
    harness.send(event(NotificationType.BROKEN_OPEN_API_SPEC, entity_ref("payments-api")))
    suite.reset()
    harness.send(event(NotificationType.BROKEN_OPEN_API_SPEC, entity_ref("payments-api")))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Served]:
    """The app on 127.0.0.1 with runs over every medium, the webhook's first run failed."""
    directory = tmp_path_factory.mktemp("browser")
    store = directory / "tidings.db"
    shutil.copy(sqlite_template, store)
    with EmulatorSuite(
        slack_channels=[SlackChannel(SLACK_CHANNEL)],
        slack_users=[SlackUser(ADA), SlackUser(BEN)],
    ) as suite:
        settings = suite.settings_fields()
        with open_harness(f"sqlite:///{store}", directory, **settings, **SETTINGS) as harness:
            # Playwright's sync API runs an event loop on this thread: the engine, which
            # runs one of its own, delivers the first runs on another.
            with ThreadPoolExecutor(max_workers=1) as worker:
                worker.submit(_first_runs, harness, suite).result()
            key = harness.key(Permission.VIEW_NOTIFICATION_LOGS)["Authorization"].split()[1]
            sock = _listening_socket()
            port = sock.getsockname()[1]
            config = uvicorn.Config(create_app(harness.runtime), log_level="warning")
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
            thread.start()
            try:
                yield Served(f"http://127.0.0.1:{port}", harness, suite, key)
            finally:
                server.should_exit = True
                thread.join()
                sock.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab (its own cookies), accepting downloads."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

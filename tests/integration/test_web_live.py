"""The live tail of a run on the admin page: while a run is CREATED its page opens a stream of
server-sent events that carries the page's live part again whenever the run's status or its
logs' counts change, and ends when the run settles, the session ends, or the run is gone.

The server's poll interval is set to nothing here, and the store is changed between two
polls by the test's own hook, so no test waits for time.
"""

import asyncio
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text, update

from tests.integration.test_web_sessions import Admin, open_admin
from tests.support.builders import RunSpec, store_runs
from tidings.enums import LogStatus, RunStatus
from tidings.logs.repository import logs, runs
from tidings.web import live, repository
from tidings.web.repository import RunProgress

RUNS = "/admin/notifications/runs"
EVENT = re.compile(r"event: ([a-z-]+)\n((?:data: .*\n)+)\n")


@pytest.fixture
def admin(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Admin]:
    """A browser signed in with a key that may view the logs; the tail polls at once."""
    monkeypatch.setattr(live, "POLL_SECONDS", 0)
    with open_admin(database_url, tmp_path) as opened:
        opened.signed_in()
        yield opened


def events(body: str) -> list[tuple[str, str]]:
    """The (event, data) pairs of a stream, each data's lines joined as EventSource joins them."""
    return [
        (name, "\n".join(line.removeprefix("data: ") for line in data.splitlines()))
        for name, data in EVENT.findall(body)
    ]


def delivering_run(admin: Admin) -> int:
    """A CREATED run with one log delivered and one still READY."""
    [run_id] = store_runs(
        admin.engine,
        [
            RunSpec(
                fields={"status": RunStatus.CREATED},
                logs=[{}, {"status": LogStatus.READY, "date_delivered": None}],
            )
        ],
    )
    return run_id


def on_poll(
    monkeypatch: pytest.MonkeyPatch, poll: int, change: Callable[[Connection], Any]
) -> None:
    """Change the store (in its own transaction) right after the tail looked at the run for
    the `poll`-th time (the route's own look before the stream is the first; the stream's
    first look is followed by a render, which would already see the change)."""
    looked = repository.run_progress
    calls: list[int] = []

    def looking(connection: Connection, run_id: int) -> RunProgress | None:
        calls.append(run_id)
        found = looked(connection, run_id)
        if len(calls) == poll:
            with connection.engine.begin() as writing:
                change(writing)
        return found

    monkeypatch.setattr(repository, "run_progress", looking)


def finish(run_id: int) -> Callable[[Connection], None]:
    """The change that delivers the READY log and completes the run."""

    def apply(connection: Connection) -> None:
        now = datetime(2026, 11, 1, 12, 5, tzinfo=UTC)
        connection.execute(
            update(logs)
            .where(logs.c.run_id == run_id, logs.c.status == LogStatus.READY)
            .values(status=LogStatus.DELIVERED, date_delivered=now, date_updated=now)
        )
        connection.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(status=RunStatus.COMPLETED, delivered_count=2, date_updated=now)
        )

    return apply


class TestTheRunPage:
    def test_a_delivering_run_opens_the_live_tail_with_its_own_query(self, admin: Admin) -> None:
        run_id = delivering_run(admin)
        html = admin.get(f"{RUNS}/{run_id}?pageSize=5").text
        assert f'data-live-events="{RUNS}/{run_id}/events?pageSize=5"' in html
        assert 'id="live-note" class="live-note" role="status"' in html

    def test_a_settled_run_has_no_live_tail(self, admin: Admin) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(logs=[{}])])
        html = admin.get(f"{RUNS}/{run_id}").text
        assert "data-live-events" not in html
        assert "live-note" not in html


class TestTheEvents:
    def test_a_run_that_settles_sends_progress_then_settled_and_ends(
        self, admin: Admin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run_id = delivering_run(admin)
        on_poll(monkeypatch, 3, finish(run_id))

        response = admin.get(f"{RUNS}/{run_id}/events")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.text.startswith("retry: 1000\n\n")
        [(first, before), (last, after)] = events(response.text)
        assert (first, last) == ("progress", "settled")
        assert '<span class="status status-created">Created</span>' in before
        assert "<div><dt>Delivered</dt><dd>1</dd></div>" in before
        assert '<span class="status status-completed">Completed</span>' in after
        assert "<div><dt>Delivered</dt><dd>2</dd></div>" in after

    def test_an_unchanged_run_sends_nothing_new(
        self, admin: Admin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run_id = delivering_run(admin)
        # Polls 2 to 4 see the same run; the fifth sees it finished.
        on_poll(monkeypatch, 5, finish(run_id))
        names = [name for name, _data in events(admin.get(f"{RUNS}/{run_id}/events").text)]
        assert names == ["progress", "settled"]

    def test_a_settled_run_sends_its_live_part_once_and_ends(self, admin: Admin) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(logs=[{}])])
        [(name, data)] = events(admin.get(f"{RUNS}/{run_id}/events").text)
        assert name == "settled"
        assert '<h3 id="log-' in data

    def test_signing_out_ends_the_stream(
        self, admin: Admin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run_id = delivering_run(admin)
        on_poll(monkeypatch, 2, lambda c: c.execute(text("DELETE FROM web_sessions")))

        found = events(admin.get(f"{RUNS}/{run_id}/events").text)

        assert [name for name, _data in found] == ["progress", "signed-out"]
        assert found[1][1] == "You signed out: this page no longer updates."

    def test_a_run_that_is_purged_ends_the_stream(
        self, admin: Admin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run_id = delivering_run(admin)

        def purge(connection: Connection) -> None:
            connection.execute(logs.delete().where(logs.c.run_id == run_id))
            connection.execute(runs.delete().where(runs.c.id == run_id))

        on_poll(monkeypatch, 3, purge)
        names = [name for name, _data in events(admin.get(f"{RUNS}/{run_id}/events").text)]
        assert names == ["progress", "gone"]

    def test_the_live_part_keeps_the_pages_paging(self, admin: Admin) -> None:
        [run_id] = store_runs(admin.engine, [RunSpec(logs=[{}, {}, {}])])
        [(_name, data)] = events(admin.get(f"{RUNS}/{run_id}/events?pageSize=2").text)
        assert len(re.findall(r'<article class="log"', data)) == 2
        assert f'href="{RUNS}/{run_id}?pageSize=2&amp;page=1"' in data

    @pytest.mark.parametrize(
        ("path", "status"),
        [("999999/events", 404), ("abc/events", 404), ("{run}/events?pageSize=0", 400)],
    )
    def test_what_cannot_be_followed_is_refused(self, admin: Admin, path: str, status: int) -> None:
        run_id = delivering_run(admin)
        assert admin.get(f"{RUNS}/{path.format(run=run_id)}").status_code == status


def test_the_events_need_a_session(database_url: str, tmp_path: Path) -> None:
    with open_admin(database_url, tmp_path) as admin:
        run_id = delivering_run(admin)
        response = admin.get(f"{RUNS}/{run_id}/events")
    assert response.status_code == 401
    assert "text/event-stream" not in response.headers["content-type"]


def progress(status: str, delivered: int) -> RunProgress:
    """A look at a run."""
    return RunProgress(status, delivered, datetime(2026, 11, 1, tzinfo=UTC), ())


def collect(looks: list[live.Look], max_polls: int = 10) -> list[str]:
    """The event names the tail sends for these looks (renders count as the event's data)."""
    remaining = iter(looks)
    renders: list[int] = []

    async def look() -> live.Look:
        return next(remaining)

    async def render() -> str:
        renders.append(1)
        return f"render {len(renders)}"

    async def disconnected() -> bool:
        return False

    async def run() -> list[str]:
        stream = live.live_events(look, render, disconnected, 0, max_polls)
        return [chunk.decode() async for chunk in stream]

    return [name for name, _data in events("".join(asyncio.run(run())))]


class TestTheStreamsRules:
    def test_only_changes_are_sent(self) -> None:
        same = live.Look(True, progress("CREATED", 1))
        looks = [same, same, same, live.Look(True, progress("CREATED", 2)), same]
        assert collect(looks, max_polls=5) == ["progress", "progress", "progress"]

    def test_a_long_stream_ends_by_itself_for_the_browser_to_reconnect(self) -> None:
        same = live.Look(True, progress("CREATED", 1))
        assert collect([same] * 3, max_polls=3) == ["progress"]

    @pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "IGNORED", "COMPLETED_WITH_ERRORS"])
    def test_any_status_but_created_is_settled(self, status: str) -> None:
        assert collect([live.Look(True, progress(status, 0))]) == ["settled"]

    def test_every_line_of_the_data_is_a_data_field(self) -> None:
        assert live.event_text(live.LiveEvent.PROGRESS, "a\nb\r\nc\rd") == (
            b"event: progress\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        )

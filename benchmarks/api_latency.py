"""Median latency of the Notification Logs API beside the same SQL run directly.

Builds a generated store (SQLite; with --postgres also PostgreSQL), serves it with
`tidings serve` in a subprocess on 127.0.0.1, and for every single filter of both endpoints,
both orders, page 0 and a deep page, times the HTTP request end to end and the statements
the repository builds for the same filter run directly on a connection to the same store.

The goal (issue): page 0 within 30 ms on SQLite at 1M logs, and the API within 1.5 times the
raw SQL. The last line of output is one JSON object with the figures.

While measuring, the benchmark and the server it starts run on one CPU (--no-pin to let
them roam; generation, and PostgreSQL, use every CPU). On a virtual machine one CPU can run
at two thirds of the other's speed for seconds at a time: unpinned, one case measured 1.43
in one run and 0.97 in the next (its SQL's median 3.1 then 5.4 ms), another 1.30 then 1.64,
as the SQL and the server happened to land on different CPUs. Pinned, three runs of each
gave 1.31 to 1.40.
"""

import argparse
import hashlib
import http.client
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from sqlalchemy import Connection, Engine, Select, create_engine, func, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

import tidings
from tidings.auth import service as keys_service
from tidings.auth.permissions import Permission
from tidings.enums import (
    FailedReason,
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
    SortOrder,
)
from tidings.generator.history import HistorySpec, write_history
from tidings.kit.db import create_db_engine, reading, session_factory
from tidings.kit.migrate import upgrade
from tidings.kit.pagination import DEFAULT_PAGE_SIZE, PageRequest, total_pages
from tidings.kit.wire import format_instant
from tidings.logs import repository, service
from tidings.logs.filters import LogFilter, RunFilter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the throwaway PostgreSQL server of the test suite

from tests.support.postgres import free_port, start_server  # noqa: E402

# A fixed end makes every run over the same --logs build the same history.
HISTORY_END = datetime(2025, 3, 1, tzinfo=UTC)
SEED = 1
PAGE0_GOAL_MS = 30.0
RATIO_GOAL = 1.5
DEEP_PAGE_SHARE = 0.8
DEEP_PAGE_CAP = 1000  # 250,000 rows deep at the default page size
WARMUP = 2
DEFAULT_REPEAT = 30
ROUNDS = 3  # passes over all the cases, each taking a third of every case's samples
# A case stops sampling after this long once it has MIN_REPEAT pairs: a deep page on
# PostgreSQL takes a second, and its ratio, near 1, needs no 30 samples to show.
CASE_BUDGET_S = 6.0
MIN_REPEAT = 9
HEALTH_TIMEOUT_S = 120.0
LOGS_PATH = "/api/v1/notifications/logs"
RUNS_PATH = "/api/v1/notifications/logs/run"
PG_DATABASE = "tidings_bench"


def show(line: str = "") -> None:
    """Print a line at once, so long runs show progress when piped."""
    print(line, flush=True)


# The cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One filter of one endpoint: its query parameters and the filter the endpoint parses."""

    label: str
    params: dict[str, str]
    filter: LogFilter | RunFilter
    include_objects: bool = False

    @property
    def endpoint(self) -> str:
        """`logs` or `runs`."""
        return "logs" if isinstance(self.filter, LogFilter) else "runs"

    def target(self, page: PageRequest) -> str:
        """The request path and query string for `page`."""
        path = LOGS_PATH if self.endpoint == "logs" else RUNS_PATH
        paging = {"orderBy": page.order.value, "page": page.page, "pageSize": page.page_size}
        return f"{path}?{urlencode({**self.params, **paging})}"


@dataclass(frozen=True)
class Samples:
    """Filter values picked from the stored data, so that every filter finds something."""

    run_id: int
    common_type: NotificationType
    rare_type: NotificationType
    rare_recipient_type: RecipientType
    rare_medium: Medium
    email: str
    entity_id: int
    channel: str
    ignored_reason: IgnoredReason
    failed_reason: FailedReason
    run_type: NotificationType
    run_medium: Medium
    run_ignored_reason: RunIgnoredReason
    run_failed_reason: RunFailedReason
    search: str
    from_date: datetime
    until_date: datetime


TALLY_TOP = (
    "SELECT {column} FROM notification_log_tallies WHERE {column} <> '' "
    "GROUP BY {column} ORDER BY sum(count) {direction}, {column} LIMIT 1"
)
LOG_TOP = (
    "SELECT {column} FROM notification_logs WHERE {column} IS NOT NULL "
    "GROUP BY {column} ORDER BY count(*) {direction}, {column} LIMIT 1"
)
RUN_TOP = (
    "SELECT {column} FROM notification_runs WHERE {column} IS NOT NULL "
    "GROUP BY {column} ORDER BY count(*) {direction}, {column} LIMIT 1"
)
SEARCHABLE_OBJECTS = (
    "SELECT o.name FROM notification_objects o "
    "JOIN notification_run_objects r ON r.object_pk = o.pk "
    "WHERE o.object_type = 'ENTITY' GROUP BY o.pk, o.name ORDER BY count(*) DESC, o.pk"
)


def _top(connection: Connection, template: str, column: str, *, rarest: bool = False) -> Any:
    """The most (or least) frequent value of `column` in the table `template` reads."""
    direction = "ASC" if rarest else "DESC"
    sql = template.format(column=column, direction=direction)
    return connection.execute(text(sql)).scalar_one()


def _date_range(connection: Connection) -> tuple[datetime, datetime]:
    """Three days from noon, 40% into the history: both ends are partial days."""
    logs = repository.logs
    first, last = connection.execute(
        select(func.min(logs.c.date_created), func.max(logs.c.date_created))
    ).one()
    start = (first + (last - first) * 0.4).replace(hour=12, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=3)


def pick_samples(engine: Engine) -> Samples:
    """Representative filter values: common where paging deep matters, rare where it hurts."""
    with engine.connect() as connection:
        names = [row[0] for row in connection.execute(text(SEARCHABLE_OBJECTS))]
        from_date, until_date = _date_range(connection)
        return Samples(
            run_id=int(_top(connection, LOG_TOP, "run_id")),
            common_type=NotificationType(_top(connection, TALLY_TOP, "notification_type")),
            rare_type=NotificationType(
                _top(connection, TALLY_TOP, "notification_type", rarest=True)
            ),
            rare_recipient_type=RecipientType(
                _top(connection, TALLY_TOP, "recipient_type", rarest=True)
            ),
            rare_medium=Medium(_top(connection, TALLY_TOP, "medium", rarest=True)),
            email=str(_top(connection, LOG_TOP, "recipient_email")),
            entity_id=int(_top(connection, LOG_TOP, "recipient_entity_id")),
            channel=str(_top(connection, LOG_TOP, "recipient_channel")),
            ignored_reason=IgnoredReason(_top(connection, TALLY_TOP, "ignored_reason")),
            failed_reason=FailedReason(_top(connection, TALLY_TOP, "failed_reason")),
            run_type=NotificationType(_top(connection, RUN_TOP, "notification_type")),
            run_medium=Medium(_top(connection, RUN_TOP, "medium", rarest=True)),
            run_ignored_reason=RunIgnoredReason(_top(connection, RUN_TOP, "ignored_reason")),
            run_failed_reason=RunFailedReason(_top(connection, RUN_TOP, "failed_reason")),
            search=names[len(names) // 2],
            from_date=from_date,
            until_date=until_date,
        )


def _dates(samples: Samples) -> dict[str, str]:
    return {
        "fromDate": format_instant(samples.from_date),
        "untilDate": format_instant(samples.until_date),
    }


def log_cases(s: Samples) -> list[Case]:
    """No filter, then each log filter alone."""
    return [
        Case("(no filter)", {}, LogFilter()),
        Case(
            f"notificationRunIds={s.run_id}",
            {"notificationRunIds": str(s.run_id)},
            LogFilter(run_ids=frozenset({s.run_id})),
        ),
        Case(
            f"notificationTypes={s.common_type} (common)",
            {"notificationTypes": s.common_type},
            LogFilter(types=frozenset({s.common_type})),
        ),
        Case(
            f"notificationTypes={s.rare_type} (rare)",
            {"notificationTypes": s.rare_type},
            LogFilter(types=frozenset({s.rare_type})),
        ),
        Case(
            "statuses=FAILED",
            {"statuses": "FAILED"},
            LogFilter(statuses=frozenset({LogStatus.FAILED})),
        ),
        Case(
            f"recipientTypes={s.rare_recipient_type}",
            {"recipientTypes": s.rare_recipient_type},
            LogFilter(recipient_types=frozenset({s.rare_recipient_type})),
        ),
        Case(
            f"recipientEmails={s.email}",
            {"recipientEmails": s.email},
            LogFilter(recipient_emails=frozenset({s.email})),
        ),
        Case(
            f"recipientEntityIds={s.entity_id}",
            {"recipientEntityIds": str(s.entity_id)},
            LogFilter(recipient_entity_ids=frozenset({s.entity_id})),
        ),
        Case(
            f"recipientChannels={s.channel}",
            {"recipientChannels": s.channel},
            LogFilter(recipient_channels=frozenset({s.channel})),
        ),
        Case(
            f"mediums={s.rare_medium}",
            {"mediums": s.rare_medium},
            LogFilter(mediums=frozenset({s.rare_medium})),
        ),
        Case(
            f"ignoredReasons={s.ignored_reason}",
            {"ignoredReasons": s.ignored_reason},
            LogFilter(ignored_reasons=frozenset({s.ignored_reason})),
        ),
        Case(
            f"failedReasons={s.failed_reason}",
            {"failedReasons": s.failed_reason},
            LogFilter(failed_reasons=frozenset({s.failed_reason})),
        ),
        Case(
            "fromDate..untilDate (3 days)",
            _dates(s),
            LogFilter(from_date=s.from_date, until_date=s.until_date),
        ),
    ]


def _all_runs(label: str, params: dict[str, str], f: RunFilter, objects: bool = False) -> Case:
    """A run case with deliveredOnly=false, so that its filter is the only one."""
    return Case(label, {**params, "deliveredOnly": "false"}, f, include_objects=objects)


def run_cases(s: Samples) -> list[Case]:
    """The defaults (deliveredOnly=true), then each run filter alone (deliveredOnly=false)."""
    everything = RunFilter(delivered_only=False)
    return [
        Case("(defaults: deliveredOnly=true)", {}, RunFilter()),
        _all_runs("deliveredOnly=false (no filter)", {}, everything),
        _all_runs("includeObjects=true", {"includeObjects": "true"}, everything, objects=True),
        _all_runs(
            f"notificationTypes={s.run_type}",
            {"notificationTypes": s.run_type},
            RunFilter(types=frozenset({s.run_type}), delivered_only=False),
        ),
        _all_runs(
            "statuses=FAILED",
            {"statuses": "FAILED"},
            RunFilter(statuses=frozenset({RunStatus.FAILED}), delivered_only=False),
        ),
        _all_runs(
            f"mediums={s.run_medium}",
            {"mediums": s.run_medium},
            RunFilter(mediums=frozenset({s.run_medium}), delivered_only=False),
        ),
        _all_runs(
            f"ignoredReasons={s.run_ignored_reason}",
            {"ignoredReasons": s.run_ignored_reason},
            RunFilter(ignored_reasons=frozenset({s.run_ignored_reason}), delivered_only=False),
        ),
        _all_runs(
            f"failedReasons={s.run_failed_reason}",
            {"failedReasons": s.run_failed_reason},
            RunFilter(failed_reasons=frozenset({s.run_failed_reason}), delivered_only=False),
        ),
        _all_runs(
            f"searchQuery={s.search}",
            {"searchQuery": s.search},
            RunFilter(search_query=s.search, delivered_only=False),
        ),
        _all_runs(
            "fromDate..untilDate (3 days)",
            _dates(s),
            RunFilter(from_date=s.from_date, until_date=s.until_date, delivered_only=False),
        ),
    ]


# The SQL, run directly ------------------------------------------------------------------------


def run_sql(engine: Engine, case: Case, page: PageRequest) -> tuple[int, int]:
    """The statements the service runs for `case` and `page` (`service.log_page_rows` /
    `run_page_rows`: all the SQL of a request and nothing else), on a pooled connection
    read from as the API's reader threads read (`kit.db.reading`): (total, rows)."""
    f = case.filter
    with reading(engine) as connection:
        if isinstance(f, LogFilter):
            answer = service.log_page_rows(connection, f, page)
        else:
            answer = service.run_page_rows(
                connection, f, page, include_objects=case.include_objects
            )
    return answer.total, len(answer.rows)


def statements_of(case: Case, page: PageRequest) -> dict[str, Select[Any]]:
    """The count and page statements of `case` (for a search, the one statement that reads
    both), by name."""
    f = case.filter
    if isinstance(f, LogFilter):
        return {
            "count": repository.log_count_statement(f),
            "page": repository.log_page_statement(f, page),
        }
    if f.search_query:
        return {"page and count": repository.run_search_statement(f, page)}
    return {
        "count": repository.run_count_statement(f),
        "page": repository.run_page_statement(f, page),
    }


class Explain(Executable, ClauseElement):
    """EXPLAIN of a statement, its parameters bound by their column types as usual."""

    inherit_cache = False

    def __init__(self, statement: Select[Any], prefix: str) -> None:
        self.statement = statement
        self.prefix = prefix


@compiles(Explain)
def _compile_explain(element: Explain, compiler: Any, **kw: Any) -> str:
    return f"{element.prefix} {compiler.process(element.statement, **kw)}"


def explain(engine: Engine, case: Case, page: PageRequest) -> list[str]:
    """The plan and the time of each statement of `case`, as lines to print."""
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS)" if postgres else "EXPLAIN QUERY PLAN"
    lines = []
    with engine.connect() as connection:
        for name, statement in statements_of(case, page).items():
            started = time.perf_counter()
            connection.execute(statement).all()
            lines.append(f"  {name}: {(time.perf_counter() - started) * 1000:.1f} ms")
            for row in connection.execute(Explain(statement, prefix)):
                lines.append(f"    {row[0] if postgres else row[-1]}")
    return lines


# The API, over HTTP ---------------------------------------------------------------------------


class ApiClient:
    """One keep-alive HTTP/1.1 connection to the server under test, on a bare socket.

    http.client parses every response's headers through the email package, which cost
    about 0.2 ms a request here (/healthz: 0.56 ms through it, 0.37 ms bare): the client's
    time, not the server's. This client sends the request bytes and reads the status line,
    the Content-Length and the body, which is all the server under test ever sends.
    """

    def __init__(self, port: int, secret: str) -> None:
        self._port = port
        self._secret = secret
        self._socket: socket.socket | None = None
        self._buffer = b""

    def _request(self, target: str) -> bytes:
        return (
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{self._port}\r\n"
            f"Authorization: Bearer {self._secret}\r\nAccept: application/json\r\n\r\n"
        ).encode()

    def _connected(self) -> socket.socket:
        if self._socket is None:
            self._socket = socket.create_connection(("127.0.0.1", self._port), timeout=300)
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer = b""
        return self._socket

    def _receive(self, connection: socket.socket) -> None:
        chunk = connection.recv(1 << 20)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        self._buffer += chunk

    def _response(self, connection: socket.socket) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self._buffer:
            self._receive(connection)
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b":", 1) for line in header_lines)
        length = int(headers[b"content-length"])
        while len(self._buffer) < length:
            self._receive(connection)
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return int(status_line.split()[1]), body

    def get(self, target: str) -> tuple[float, bytes]:
        """GET `target`: seconds from sending the request to reading the last body byte."""
        request = self._request(target)
        for _attempt in range(2):
            connection = self._connected()
            try:
                started = time.perf_counter()
                connection.sendall(request)
                status, body = self._response(connection)
                elapsed = time.perf_counter() - started
            except ConnectionError:
                # The server closes idle keep-alive connections; open a new one and retry.
                self.close()
                continue
            if status != 200:
                raise RuntimeError(f"GET {target} answered {status}: {body[:300]!r}")
            return elapsed, body
        raise RuntimeError(f"GET {target}: the server closed the connection twice")

    def close(self) -> None:
        """Close the connection."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _server_output(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def _wait_until_healthy(port: int, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Poll /healthz until it answers 200, the server exits, or the time is up."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{_server_output(log)}")
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            probe.close()
        time.sleep(0.2)
    raise RuntimeError(f"/healthz did not answer within {HEALTH_TIMEOUT_S:.0f} s")


@contextmanager
def serving(database_url: str, settings: Mapping[str, str] | None = None) -> Iterator[int]:
    """`tidings serve` on a free loopback port in a subprocess, with `settings` added to its
    environment; yields the port."""
    port = free_port()
    environment = {
        **os.environ,
        "TIDINGS_DATABASE_URL": database_url,
        "TIDINGS_RATE_LIMIT_PER_MINUTE": str(10**9),
        **(settings or {}),
    }
    command = [sys.executable, "-m", "tidings", "serve", "--host", "127.0.0.1", "--no-schedules"]
    command += ["--port", str(port), "--log-level", "warning"]
    if database_url.startswith("postgresql"):
        # A worker would fire the cluster's periodic work, the hourly purge among it, which
        # deletes the generated history (it ends long before today) under the measurements.
        command.append("--no-worker")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_healthy(port, process, log)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def create_api_key(engine: Engine) -> str:
    """A new key that may read the logs, valid for a day; its secret."""
    now = datetime.now(UTC)
    with session_factory(engine).begin() as session:
        created = keys_service.create_key(
            session,
            f"api latency benchmark {now:%Y-%m-%d %H:%M:%S}",
            [Permission.VIEW_NOTIFICATION_LOGS],
            now,
            expires_at=now + timedelta(days=1),
        )
    return created.secret


# Measuring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """The medians of one case, in one order, at one page."""

    case: Case
    order: SortOrder
    page: int
    total: int
    api_ms: float
    sql_ms: float

    @property
    def ratio(self) -> float:
        """API latency over the SQL time."""
        return self.api_ms / self.sql_ms if self.sql_ms > 0 else math.inf

    @property
    def name(self) -> str:
        """The case, order and page, as one string."""
        return f"{self.case.endpoint} {self.case.label} {self.order} page {self.page}"

    def misses(self) -> list[str]:
        """The goals this measurement misses (the page-0 goal is SQLite's; shown for both)."""
        missed = []
        if self.page == 0 and self.api_ms > PAGE0_GOAL_MS:
            missed.append(f">{PAGE0_GOAL_MS:.0f}ms")
        if self.ratio > RATIO_GOAL:
            missed.append(f"ratio>{RATIO_GOAL}")
        return missed


@dataclass
class Bench:
    """What a backend's measurements share."""

    engine: Engine
    client: ApiClient
    repeat: int
    measurements: list[Measurement] = field(default_factory=list)


def _check_body(case: Case, target: str, body: bytes, total: int, rows: int) -> None:
    """The API and the direct SQL must agree, or the comparison means nothing."""
    answer = json.loads(body)
    items = answer["logs" if case.endpoint == "logs" else "runs"]
    if answer["total"] != total or len(items) != rows:
        raise RuntimeError(
            f"{target}: the API says total {answer['total']} with {len(items)} items, "
            f"the SQL {total} with {rows} rows"
        )


@dataclass
class Timings:
    """The samples of one case, order and page, gathered over the rounds."""

    case: Case
    page: PageRequest
    api: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    total: int = 0

    def measurement(self) -> Measurement:
        """The medians, in milliseconds."""
        return Measurement(
            self.case,
            self.page.order,
            self.page.page,
            self.total,
            statistics.median(self.api) * 1000,
            statistics.median(self.sql) * 1000,
        )


def sample(bench: Bench, timings: Timings, count: int, *, warm_up: bool) -> None:
    """`count` API requests and as many direct SQL runs, interleaved, added to `timings`
    (fewer, at least a round's share of MIN_REPEAT, once a round's share of the budget is
    spent)."""
    case, page = timings.case, timings.page
    target = case.target(page)
    for _ in range(WARMUP if warm_up else 0):
        bench.client.get(target)
        run_sql(bench.engine, case, page)
    body, rows = b"", 0
    least, budget = math.ceil(MIN_REPEAT / ROUNDS), CASE_BUDGET_S / ROUNDS
    started_round = time.perf_counter()
    taken = 0
    # Interleaving exposes both to the same background load of this shared machine.
    while taken < count and not (taken >= least and time.perf_counter() - started_round > budget):
        seconds, body = bench.client.get(target)
        timings.api.append(seconds)
        started = time.perf_counter()
        timings.total, rows = run_sql(bench.engine, case, page)
        timings.sql.append(time.perf_counter() - started)
        taken += 1
    _check_body(case, target, body, timings.total, rows)


def deep_page(total: int) -> int:
    """The page at 80% of the pages, capped; 0 when there is only one page."""
    return min(int(total_pages(total, DEFAULT_PAGE_SIZE) * DEEP_PAGE_SHARE), DEEP_PAGE_CAP)


ROW = "{:<5} {:<46} {:<4} {:>5} {:>10} {:>8} {:>8} {:>6} {:>8}  {}"


def table_header() -> str:
    """The header of the results table."""
    return ROW.format(
        "api", "filter", "ord", "page", "total", "api ms", "sql ms", "ratio", "over ms", "misses"
    )


def table_row(m: Measurement) -> str:
    """One measurement as a row of the results table."""
    label = m.case.label if len(m.case.label) <= 46 else m.case.label[:45] + "…"
    return ROW.format(
        m.case.endpoint,
        label,
        m.order,
        m.page,
        f"{m.total:,}",
        f"{m.api_ms:.2f}",
        f"{m.sql_ms:.2f}",
        f"{m.ratio:.2f}",
        f"{m.api_ms - m.sql_ms:.2f}",
        " ".join(m.misses()),
    )


def warm_up(bench: Bench, cases: Sequence[Case], orders: Sequence[SortOrder]) -> None:
    """Page 0 of every case once through the API and once directly, untimed.

    The first requests a fresh server answers pay for its start (imports on first use,
    empty caches, connections opening); the measurements are of a server that has run.
    """
    for case in cases:
        for order in orders:
            page = PageRequest(page=0, page_size=DEFAULT_PAGE_SIZE, order=order)
            bench.client.get(case.target(page))
            run_sql(bench.engine, case, page)


def _first_round(
    bench: Bench, cases: Sequence[Case], orders: Sequence[SortOrder], count: int
) -> list[Timings]:
    """Page 0 of each case in each order, then its deep page once page 0 told the total."""
    timings = []
    for case in cases:
        for order in orders:
            first = Timings(case, PageRequest(page=0, page_size=DEFAULT_PAGE_SIZE, order=order))
            sample(bench, first, count, warm_up=True)
            timings.append(first)
            deep = deep_page(first.total)
            if deep > 0:
                page = PageRequest(page=deep, page_size=DEFAULT_PAGE_SIZE, order=order)
                timings.append(Timings(case, page))
                sample(bench, timings[-1], count, warm_up=True)
    return timings


def measure(bench: Bench, cases: Sequence[Case], orders: Sequence[SortOrder]) -> None:
    """Page 0 and the deep page of every case in each order, sampled in ROUNDS passes over
    the whole list, then printed.

    A busy host slows this machine's CPUs for seconds at a time; a case sampled all at once
    could fall entirely inside such a spell, while its samples spread over the run see the
    spells as every other case does."""
    per_round = math.ceil(bench.repeat / ROUNDS)
    show(f"  round 1 of {ROUNDS} …")
    timings = _first_round(bench, cases, orders, per_round)
    for round_number in range(2, ROUNDS + 1):
        show(f"  round {round_number} of {ROUNDS} …")
        for point in timings:
            sample(bench, point, per_round, warm_up=False)
    show(table_header())
    for point in timings:
        bench.measurements.append(point.measurement())
        show(table_row(bench.measurements[-1]))


def health_latency_ms(client: ApiClient, requests: int = 200) -> float:
    """The median of /healthz: what any request costs before auth, SQL and JSON."""
    for _ in range(20):
        client.get("/healthz")
    return statistics.median(client.get("/healthz")[0] for _ in range(requests)) * 1000


# Stores -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generation:
    """How the store's history came to be."""

    logs: int
    runs: int
    seconds: float | None
    reused: bool

    @property
    def logs_per_second(self) -> float | None:
        """Logs written per second of generation, when it was timed."""
        return self.logs / self.seconds if self.seconds else None


def count_rows(engine: Engine) -> tuple[int, int]:
    """How many logs and runs the store holds."""
    with engine.connect() as connection:
        logs = connection.execute(text("SELECT count(*) FROM notification_logs")).scalar_one()
        runs = connection.execute(text("SELECT count(*) FROM notification_runs")).scalar_one()
    return int(logs), int(runs)


def generate(engine: Engine, logs: int) -> Generation:
    """Write a history of at least `logs` logs into an empty, migrated store, timed."""
    show(f"generating {logs:,} logs (seed {SEED}, 30 days ending {HISTORY_END:%Y-%m-%d}) …")
    started = time.perf_counter()
    spec = HistorySpec(runs=None, logs=logs, seed=SEED, end=HISTORY_END)
    written = write_history(engine, spec, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - started
    generation = Generation(written.logs, written.runs, seconds, reused=False)
    show(
        f"generated {written.logs:,} logs and {written.runs:,} runs in {seconds:.1f} s "
        f"({generation.logs_per_second or 0:,.0f} logs/s)"
    )
    return generation


# The code that decides what a generated store holds: its schema, its rows, its indexes.
STORE_SOURCES = (
    "generator/*.py",
    "migrations/versions/*.py",
    "logs/models.py",
    "logs/repository.py",
    "logs/tallies.py",
    "logs/run_tallies.py",
    "logs/search.py",
    "kit/orm.py",
    "kit/db.py",
)


def store_fingerprint() -> str:
    """A digest of the code that shapes a generated store, to tell a stale --db file."""
    package = Path(tidings.__file__).resolve().parent
    digest = hashlib.sha256(f"{SEED} {HISTORY_END.isoformat()}".encode())
    for pattern in STORE_SOURCES:
        for source in sorted(package.glob(pattern)):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".generation.json")


def _remove_store(path: Path) -> None:
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), _sidecar(path)):
        stale.unlink(missing_ok=True)


def _reusable(path: Path, logs: int) -> dict[str, Any] | None:
    """What the sidecar recorded, when `path` was built by this code with enough logs.

    A file this benchmark built but that is stale (other code, too few logs) is deleted; a
    file it did not build is never touched.
    """
    if not path.exists():
        return None
    if not _sidecar(path).exists():
        raise SystemExit(f"{path} was not built by this benchmark: give a new path for --db")
    recorded: dict[str, Any] = json.loads(_sidecar(path).read_text())
    if recorded.get("fingerprint") == store_fingerprint() and recorded.get("logs", 0) >= logs:
        return recorded
    why = (
        "the store code changed"
        if recorded.get("fingerprint") != store_fingerprint()
        else (f"it holds {recorded.get('logs', 0):,} logs")
    )
    show(f"rebuilding {path}: {why}")
    _remove_store(path)
    return None


def sqlite_generation(path: Path, logs: int) -> Generation:
    """Migrate the file and fill it, unless this code built it with at least `logs` logs."""
    recorded = _reusable(path, logs)
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        if recorded is not None:
            existing, runs = count_rows(engine)
            show(f"reusing {path}: {existing:,} logs, {runs:,} runs (generation not repeated)")
            return Generation(existing, runs, recorded["seconds"], reused=True)
        generation = generate(engine, logs)
        _sidecar(path).write_text(
            json.dumps(
                {
                    "logs": generation.logs,
                    "seconds": generation.seconds,
                    "fingerprint": store_fingerprint(),
                }
            )
        )
        return generation
    finally:
        engine.dispose()


def check_statistics(engine: Engine) -> None:
    """PostgreSQL plans on statistics: confirm the load analyzed the tables, else ANALYZE."""
    sql = (
        "SELECT relname, coalesce(last_analyze, last_autoanalyze) FROM pg_stat_user_tables "
        "WHERE relname IN ('notification_logs', 'notification_runs', 'notification_log_tallies')"
    )
    with engine.connect() as connection:
        analyzed: dict[str, datetime | None] = dict(connection.execute(text(sql)).tuples().all())
    if len(analyzed) == 3 and all(analyzed.values()):
        show(f"statistics: analyzed by the bulk load ({', '.join(sorted(analyzed))})")
        return
    show(f"statistics: missing for {sorted(k for k, v in analyzed.items() if not v)}; ANALYZE")
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


@contextmanager
def postgres_store(logs: int) -> Iterator[tuple[str, Generation]]:
    """A throwaway PostgreSQL server holding a generated history; its URL."""
    server = start_server()
    try:
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {PG_DATABASE}")
        admin.dispose()
        url = server.url(PG_DATABASE)
        engine = create_db_engine(url)
        upgrade(engine)
        generation = generate(engine, logs)
        check_statistics(engine)
        engine.dispose()
        yield url, generation
    finally:
        server.stop()


# Running a backend ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Everything one backend's run produced."""

    backend: str
    rows: int
    runs: int
    generation: Generation
    health_ms: float
    measurements: list[Measurement]


@contextmanager
def one_cpu(options: argparse.Namespace) -> Iterator[None]:
    """With --pin (the default), this process and the ones it starts meanwhile on one CPU,
    the lowest allowed (generation before and after keeps every CPU)."""
    if not options.pin or not hasattr(os, "sched_setaffinity"):
        yield
        return
    allowed = os.sched_getaffinity(0)
    options.pinned_cpu = min(allowed)
    os.sched_setaffinity(0, {options.pinned_cpu})
    show(f"pinned to CPU {options.pinned_cpu} with the server it starts (--no-pin: unpinned)")
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def benchmark(
    backend: str, url: str, generation: Generation, options: argparse.Namespace
) -> Outcome:
    """Serve the store, then measure every case; prints the table as it goes."""
    engine = create_db_engine(url)
    try:
        rows, runs = count_rows(engine)
        samples = pick_samples(engine)
        cases = [c for c in log_cases(samples) + run_cases(samples) if options.only in c.label]
        if not cases:
            raise SystemExit(f"no case label contains {options.only!r}")
        secret = create_api_key(engine)
        with one_cpu(options), serving(url) as port:
            client = ApiClient(port, secret)
            try:
                health_ms = health_latency_ms(client)
                show(f"\n{backend}: {rows:,} logs, {runs:,} runs; /healthz {health_ms:.2f} ms")
                bench = Bench(engine, client, options.repeat)
                warm_up(bench, cases, options.orders)
                measure(bench, cases, options.orders)
            finally:
                client.close()
        if options.explain:
            show_plans(engine, bench.measurements)
    finally:
        engine.dispose()
    return Outcome(backend, rows, runs, generation, health_ms, bench.measurements)


def show_plans(engine: Engine, measurements: list[Measurement]) -> None:
    """The plans and statement times of every measurement that misses a goal."""
    for m in measurements:
        if m.misses():
            show(f"\n{m.name}: {' '.join(m.misses())}")
            page = PageRequest(page=m.page, page_size=DEFAULT_PAGE_SIZE, order=m.order)
            for line in explain(engine, m.case, page):
                show(line)


# Reporting ---------------------------------------------------------------------------------------


def _worst(measurements: list[Measurement], key: Callable[[Measurement], float]) -> Measurement:
    return max(measurements, key=key)


def figures(outcome: Outcome, prefix: str) -> dict[str, Any]:
    """The summary figures of one backend, keys prefixed for all but SQLite."""
    page0 = [m for m in outcome.measurements if m.page == 0]
    slowest = _worst(page0, lambda m: m.api_ms)
    widest = _worst(outcome.measurements, lambda m: m.ratio)
    generation = outcome.generation
    return {
        f"{prefix}rows": outcome.rows,
        f"{prefix}runs": outcome.runs,
        f"{prefix}generation_seconds": _rounded(generation.seconds, 1),
        f"{prefix}generation_logs_per_s": _rounded(generation.logs_per_second, 0),
        f"{prefix}generation_reused": generation.reused,
        f"{prefix}healthz_median_ms": round(outcome.health_ms, 2),
        f"{prefix}worst_page0_median_ms": round(slowest.api_ms, 2),
        f"{prefix}worst_page0_case": slowest.name,
        f"{prefix}worst_ratio_to_sql": round(widest.ratio, 2),
        f"{prefix}worst_ratio_case": widest.name,
        f"{prefix}median_ratio_to_sql": round(
            statistics.median(m.ratio for m in outcome.measurements), 2
        ),
        f"{prefix}page0_over_goal": sum(1 for m in page0 if m.api_ms > PAGE0_GOAL_MS),
        f"{prefix}ratio_over_goal": sum(1 for m in outcome.measurements if m.ratio > RATIO_GOAL),
        f"{prefix}cases": len(outcome.measurements),
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def show_summary(outcome: Outcome) -> None:
    """A few readable lines on one backend's results."""
    summary = figures(outcome, "")
    generated = (
        "reused, generation time not recorded"
        if summary["generation_seconds"] is None
        else f"{summary['generation_seconds']} s, {summary['generation_logs_per_s']:,.0f} logs/s"
        + (" (recorded when the file was built)" if outcome.generation.reused else "")
    )
    show(f"\n{outcome.backend} summary ({summary['rows']:,} logs; generation: {generated})")
    show(
        f"  worst page-0 median: {summary['worst_page0_median_ms']} ms — "
        f"{summary['worst_page0_case']}"
    )
    show(f"  worst API/SQL ratio: {summary['worst_ratio_to_sql']} — {summary['worst_ratio_case']}")
    show(
        f"  median API/SQL ratio: {summary['median_ratio_to_sql']}; "
        f"/healthz median {summary['healthz_median_ms']} ms"
    )
    show(
        f"  page 0 over {PAGE0_GOAL_MS:.0f} ms: {summary['page0_over_goal']} of "
        f"{sum(1 for m in outcome.measurements if m.page == 0)}"
    )
    show(f"  ratio over {RATIO_GOAL}: {summary['ratio_over_goal']} of {summary['cases']}")


def final_figures(
    sqlite: Outcome, postgres: Outcome | None, repeat: int, pinned_cpu: int | None
) -> dict[str, Any]:
    """The last line: the SQLite figures, and the PostgreSQL ones when measured."""
    result = {
        "sqlite_rows": sqlite.rows,
        "sqlite_runs": sqlite.runs,
        **{k: v for k, v in figures(sqlite, "").items() if k not in ("rows", "runs")},
        "repeat": repeat,
        "pinned_cpu": pinned_cpu,
        "page0_goal_ms": PAGE0_GOAL_MS,
        "ratio_goal": RATIO_GOAL,
    }
    if postgres is not None:
        result.update(figures(postgres, "postgres_"))
    return result


# Command line -----------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, help="logs in the SQLite store (default 1,000,000)")
    parser.add_argument("--postgres", action="store_true", help="also measure PostgreSQL")
    parser.add_argument(
        "--pg-url",
        help="with --postgres: measure this migrated, generated PostgreSQL store instead of "
        "building one (it is not changed, and generation is not timed)",
    )
    parser.add_argument(
        "--pg-logs", type=int, help="logs in the PostgreSQL store (default 10,000,000)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help=f"timed requests per case (default {DEFAULT_REPEAT}; fewer, at least "
        f"{MIN_REPEAT}, for a case still sampling after {CASE_BUDGET_S:.0f} s)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite file to keep and reuse (rebuilt when too small or built by older code)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 100,000 logs, DESC only, 5 repeats"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the query plan and statement times of every case that misses a goal",
    )
    parser.add_argument("--only", default="", help="only cases whose label contains this text")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the benchmark and the servers it starts on one CPU (default: pinned)",
    )
    options = parser.parse_args(argv)
    quick = options.quick
    options.logs = options.logs or (100_000 if quick else 1_000_000)
    options.pg_logs = options.pg_logs or (options.logs if quick else 10_000_000)
    options.repeat = options.repeat or (5 if quick else DEFAULT_REPEAT)
    options.orders = (SortOrder.DESC,) if quick else (SortOrder.DESC, SortOrder.ASC)
    options.pinned_cpu = None
    return options


def run_sqlite(options: argparse.Namespace) -> Outcome:
    """Build or reuse the SQLite store and measure it; temporary files are removed."""
    scratch = None if options.db else Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    path = options.db.resolve() if scratch is None else scratch / "tidings.db"
    try:
        generation = sqlite_generation(path, options.logs)
        return benchmark("sqlite", f"sqlite:///{path}", generation, options)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def run_postgres(options: argparse.Namespace) -> Outcome:
    """Build a throwaway PostgreSQL store and measure it, or measure the one given."""
    if options.pg_url is not None:
        engine = create_db_engine(options.pg_url)
        rows, runs = count_rows(engine)
        engine.dispose()
        show(f"measuring the PostgreSQL store given ({rows:,} logs, {runs:,} runs)")
        return benchmark("postgresql", options.pg_url, Generation(rows, runs, None, True), options)
    with postgres_store(options.pg_logs) as (url, generation):
        return benchmark("postgresql", url, generation, options)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark; the last line printed is the JSON figures."""
    options = parse_options(argv)
    sqlite = run_sqlite(options)
    show_summary(sqlite)
    postgres = None
    if options.postgres:
        postgres = run_postgres(options)
        show_summary(postgres)
    show(json.dumps(final_figures(sqlite, postgres, options.repeat, options.pinned_cpu)))


if __name__ == "__main__":
    main()

"""Seconds from an event's POST to its settled runs, and the server's peak memory, by size.

For each recipient count N, builds a SQLite store and imports a generated catalog into it:
N users (a `tidings/v1` file), one Cortex team whose members they all are, one service the
team owns with a Slack channel, and a scorecard that applies to it. A fresh `tidings serve`
(embedded runner, outbox medium) then serves the store on 127.0.0.1; one SERVICE_REEVALUATED
event about the service is POSTed, and the runs it created are polled until every one is
settled. The server's peak resident memory (VmHWM) is read from /proc once they are.

The goal (issue 3): memory must not grow with the recipient count. The last line of output
is one JSON object with the figures.
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from tidings.auth import service as keys_service
from tidings.auth.permissions import Permission
from tidings.catalog.service import import_catalog
from tidings.kit.db import create_db_engine, session_factory
from tidings.kit.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the test suite's free_port

from tests.support.postgres import free_port  # noqa: E402

SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
TEAM_TAG = "everyone"
SERVICE_TAG = "reevaluated-service"
SCORECARD_TAG = "production-readiness"
EVENT = {
    "type": "SERVICE_REEVALUATED",
    "objects": [
        {"type": "ENTITY", "tag": SERVICE_TAG},
        {"type": "SCORECARD", "tag": SCORECARD_TAG},
    ],
    "data": {"score": 72, "previousScore": 80},
}
EVENTS_PATH = "/api/v1/notifications/events"
RUNS_PATH = "/api/v1/notifications/logs/run"
POLL_S = 0.25
PROGRESS_EVERY_S = 15.0
HEALTH_TIMEOUT_S = 120.0
MEMORY_FIELDS = ("VmHWM", "VmRSS", "RssAnon", "RssFile")


def show(line: str = "") -> None:
    """Print a line at once, so long runs show progress when piped."""
    print(line, flush=True)


def label(size: int) -> str:
    """10000 -> 10k, as the JSON keys name sizes."""
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


# The catalog -----------------------------------------------------------------------------------


def _email(index: int) -> str:
    return f"user{index:06d}@example.com"


def write_catalog(directory: Path, size: int) -> Path:
    """The catalog files for `size` recipients; returns their directory."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "people.yaml").open("w") as people:
        people.write("kind: tidings/v1\nusers:\n")
        for index in range(size):
            people.write(
                f"  - email: {_email(index)}\n    name: User {index}\n"
                f"    slackUserId: U{index:08d}\n    teamsUserId: 29:{index:08d}-teams\n"
            )
    with (directory / "team.yaml").open("w") as team:
        team.write(
            "openapi: 3.0.1\ninfo:\n  title: Everyone\n"
            f"  x-cortex-tag: {TEAM_TAG}\n  x-cortex-type: team\n  x-cortex-team:\n    members:\n"
        )
        for index in range(size):
            team.write(f"      - {{name: User {index}, email: {_email(index)}}}\n")
    (directory / "service.yaml").write_text(
        "openapi: 3.0.1\ninfo:\n  title: Reevaluated Service\n"
        f"  x-cortex-tag: {SERVICE_TAG}\n  x-cortex-type: service\n  x-cortex-owners:\n"
        f"    - {{type: group, name: {TEAM_TAG}, provider: CORTEX}}\n"
        "  x-cortex-slack:\n    channels:\n      - {name: service-alerts}\n"
    )
    (directory / "scorecard.yaml").write_text(
        "kind: tidings/v1\nscorecards:\n"
        f"  - tag: {SCORECARD_TAG}\n    name: Production Readiness\n"
        "    appliesTo: {types: [service]}\n"
    )
    return directory


def build_store(directory: Path, catalog: Path) -> tuple[str, float]:
    """A migrated SQLite store holding the catalog; its URL and import seconds."""
    url = f"sqlite:///{directory / 'tidings.db'}"
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        for outcome in import_catalog(engine, [catalog]):
            if not outcome.imported:
                problems = "; ".join(error.render(str(outcome.path)) for error in outcome.errors)
                raise RuntimeError(f"the generated catalog did not import: {problems}")
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return url, seconds


def create_api_key(url: str) -> str:
    """A key that may send events and read the logs, valid for a day; its secret."""
    engine: Engine = create_db_engine(url)
    now = datetime.now(UTC)
    try:
        with session_factory(engine).begin() as session:
            created = keys_service.create_key(
                session,
                f"engine benchmark {now:%Y-%m-%d %H:%M:%S}",
                [Permission.SEND_NOTIFICATIONS, Permission.VIEW_NOTIFICATION_LOGS],
                now,
                expires_at=now + timedelta(days=1),
            )
    finally:
        engine.dispose()
    return created.secret


# The server and its memory -----------------------------------------------------------------------


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM (peak resident), VmRSS, RssAnon and RssFile of a process, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in MEMORY_FIELDS:
            found[name] = int(value.split()[0])
    return found


def _output(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def _wait_until_healthy(port: int, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{_output(log)}")
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


@dataclass
class Server:
    """A `tidings serve` subprocess: its port and process id."""

    port: int
    pid: int
    log: IO[bytes]

    def output(self) -> str:
        """The end of what the server printed."""
        return _output(self.log)


@contextmanager
def serving(url: str) -> Iterator[Server]:
    """A fresh `tidings serve` with its embedded runner (no scheduler) on a free loopback port."""
    port = free_port()
    environment = {
        **os.environ,
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_RATE_LIMIT_PER_MINUTE": str(10**9),
    }
    # No schedules: their runs (the benchmark key's expiry reminder) would share the runner.
    command = [sys.executable, "-m", "tidings", "serve", "--host", "127.0.0.1", "--no-schedules"]
    command += ["--port", str(port), "--log-level", "warning"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_healthy(port, process, log)
            yield Server(port, process.pid, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class ApiClient:
    """One keep-alive HTTP/1.1 connection to the server under test."""

    def __init__(self, port: int, secret: str) -> None:
        self._headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, method: str, target: str, body: dict[str, Any] | None = None) -> Any:
        """Send a request; the JSON body of a 2xx answer."""
        headers = dict(self._headers)
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for _attempt in range(2):
            try:
                self._connection.request(method, target, body=payload, headers=headers)
                response = self._connection.getresponse()
                data = response.read()
            except ConnectionError:
                self._connection.close()  # an idle keep-alive connection was closed: reopen
                continue
            if not 200 <= response.status < 300:
                raise RuntimeError(f"{method} {target} answered {response.status}: {data[:300]!r}")
            return json.loads(data)
        raise RuntimeError(f"{method} {target}: the server closed the connection twice")

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


# Measuring -------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One event of `size` recipients, from the POST to its settled runs."""

    size: int
    import_seconds: float
    answer_ms: float = 0.0
    seconds: float = 0.0
    settled_after: dict[str, float] = field(default_factory=dict)  # medium -> seconds
    runs: list[dict[str, Any]] = field(default_factory=list)  # the settled run details
    idle_rss_kb: int = 0
    peak_rss_kb: int = 0  # VmHWM: the kernel's high-water mark of resident memory
    peak_anon_kb: int = 0  # sampled every poll: heap and stacks, not file-backed pages
    peak_file_kb: int = 0  # sampled: file-backed resident pages (the mmap'd store, libraries)

    @property
    def logs(self) -> int:
        """Logs the event's runs wrote."""
        return sum(int(run["total"]) for run in self.runs)

    @property
    def delivered(self) -> int:
        """Logs delivered, over every run."""
        return sum(int(run["deliveredCount"]) for run in self.runs)


def _sample(server: Server, measurement: Measurement) -> None:
    memory = memory_kb(server.pid)
    measurement.peak_anon_kb = max(measurement.peak_anon_kb, memory.get("RssAnon", 0))
    measurement.peak_file_kb = max(measurement.peak_file_kb, memory.get("RssFile", 0))


def _run_statuses(client: ApiClient, run_ids: set[int]) -> dict[int, dict[str, Any]]:
    page = client.call("GET", f"{RUNS_PATH}?deliveredOnly=false&pageSize=250")
    return {int(run["id"]): run for run in page["runs"] if int(run["id"]) in run_ids}


def wait_settled(
    client: ApiClient,
    server: Server,
    measurement: Measurement,
    run_ids: set[int],
    started: float,
    timeout: float,
) -> None:
    """Poll the runs list until no run of the event is CREATED, sampling memory meanwhile."""
    deadline, next_progress = started + timeout, started + PROGRESS_EVERY_S
    while True:
        _sample(server, measurement)
        runs = _run_statuses(client, run_ids)
        now = time.perf_counter()
        for run in runs.values():
            if run["status"] != "CREATED" and run["medium"] not in measurement.settled_after:
                measurement.settled_after[run["medium"]] = now - started
                show(f"  {now - started:7.1f} s  run {run['id']} {run['medium']} {run['status']}")
        if len(runs) == len(run_ids) and all(r["status"] != "CREATED" for r in runs.values()):
            measurement.seconds = now - started
            return
        if now > deadline:
            raise RuntimeError(f"runs not settled after {now - started:.0f} s:\n{server.output()}")
        if now > next_progress:
            next_progress += PROGRESS_EVERY_S
            rss = memory_kb(server.pid)
            show(
                f"  {now - started:7.1f} s  waiting; server RSS {rss.get('VmRSS', 0) / 1024:.0f} MB"
                f" (anon {rss.get('RssAnon', 0) / 1024:.0f} MB)"
            )
        time.sleep(POLL_S)


def measure(directory: Path, size: int, timeout: float) -> Measurement:
    """Build the store for `size` recipients, serve it fresh, send the event, wait."""
    show(f"\n{size:,} recipients: writing and importing the catalog in {directory}")
    url, import_seconds = build_store(directory, write_catalog(directory / "catalog", size))
    show(f"  imported in {import_seconds:.1f} s")
    secret = create_api_key(url)
    measurement = Measurement(size, import_seconds)
    with serving(url) as server:
        client = ApiClient(server.port, secret)
        try:
            measurement.idle_rss_kb = memory_kb(server.pid).get("VmRSS", 0)
            started = time.perf_counter()
            answer = client.call("POST", EVENTS_PATH, EVENT)
            measurement.answer_ms = (time.perf_counter() - started) * 1000
            run_ids = {int(run["id"]) for run in answer["runs"]}
            wait_settled(client, server, measurement, run_ids, started, timeout)
            measurement.peak_rss_kb = memory_kb(server.pid).get("VmHWM", 0)
            _sample(server, measurement)
            measurement.runs = [
                client.call("GET", f"{RUNS_PATH}/{run_id}?pageSize=1") for run_id in sorted(run_ids)
            ]
        finally:
            client.close()
    return measurement


# Reporting -------------------------------------------------------------------------------------


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def show_table(measurements: Sequence[Measurement]) -> None:
    """One row per size, then one row per run."""
    show()
    show(
        f"{'recipients':>10} {'import s':>9} {'answer ms':>10} {'settled s':>10} {'logs':>8} "
        f"{'delivered':>10} {'idle MB':>8} {'peak MB':>8} {'anon MB':>8} {'file MB':>8}"
    )
    for m in measurements:
        show(
            f"{m.size:>10,} {m.import_seconds:>9.1f} {m.answer_ms:>10.0f} {m.seconds:>10.1f} "
            f"{m.logs:>8,} {m.delivered:>10,} {_mb(m.idle_rss_kb):>8.1f} "
            f"{_mb(m.peak_rss_kb):>8.1f} {_mb(m.peak_anon_kb):>8.1f} {_mb(m.peak_file_kb):>8.1f}"
        )
    show()
    show(
        f"{'recipients':>10} {'run':>6} {'medium':<16} {'status':<22} {'logs':>8} {'settled s':>10}"
    )
    for m in measurements:
        for run in m.runs:
            counts = ", ".join(
                "/".join(filter(None, (item["status"], item.get("reason")))) + f" {item['count']}"
                for item in run["logCounts"]
            )
            show(
                f"{m.size:>10,} {run['id']:>6} {run['medium']:<16} {run['status']:<22} "
                f"{run['total']:>8,} {m.settled_after.get(run['medium'], 0.0):>10.1f}  {counts}"
            )


def figures(measurements: Sequence[Measurement]) -> dict[str, Any]:
    """The JSON figures, keyed by size (seconds_10k, peak_rss_mb_100k, ...)."""
    result: dict[str, Any] = {}
    for m in measurements:
        key = label(m.size)
        result[f"seconds_{key}"] = round(m.seconds, 2)
        result[f"peak_rss_mb_{key}"] = _mb(m.peak_rss_kb)
        result[f"logs_{key}"] = m.logs
        result[f"delivered_{key}"] = m.delivered
        result[f"idle_rss_mb_{key}"] = _mb(m.idle_rss_kb)
        result[f"peak_anon_mb_{key}"] = _mb(m.peak_anon_kb)
        result[f"peak_file_mb_{key}"] = _mb(m.peak_file_kb)
        result[f"answer_ms_{key}"] = round(m.answer_ms, 1)
        result[f"import_seconds_{key}"] = round(m.import_seconds, 1)
        result[f"logs_per_second_{key}"] = round(m.logs / m.seconds) if m.seconds else None
    small, large = measurements[0], measurements[-1]
    result["rss_growth_mb"] = round(_mb(large.peak_rss_kb) - _mb(small.peak_rss_kb), 1)
    result["anon_growth_mb"] = round(_mb(large.peak_anon_kb) - _mb(small.peak_anon_kb), 1)
    result["sizes"] = [m.size for m in measurements]
    return result


# Command line ----------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="1,000 and 10,000 recipients (default 10k and 100k)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the catalogs and stores under DIR/<N>/ and keep them (replacing old ones)",
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to wait for one event to settle"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark; the last line printed is the JSON figures."""
    options = parse_options(argv)
    sizes = QUICK_SIZES if options.quick else SIZES
    base = options.keep.resolve() if options.keep else Path(tempfile.mkdtemp(prefix="tidings-"))
    measurements = []
    try:
        for size in sizes:
            directory = base / str(size)
            if directory.exists():
                shutil.rmtree(directory)
            measurements.append(measure(directory, size, options.timeout))
    finally:
        if options.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    show_table(measurements)
    show(json.dumps(figures(measurements)))


if __name__ == "__main__":
    main()

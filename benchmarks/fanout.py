"""Deliveries per second of one webhook run to 10,000 recipients, against the receiver's raw
capacity and Apprise; then the time a paced Slack channel takes through a burst of 429s.

The receiver is the webhook emulator (`tidings.emulators`), served by a separate process (in the
sender's process a shared GIL halves its rate), on 127.0.0.1 with free ports; it checks every
Standard Webhooks signature. The sender is tidings as a process runs it: a `Runtime` from
`Settings`, its embedded runner, a file-backed SQLite store (WAL, synchronous NORMAL).

1. Fan-out. A catalog of one team owning one service with N webhooks (`hook-00001`...) is
   imported; one BROKEN_OPEN_API_SPEC event about the service makes a WEBHOOK run of N logs.
   Timed from `submit_event` to the run settled; the delivery stage runs from the run's
   `expanded_at` to that moment. The receiver must hold N distinct webhook-ids, all signed.
2. Raw capacity (a): a bare aiohttp client posts the same N bodies, signed, at the same
   concurrency (64) to the same receiver.
3. Apprise (b): one `Apprise.notify()` to N `json://` URLs of a second receiver, the same
   emulator with signatures not required (Apprise does not sign). That is Apprise's own fan-out:
   its worker-thread pool, one `requests` call per URL.
4. Paced Slack: N runs each posting to one Slack channel paced at 1 message a second, the first
   3 posts answered `ratelimited` with Retry-After 2 s; total time against the theoretical
   minimum, (N - 1) s of pacing plus the 429 waits, which cannot overlap.

Goals (issue 4, item 9): deliveries at least 50 % of (a) and at least 4 times (b); the paced
run within 10 % of its minimum. The last line printed is one JSON object with the figures.
"""

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson
from sqlalchemy import Engine, event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import build_store, show
from tidings.channels.base import Answered, Attempt, Channel, OutgoingMessage
from tidings.emulators import EmulatorSuite, SlackChannel
from tidings.emulators.received import Received
from tidings.engine import flows
from tidings.engine import repository as engine_repository
from tidings.engine.schemas import EventIn
from tidings.enums import Medium, RunStatus
from tidings.kit.standard_webhooks import signature_headers
from tidings.logs.repository import logs
from tidings.runtime import Runtime
from tidings.settings import Settings

RECIPIENTS = 10_000
QUICK_RECIPIENTS = 2_000
PACED_MESSAGES = 12
QUICK_PACED_MESSAGES = 5
CONCURRENCY = 64  # the webhook medium's default, and the raw client's
TEAM_TAG = "fanout-team"
SERVICE_TAG = "fanout-service"
PACED_TAG = "paced-service"
PACED_CHANNEL = "paced-alerts"
PACED_PER_SECOND = 1.0
BURST = 3  # 429s in a row
RETRY_AFTER_S = 2
EVENT_TYPE = "BROKEN_OPEN_API_SPEC"
PUBLIC_URL = "http://127.0.0.1:8000"
RECEIVER_START_S = 60.0
SETTLE_TIMEOUT_S = 1800.0
# A delivery attempt may start this much before its slot and still count as on time: the
# pacer sleeps on the event loop's clock, the attempt is stamped with the wall clock.
PACING_SLACK_S = 0.05


# The receiver process ---------------------------------------------------------------------------


def serve_receiver(require_signature: bool, keep: int) -> None:
    """Run the emulators (this is the receiver process) and print where they listen."""
    suite = EmulatorSuite(
        webhook_require_signature=require_signature,
        slack_channels=[SlackChannel(PACED_CHANNEL)],
    )
    # Keep every delivery of the run, so each webhook-id can be checked afterwards.
    suite.webhook.received = Received(keep=max(keep, 1), clock=suite.webhook.clock)
    suite.start()
    where = {
        "webhook": suite.base_url("webhook"),
        "secret": suite.webhook_secret,
        "slack": suite.base_url("slack"),
        "slack_api": suite.slack_url,
        "slack_token": suite.slack_token,
    }
    show(json.dumps(where))  # the parent waits for this line
    suite.wait()


@dataclass
class Receiver:
    """An emulator process: where its webhook and Slack emulators listen, and its secret."""

    webhook: str
    secret: str
    slack: str
    slack_api: str
    slack_token: str
    pid: int

    def hook_url(self, name: str) -> str:
        """The URL of one webhook receiver."""
        return f"{self.webhook}/hooks/{name}"

    def received(self, emulator: str = "webhook") -> list[dict[str, Any]]:
        """What the emulator recorded since the last reset."""
        base = self.webhook if emulator == "webhook" else self.slack
        with urllib.request.urlopen(f"{base}/_emulator/received", timeout=120) as answer:
            items: list[dict[str, Any]] = orjson.loads(answer.read())
        return items

    def forget(self) -> None:
        """Forget what the webhook emulator received."""
        request = urllib.request.Request(f"{self.webhook}/_emulator/received", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()

    def add_slack_faults(self, rules: Sequence[Mapping[str, Any]]) -> None:
        """Plan faults of the Slack emulator."""
        request = urllib.request.Request(
            f"{self.slack}/_emulator/faults", data=orjson.dumps(list(rules)), method="POST"
        )
        urllib.request.urlopen(request, timeout=30).close()


def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _output(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


@contextmanager
def receiving(require_signature: bool, keep: int) -> Iterator[Receiver]:
    """A receiver process (this file with --serve-receiver) until the block ends."""
    mode = "signed" if require_signature else "unsigned"
    command = [sys.executable, __file__, "--serve-receiver", mode, "--receiver-keep", str(keep)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # the child prints once it accepts connections
            if not line:
                process.wait(timeout=RECEIVER_START_S)
                raise RuntimeError(f"the receiver did not start:\n{_output(log)}")
            yield Receiver(**json.loads(line), pid=process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# Stores and catalogs ----------------------------------------------------------------------------


def hook_names(count: int) -> list[str]:
    """hook-00001, hook-00002, ..."""
    width = max(5, len(str(count)))
    return [f"hook-{index:0{width}d}" for index in range(1, count + 1)]


def write_fanout_catalog(directory: Path, receiver: Receiver, count: int) -> Path:
    """A team owning a service that declares `count` webhooks at the receiver."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "team.yaml").write_text(
        "openapi: 3.0.1\ninfo:\n  title: Fan-out Team\n"
        f"  x-cortex-tag: {TEAM_TAG}\n  x-cortex-type: team\n"
    )
    with (directory / "service.yaml").open("w") as service:
        service.write(
            "openapi: 3.0.1\ninfo:\n  title: Fan-out Service\n"
            f"  x-cortex-tag: {SERVICE_TAG}\n  x-cortex-type: service\n  x-cortex-owners:\n"
            f"    - {{type: group, name: {TEAM_TAG}, provider: CORTEX}}\n"
            "  x-tidings-webhooks:\n"
        )
        for name in hook_names(count):
            service.write(f'    - {{name: {name}, url: "{receiver.hook_url(name)}"}}\n')
    return directory


def write_paced_catalog(directory: Path) -> Path:
    """A service with one Slack channel and no owners: each event posts one message there."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "service.yaml").write_text(
        "openapi: 3.0.1\ninfo:\n  title: Paced Service\n"
        f"  x-cortex-tag: {PACED_TAG}\n  x-cortex-type: service\n"
        f"  x-cortex-slack:\n    channels:\n      - {{name: {PACED_CHANNEL}}}\n"
    )
    return directory


def event_about(tag: str) -> EventIn:
    """A BROKEN_OPEN_API_SPEC event about one entity."""
    return EventIn.model_validate(
        {
            "type": EVENT_TYPE,
            "objects": [{"type": "ENTITY", "tag": tag}],
            "data": {"spec": "openapi.yaml"},
        }
    )


# Where the sender's time goes -------------------------------------------------------------------


@dataclass(frozen=True)
class TimedBatch:
    """One batch a medium sent: when (perf_counter), its size, and the CPU of the sending
    thread and of the whole process (the store's thread and any other) at both ends."""

    start: float
    end: float
    size: int
    cpu_start: float
    cpu_end: float
    process_cpu_start: float
    process_cpu_end: float


class TimedChannel:
    """A medium that times each batch its wrapped medium sends."""

    def __init__(self, inner: Channel) -> None:
        self.medium = inner.medium
        self._inner = inner
        self.batches: list[TimedBatch] = []

    async def send_batch(
        self, messages: Sequence[OutgoingMessage], answered: Answered | None = None
    ) -> list[Attempt]:
        """Send through the wrapped medium, noting when the batch started and ended."""
        started, cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
        try:
            return await self._inner.send_batch(messages, answered)
        finally:
            ended = TimedBatch(
                started,
                time.perf_counter(),
                len(messages),
                cpu,
                time.thread_time(),
                process_cpu,
                time.process_time(),
            )
            self.batches.append(ended)

    async def close(self) -> None:
        """Close the wrapped medium."""
        await self._inner.close()


@dataclass
class SqlTimes:
    """Every statement the sender's engine ran: (perf_counter start, seconds, is a read)."""

    statements: list[tuple[float, float, bool]] = field(default_factory=list)

    def watch(self, engine: Engine) -> None:
        """Time each statement `engine` executes from now on."""

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            conn.info["fanout_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            started = conn.info.pop("fanout_started", None)
            if started is not None:
                is_read = statement.lstrip()[:6].upper() == "SELECT"
                self.statements.append((started, time.perf_counter() - started, is_read))

    def between(self, start: float, end: float) -> tuple[float, float, int]:
        """Seconds of reads, seconds of writes, and statements, that began in [start, end)."""
        inside = [s for s in self.statements if start <= s[0] < end]
        reads = sum(seconds for _, seconds, is_read in inside if is_read)
        writes = sum(seconds for _, seconds, is_read in inside if not is_read)
        return reads, writes, len(inside)


@dataclass
class Breakdown:
    """The delivery stage split: sending, the gaps between batches, and SQL inside them."""

    batches: int = 0
    send_s: float = 0.0
    between_s: float = 0.0  # from a batch's end to the next one's start: the store's turn
    head_s: float = 0.0  # from expanded_at to the first batch
    tail_s: float = 0.0  # from the last batch to the run settled
    sql_read_s: float = 0.0
    sql_write_s: float = 0.0
    statements: int = 0
    slowest_batch_rate: float = 0.0
    fastest_batch_rate: float = 0.0
    # From the first batch's start to the last one's end: the runner thread's CPU, the whole
    # process's (the runner's, the store thread's, and the main thread's, idle meanwhile),
    # and that span.
    sender_cpu_s: float = 0.0
    sender_process_cpu_s: float = 0.0
    sending_s: float = 0.0


def breakdown(
    channel: TimedChannel, sql: SqlTimes, delivery_start: float, delivery_end: float
) -> Breakdown:
    """Where the delivery stage's time went, from the batches and statements timed."""
    batches = sorted(channel.batches, key=lambda batch: batch.start)
    if not batches:
        return Breakdown()
    rates = [b.size / (b.end - b.start) for b in batches if b.end > b.start]
    reads, writes, statements = sql.between(delivery_start, delivery_end)
    return Breakdown(
        batches=len(batches),
        send_s=sum(b.end - b.start for b in batches),
        between_s=sum(nxt.start - cur.end for cur, nxt in itertools.pairwise(batches)),
        head_s=batches[0].start - delivery_start,
        tail_s=delivery_end - batches[-1].end,
        sql_read_s=reads,
        sql_write_s=writes,
        statements=statements,
        slowest_batch_rate=min(rates, default=0.0),
        fastest_batch_rate=max(rates, default=0.0),
        sender_cpu_s=batches[-1].cpu_end - batches[0].cpu_start,
        sender_process_cpu_s=batches[-1].process_cpu_end - batches[0].process_cpu_start,
        sending_s=batches[-1].end - batches[0].start,
    )


# 1. The fan-out through tidings -----------------------------------------------------------------


@dataclass
class FanOut:
    """One webhook run of `size` logs, through tidings."""

    size: int
    import_s: float = 0.0
    submit_ms: float = 0.0
    expansion_s: float = 0.0  # from submit_event to the run's expanded_at
    delivery_s: float = 0.0  # from expanded_at to the run settled
    end_to_end_s: float = 0.0
    status: str = ""
    delivered: int = 0
    received: int = 0
    distinct_ids: int = 0
    valid_signatures: int = 0
    receiver_cpu_s: float = 0.0
    body_sizes: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    profile: Breakdown = field(default_factory=Breakdown)

    @property
    def deliveries_per_s(self) -> float:
        """Logs delivered per second of the delivery stage."""
        return self.delivered / self.delivery_s if self.delivery_s else 0.0

    @property
    def end_to_end_per_s(self) -> float:
        """Logs delivered per second from the event's submission."""
        return self.delivered / self.end_to_end_s if self.end_to_end_s else 0.0


def sender_settings(url: str, receiver: Receiver, **values: Any) -> Settings:
    """tidings' settings for a store, delivering to the receiver (never to the .env file's)."""
    return Settings(
        _env_file=None,
        database_url=url,
        webhook_signing_secret=receiver.secret,
        webhook_allowed_networks="127.0.0.0/8",
        webhook_concurrency=CONCURRENCY,
        **values,
    )


def _since(instant: datetime, wall: float) -> float:
    """Seconds from the wall-clock `wall` (time.time()) to `instant`."""
    moment = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return moment.timestamp() - wall


def fan_out(directory: Path, receiver: Receiver, size: int) -> FanOut:
    """Import the catalog, send the event through the embedded runner, wait, and check."""
    result = FanOut(size)
    show(f"\nFan-out: {size:,} webhooks, writing and importing the catalog in {directory}")
    catalog = write_fanout_catalog(directory / "catalog", receiver, size)
    url, result.import_s = build_store(directory, catalog)
    show(f"  imported in {result.import_s:.1f} s")
    runtime = Runtime.from_settings(sender_settings(url, receiver))
    timed = TimedChannel(runtime.channels[Medium.WEBHOOK])
    runtime.channels = {**runtime.channels, Medium.WEBHOOK: timed}
    sql = SqlTimes()
    sql.watch(runtime.work_engine)
    assert runtime.runner is not None
    try:
        runtime.runner.start()
        runtime.runner.wait_idle(60)  # the runner's start-up look for unfinished runs
        receiver.forget()
        receiver_cpu = process_cpu_s(receiver.pid)
        wall, started = time.time(), time.perf_counter()
        answer, queued = flows.submit_event(
            runtime.engine, event_about(SERVICE_TAG), PUBLIC_URL, runtime.clock
        )
        result.submit_ms = (time.perf_counter() - started) * 1000
        runtime.runner.submit_runs(queued)
        if not runtime.runner.wait_idle(SETTLE_TIMEOUT_S):
            raise RuntimeError(f"the runs did not settle within {SETTLE_TIMEOUT_S:.0f} s")
        ended = time.perf_counter()
        result.end_to_end_s = ended - started
        result.receiver_cpu_s = process_cpu_s(receiver.pid) - receiver_cpu
        [webhook_run] = [run.id for run in answer.runs if run.medium is Medium.WEBHOOK]
        with runtime.engine.connect() as connection:
            run = engine_repository.run_by_id(connection, webhook_run)
            delivered = connection.execute(
                select(func.count())
                .select_from(logs)
                .where(logs.c.run_id == webhook_run, logs.c.status == "DELIVERED")
            ).scalar_one()
        assert run is not None
        assert run.expanded_at is not None
        result.status, result.delivered = run.status.value, int(delivered)
        result.expansion_s = _since(run.expanded_at, wall)
        result.delivery_s = result.end_to_end_s - result.expansion_s
        delivery_start = started + result.expansion_s
        result.profile = breakdown(timed, sql, delivery_start, ended)
    finally:
        runtime.close()
    check_received(receiver, result)
    return result


def check_received(receiver: Receiver, result: FanOut) -> None:
    """Count what the receiver holds: deliveries, distinct webhook-ids, valid signatures."""
    items = [item for item in receiver.received() if item["hook"].startswith("hook-")]
    result.received = len(items)
    result.distinct_ids = len({item["webhook_id"] for item in items})
    result.valid_signatures = sum(1 for item in items if item["signature_valid"])
    result.bodies = [orjson.dumps(item["body"]) for item in items]
    result.body_sizes = [len(body) for body in result.bodies]
    show(
        f"  receiver: {result.received:,} deliveries, {result.distinct_ids:,} distinct "
        f"webhook-ids, {result.valid_signatures:,} valid signatures"
    )


# 2. The receiver's raw capacity -----------------------------------------------------------------


@dataclass
class RawCapacity:
    """N signed posts by a bare aiohttp client at the sender's concurrency."""

    requests: int = 0
    seconds: float = 0.0
    ok: int = 0
    received: int = 0
    valid_signatures: int = 0
    client_cpu_s: float = 0.0
    receiver_cpu_s: float = 0.0

    @property
    def per_s(self) -> float:
        """Requests answered 2xx per second."""
        return self.ok / self.seconds if self.seconds else 0.0


async def _post_all(
    urls: Sequence[str], bodies: Sequence[bytes], headers: Sequence[dict[str, str]]
) -> tuple[int, float]:
    next_index = itertools.count()
    ok = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal ok
        while (index := next(next_index)) < len(urls):
            async with session.post(urls[index], data=bodies[index], headers=headers[index]) as r:
                await r.read()
                ok += 200 <= r.status < 300

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
        return ok, time.perf_counter() - started


def raw_capacity(receiver: Receiver, bodies: Sequence[bytes]) -> RawCapacity:
    """Post the bodies, each signed beforehand, to the receiver; count what it took."""
    show(f"\nRaw capacity: a bare aiohttp client, {len(bodies):,} signed posts at {CONCURRENCY}")
    receiver.forget()
    names = hook_names(len(bodies))
    urls = [receiver.hook_url(name) for name in names]
    now = int(time.time())
    headers = [
        {"Content-Type": "application/json"}
        | signature_headers(receiver.secret, f"raw-{index}", now, body)
        for index, body in enumerate(bodies)
    ]
    client_cpu, receiver_cpu = time.process_time(), process_cpu_s(receiver.pid)
    ok, seconds = asyncio.run(_post_all(urls, bodies, headers))
    client_cpu, receiver_cpu = (
        time.process_time() - client_cpu,
        process_cpu_s(receiver.pid) - receiver_cpu,
    )
    items = receiver.received()
    result = RawCapacity(
        len(bodies),
        seconds,
        ok,
        len(items),
        sum(1 for i in items if i["signature_valid"]),
        client_cpu,
        receiver_cpu,
    )
    show(
        f"  {result.ok:,} answered 2xx in {seconds:.2f} s: {result.per_s:,.0f}/s; receiver: "
        f"{result.received:,} deliveries, {result.valid_signatures:,} valid signatures"
    )
    return result


# 3. Apprise -------------------------------------------------------------------------------------


@dataclass
class AppriseFanOut:
    """One Apprise notify() to N json:// URLs."""

    messages: int = 0
    setup_s: float = 0.0
    seconds: float = 0.0
    succeeded: bool = False
    received: int = 0
    body_size: int = 0
    client_cpu_s: float = 0.0
    receiver_cpu_s: float = 0.0

    @property
    def per_s(self) -> float:
        """Messages the receiver got per second of notify()."""
        return self.received / self.seconds if self.seconds else 0.0


def apprise_fan_out(receiver: Receiver, count: int, body_size: int) -> AppriseFanOut:
    """Send one message to `count` json:// URLs with Apprise; the receiver counts them."""
    import apprise  # only this case needs it

    show(f"\nApprise {apprise.__version__}: one notify() to {count:,} json:// URLs")
    host = receiver.webhook.removeprefix("http://")
    title = "Broken OpenAPI spec: Fan-out Service"
    envelope = {"version": "1.0", "title": title, "message": "", "attachments": [], "type": "info"}
    # A message as large as tidings' average body, once Apprise wraps it in its own JSON.
    text = "x" * max(1, body_size - len(json.dumps(envelope)))
    started = time.perf_counter()
    notifier = apprise.Apprise()
    for name in hook_names(count):
        notifier.add(f"json://{host}/hooks/{name}")
    result = AppriseFanOut(count, setup_s=time.perf_counter() - started)
    client_cpu, receiver_cpu = time.process_time(), process_cpu_s(receiver.pid)
    started = time.perf_counter()
    result.succeeded = bool(notifier.notify(body=text, title=title))
    result.seconds = time.perf_counter() - started
    result.client_cpu_s = time.process_time() - client_cpu
    result.receiver_cpu_s = process_cpu_s(receiver.pid) - receiver_cpu
    items = receiver.received()
    result.received = len(items)
    result.body_size = len(orjson.dumps(items[0]["body"])) if items else 0
    show(
        f"  {count:,} URLs added in {result.setup_s:.1f} s; notify() took {result.seconds:.2f} s "
        f"({'all sent' if result.succeeded else 'SOME FAILED'}); receiver: {result.received:,} "
        f"deliveries of {result.body_size} bytes: {result.per_s:,.0f}/s"
    )
    return result


# 4. A paced Slack channel through a burst of 429s -----------------------------------------------


@dataclass
class Paced:
    """N messages to one Slack channel at 1 a second, the first few rate-limited."""

    messages: int
    seconds: float = 0.0
    minimum_s: float = 0.0
    delivered: int = 0
    received: int = 0
    attempts: int = 0
    rate_limited: int = 0
    early: list[str] = field(default_factory=list)  # attempts made before their turn

    @property
    def ratio(self) -> float:
        """Total time over the theoretical minimum."""
        return self.seconds / self.minimum_s if self.minimum_s else 0.0


def paced_minimum(messages: int) -> float:
    """(N - 1) intervals of pacing, plus each 429's wait: the next try can only come after
    it, so the waits of a burst in a row add up."""
    return (messages - 1) / PACED_PER_SECOND + BURST * RETRY_AFTER_S


def pacing_violations(tries: Sequence[tuple[datetime, str, float | None]]) -> list[str]:
    """Attempts made sooner than the pace allows, or while a Retry-After still ran."""
    early: list[str] = []
    if not tries:
        return early
    first, free_at = tries[0][0].timestamp(), tries[0][0].timestamp()
    for started_at, outcome, retry_after in tries:
        moment = started_at.timestamp()
        if moment < free_at - PACING_SLACK_S:
            early.append(
                f"{outcome} at +{moment - first:.2f} s, {free_at - moment:.2f} s before its turn"
            )
        free_at = max(free_at, moment + 1 / PACED_PER_SECOND, moment + (retry_after or 0.0))
    return early


def paced(directory: Path, receiver: Receiver, messages: int) -> Paced:
    """Send `messages` events about a service with one paced Slack channel; time them."""
    result = Paced(messages, minimum_s=paced_minimum(messages))
    show(
        f"\nPaced Slack: {messages} runs to #{PACED_CHANNEL} at {PACED_PER_SECOND:g}/s, "
        f"the first {BURST} posts answered ratelimited (Retry-After {RETRY_AFTER_S} s)"
    )
    url, _ = build_store(directory, write_paced_catalog(directory / "catalog"))
    settings = sender_settings(
        url,
        receiver,
        slack_bot_token=receiver.slack_token,
        slack_api_url=receiver.slack_api,
        slack_per_channel_per_second=PACED_PER_SECOND,
        retry_base_seconds=0.5,
    )
    runtime = Runtime.from_settings(settings)
    assert runtime.runner is not None
    rule = {"match": PACED_CHANNEL, "ratelimited": RETRY_AFTER_S, "times": BURST}
    receiver.add_slack_faults([rule])
    try:
        runtime.runner.start()
        runtime.runner.wait_idle(60)
        started = time.perf_counter()
        slack_runs = []
        for _ in range(messages):
            answer, queued = flows.submit_event(
                runtime.engine, event_about(PACED_TAG), PUBLIC_URL, runtime.clock
            )
            runtime.runner.submit_runs(queued)
            slack_runs += [run.id for run in answer.runs if run.medium is Medium.SLACK]
        if not runtime.runner.wait_idle(SETTLE_TIMEOUT_S):
            raise RuntimeError(f"the paced runs did not settle within {SETTLE_TIMEOUT_S:.0f} s")
        result.seconds = time.perf_counter() - started
        read_paced(runtime, slack_runs, result)
    finally:
        runtime.close()
    result.received = sum(1 for item in receiver.received("slack") if item["channel_name"])
    show(
        f"  {result.delivered} delivered ({result.received} at the emulator) after "
        f"{result.attempts} attempts, {result.rate_limited} rate-limited, in "
        f"{result.seconds:.2f} s; minimum {result.minimum_s:.0f} s; ratio {result.ratio:.3f}"
    )
    for line in result.early:
        show(f"  too early: {line}")
    return result


def read_paced(runtime: Runtime, run_ids: Sequence[int], result: Paced) -> None:
    """The paced runs' outcome and every attempt, in the order they were made."""
    attempts = engine_repository.attempts
    with runtime.engine.connect() as connection:
        statuses = [engine_repository.run_by_id(connection, run_id) for run_id in run_ids]
        rows = connection.execute(
            select(attempts.c.started_at, attempts.c.outcome, attempts.c.error_message)
            .join(logs, logs.c.id == attempts.c.log_id)
            .where(logs.c.run_id.in_(run_ids))
            .order_by(attempts.c.started_at)
        ).all()
    result.delivered = sum(
        1 for run in statuses if run is not None and run.status is RunStatus.COMPLETED
    )
    result.attempts = len(rows)
    result.rate_limited = sum(1 for row in rows if row[1] == "RATE_LIMITED")
    tries = [
        (
            row[0] if row[0].tzinfo else row[0].replace(tzinfo=UTC),
            str(row[1]),
            float(RETRY_AFTER_S) if row[1] == "RATE_LIMITED" else None,
        )
        for row in rows
    ]
    result.early = pacing_violations(tries)


# Reporting --------------------------------------------------------------------------------------


def _per_message_us(seconds: float, count: int) -> float:
    return seconds / count * 1e6 if count else 0.0


def show_table(
    fan: FanOut, raw: RawCapacity, apprise_result: AppriseFanOut | None, paced_result: Paced
) -> None:
    """The figures against the goals."""
    show()
    show(
        f"{'case':<42} {'messages':>9} {'seconds':>8} {'per s':>7} "
        f"{'sender CPU':>11} {'receiver CPU':>13}"
    )
    p = fan.profile
    rows = [
        (
            "tidings: delivery stage",
            fan.delivered,
            fan.delivery_s,
            fan.deliveries_per_s,
            _per_message_us(p.sender_process_cpu_s, fan.delivered),
            _per_message_us(fan.receiver_cpu_s, fan.delivered),
        ),
        (
            "tidings: end to end (with expansion)",
            fan.delivered,
            fan.end_to_end_s,
            fan.end_to_end_per_s,
            None,
            None,
        ),
        (
            f"(a) receiver capacity: aiohttp, c={CONCURRENCY}",
            raw.ok,
            raw.seconds,
            raw.per_s,
            _per_message_us(raw.client_cpu_s, raw.ok),
            _per_message_us(raw.receiver_cpu_s, raw.ok),
        ),
    ]
    if apprise_result is not None:
        rows.append(
            (
                "(b) Apprise: notify() to N json:// URLs",
                apprise_result.received,
                apprise_result.seconds,
                apprise_result.per_s,
                _per_message_us(apprise_result.client_cpu_s, apprise_result.received),
                _per_message_us(apprise_result.receiver_cpu_s, apprise_result.received),
            )
        )
    for name, count, seconds, rate, sender_us, receiver_us in rows:
        cpu = "" if sender_us is None else f" {sender_us:>8.0f} µs {receiver_us:>10.0f} µs"
        show(f"{name:<42} {count:>9,} {seconds:>8.2f} {rate:>7,.0f}{cpu}")
    show()
    share = fan.deliveries_per_s / raw.per_s if raw.per_s else 0.0
    show(f"deliveries / (a): {share:.1%} (goal >= 50 %)")
    if apprise_result is not None and apprise_result.per_s:
        show(f"deliveries / (b): {fan.deliveries_per_s / apprise_result.per_s:.1f}x (goal >= 4x)")
    show(
        f"paced: {paced_result.seconds:.2f} s for {paced_result.messages} messages, minimum "
        f"{paced_result.minimum_s:.0f} s, ratio {paced_result.ratio:.3f} (goal <= 1.10); "
        f"{len(paced_result.early)} attempts before their turn"
    )
    show()
    show(
        f"delivery stage, {fan.delivery_s:.2f} s: {p.batches} batches sending {p.send_s:.2f} s "
        f"(batch rates {p.slowest_batch_rate:,.0f}-{p.fastest_batch_rate:,.0f}/s), between "
        f"batches {p.between_s:.2f} s, before the first {p.head_s:.2f} s, after the last "
        f"{p.tail_s:.2f} s; SQL {p.statements} statements, reads {p.sql_read_s:.2f} s, "
        f"writes {p.sql_write_s:.2f} s; sender CPU per delivery "
        f"{_per_message_us(p.sender_process_cpu_s, fan.delivered):.0f} µs, of which the "
        f"runner thread {_per_message_us(p.sender_cpu_s, fan.delivered):.0f} µs"
    )


def figures(
    fan: FanOut, raw: RawCapacity, apprise_result: AppriseFanOut | None, paced_result: Paced
) -> dict[str, Any]:
    """The JSON figures."""
    p = fan.profile
    apprise_rate = apprise_result.per_s if apprise_result is not None else None
    return {
        "deliveries_per_s": round(fan.deliveries_per_s),
        "sink_capacity_per_s": round(raw.per_s),
        "apprise_per_s": round(apprise_rate) if apprise_rate is not None else None,
        "paced_ratio_to_min": round(paced_result.ratio, 3),
        "share_of_sink": round(fan.deliveries_per_s / raw.per_s, 3) if raw.per_s else None,
        "times_apprise": round(fan.deliveries_per_s / apprise_rate, 2) if apprise_rate else None,
        "recipients": fan.size,
        "delivered": fan.delivered,
        "received": fan.received,
        "distinct_webhook_ids": fan.distinct_ids,
        "valid_signatures": fan.valid_signatures,
        "delivery_seconds": round(fan.delivery_s, 2),
        "expansion_seconds": round(fan.expansion_s, 2),
        "end_to_end_seconds": round(fan.end_to_end_s, 2),
        "end_to_end_per_s": round(fan.end_to_end_per_s),
        "import_seconds": round(fan.import_s, 1),
        "mean_body_bytes": round(sum(fan.body_sizes) / len(fan.body_sizes))
        if fan.body_sizes
        else 0,
        "send_seconds": round(p.send_s, 2),
        "between_batches_seconds": round(p.between_s, 2),
        "sql_read_seconds": round(p.sql_read_s, 2),
        "sql_write_seconds": round(p.sql_write_s, 2),
        "sender_cpu_us_per_delivery": round(_per_message_us(p.sender_cpu_s, fan.delivered)),
        "sender_process_cpu_us_per_delivery": round(
            _per_message_us(p.sender_process_cpu_s, fan.delivered)
        ),
        "sink_client_cpu_us_per_request": round(_per_message_us(raw.client_cpu_s, raw.ok)),
        "receiver_cpu_us_per_delivery": round(_per_message_us(fan.receiver_cpu_s, fan.delivered)),
        "apprise_messages": apprise_result.messages if apprise_result is not None else 0,
        "paced_seconds": round(paced_result.seconds, 2),
        "paced_minimum_seconds": round(paced_result.minimum_s, 2),
        "paced_messages": paced_result.messages,
        "paced_attempts": paced_result.attempts,
        "paced_early_attempts": len(paced_result.early),
    }


# Command line -----------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipients", type=int, default=None, help=f"webhooks in the run (default {RECIPIENTS:,})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_RECIPIENTS:,} recipients and {QUICK_PACED_MESSAGES} paced messages",
    )
    parser.add_argument("--skip-apprise", action="store_true", help="leave Apprise out")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="build the stores under DIR and keep them"
    )
    parser.add_argument("--serve-receiver", choices=("signed", "unsigned"), help=argparse.SUPPRESS)
    parser.add_argument("--receiver-keep", type=int, default=RECIPIENTS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark; the last line printed is the JSON figures."""
    options = parse_options(argv)
    if options.serve_receiver:
        serve_receiver(options.serve_receiver == "signed", options.receiver_keep)
        return
    size = options.recipients or (QUICK_RECIPIENTS if options.quick else RECIPIENTS)
    messages = QUICK_PACED_MESSAGES if options.quick else PACED_MESSAGES
    base = options.keep.resolve() if options.keep else Path(tempfile.mkdtemp(prefix="fanout-"))
    for name in ("fanout", "paced"):
        shutil.rmtree(base / name, ignore_errors=True)
    show(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    apprise_result = None
    try:
        with receiving(require_signature=True, keep=size) as receiver:
            fan = fan_out(base / "fanout", receiver, size)
            raw = raw_capacity(receiver, fan.bodies)
            paced_result = paced(base / "paced", receiver, messages)
        if not options.skip_apprise:
            mean_body = round(sum(fan.body_sizes) / len(fan.body_sizes)) if fan.body_sizes else 0
            with receiving(require_signature=False, keep=size) as unsigned:
                apprise_result = apprise_fan_out(unsigned, size, mean_body)
    finally:
        if options.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    show_table(fan, raw, apprise_result, paced_result)
    show(json.dumps(figures(fan, raw, apprise_result, paced_result)))


if __name__ == "__main__":
    main()

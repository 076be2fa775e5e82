"""The `tidings` command line."""

import asyncio
import difflib
import json
import logging
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import make_url

from tidings import __version__
from tidings.auth import service as keys_service
from tidings.auth.models import ApiKey
from tidings.auth.permissions import Permission
from tidings.engine import flows
from tidings.engine.schemas import EventIn
from tidings.engine.views import run_detail
from tidings.enums import NotificationType, ObjectType
from tidings.kit.migrate import current_revision, head_revision, upgrade
from tidings.kit.sole_writer import StoreInUseError, sole_writer
from tidings.kit.wire import format_instant
from tidings.runtime import RunnerMode, Runtime
from tidings.settings import Settings

app = typer.Typer(
    help="tidings: notification runs and logs behind a Cortex-compatible API.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

# A file with many problems shows this many, then a count of the rest.
MAX_ERRORS_SHOWN = 20

# soft_wrap: URLs, keys and commands must stay on one line to be copied, whatever the width.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _runtime() -> Runtime:
    return Runtime.from_settings(Settings())


def _migrated_runtime(
    settings: Settings | None = None, runner: RunnerMode = RunnerMode.EMBEDDED
) -> Runtime:
    runtime = Runtime.from_settings(settings or Settings(), runner=runner)
    upgrade(runtime.engine)
    return runtime


def _is_sqlite(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "sqlite"


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=code)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def migrate() -> None:
    """Apply pending database migrations (TIDINGS_DATABASE_URL)."""
    runtime = _runtime()
    before = current_revision(runtime.engine)
    upgrade(runtime.engine)
    after = current_revision(runtime.engine)
    out.print(f"database at revision {after} (was {before or 'empty'})")
    runtime.close()


def _serve(runtime: Runtime, host: str, port: int, log_level: str, *, schedules: bool) -> None:
    """Serve the API with the runtime's runner, and the scheduler unless told not to."""
    from tidings.app import create_app  # the web stack loads only for commands that serve

    try:
        with sole_writer(runtime.settings.database_url, "tidings serve"):
            if schedules and runtime.scheduler is not None:
                runtime.scheduler.start()
            uvicorn.run(create_app(runtime), host=host, port=port, log_level=log_level)
    except StoreInUseError as error:
        raise _fail(str(error)) from None
    finally:
        runtime.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    schedules: Annotated[
        bool,
        typer.Option(
            help="Fire the time-driven notifications and purge old data while serving "
            "(SQLite; on PostgreSQL the workers do it, once for the whole cluster).",
        ),
    ] = True,
    worker: Annotated[
        bool,
        typer.Option(
            help="Work the runs in this process too. --no-worker serves the API only and "
            "leaves the runs to `tidings worker` processes (PostgreSQL only).",
        ),
    ] = True,
) -> None:
    """Apply pending migrations, then serve the API (docs at /docs) and the admin page."""
    settings = Settings()
    if not worker and _is_sqlite(settings):
        raise _fail(
            "--no-worker needs PostgreSQL: with SQLite the serving process is the only one "
            "that may work on the store, so it works the runs itself"
        )
    mode = RunnerMode.EMBEDDED
    if not _is_sqlite(settings):
        _check_periods(settings)
        mode = RunnerMode.DISTRIBUTED if worker else RunnerMode.QUEUE_ONLY
    runtime = _migrated_runtime(settings, mode)
    out.print(f"store: {runtime.engine.url.render_as_string(hide_password=True)}")
    out.print(f"runs worked by: {_runner_line(mode)}")
    out.print(
        f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs, "
        f"admin page: http://{host}:{port}/admin)"
    )
    _serve(runtime, host, port, log_level, schedules=schedules)


def _runner_line(mode: RunnerMode) -> str:
    return {
        RunnerMode.EMBEDDED: "this process (embedded runner)",
        RunnerMode.DISTRIBUTED: "this process and any `tidings worker` (PostgreSQL job queue)",
        RunnerMode.QUEUE_ONLY: "`tidings worker` processes (this one only queues them)",
    }[mode]


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(help="Runs worked on at once (default: TIDINGS_WORKER_CONCURRENCY).", min=1),
    ] = None,
) -> None:
    """Work runs from the PostgreSQL job queue until SIGTERM or Ctrl-C: deliver, retry, and
    fire the cluster's periodic work (schedules, purge, recovery). Run `tidings migrate`
    first; start as many as the load needs, on any hosts."""
    from tidings.runner.distributed import run_worker

    settings = Settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    if _is_sqlite(settings):
        raise _fail(
            "tidings worker needs PostgreSQL (TIDINGS_DATABASE_URL=postgresql+psycopg://...); "
            "with SQLite, `tidings serve` works the runs itself"
        )
    _check_periods(settings)
    runtime = Runtime.from_settings(settings, runner=RunnerMode.QUEUE_ONLY)
    try:
        if current_revision(runtime.engine) != head_revision(runtime.engine):
            raise _fail("the store is not migrated to this version: run `tidings migrate` first")
        out.print(f"store: {runtime.engine.url.render_as_string(hide_password=True)}")
        out.print(f"working runs, {settings.worker_concurrency} at once; SIGTERM stops")
        with asyncio.Runner(loop_factory=_event_loop_factory()) as loop:
            loop.run(run_worker(settings, runtime.work_engine, runtime))
    finally:
        runtime.close()


def _check_periods(settings: Settings) -> None:
    """The cluster's periodic tasks run on cron lines: their periods must fit one."""
    from tidings.runner.distributed import every_seconds_cron

    for name in ("schedule_tick_seconds", "maintenance_seconds"):
        try:
            every_seconds_cron(getattr(settings, name))
        except ValueError as error:
            raise _fail(f"TIDINGS_{name.upper()}: {error}") from None


def _event_loop_factory() -> Any:
    import uvloop

    return uvloop.new_event_loop


def _parse_expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--expires: '{value}' is not an ISO date such as 2027-01-31") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A name that says who or what uses the key.")],
    permission: Annotated[
        list[Permission] | None,
        typer.Option(
            help="A permission to grant; repeat for several. Default: VIEW_NOTIFICATION_LOGS.",
            case_sensitive=False,
        ),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Expiry date or date-time (ISO 8601, UTC if no zone).")
    ] = None,
) -> None:
    """Create an API key; its secret is printed once, alone on the last line."""
    runtime = _migrated_runtime()
    permissions = permission or [Permission.VIEW_NOTIFICATION_LOGS]
    try:
        with runtime.sessions.begin() as session:
            created = keys_service.create_key(
                session, name, permissions, runtime.clock(), _parse_expiry(expires)
            )
            key_id = created.key.id
    except ValueError as error:
        raise _fail(str(error)) from None
    finally:
        runtime.close()
    err.print(
        f"created key {key_id} '{name.strip()}' with {', '.join(p.value for p in permissions)}."
    )
    err.print("Store the secret now: it is shown only this once.")
    typer.echo(created.secret)


def _key_state(key: ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
) -> None:
    """List API keys (never their secrets)."""
    runtime = _migrated_runtime()
    with runtime.sessions() as session:
        keys = keys_service.list_keys(session)
    runtime.close()
    now = runtime.clock()
    if as_json:
        for key in keys:
            typer.echo(
                json.dumps(
                    {
                        "id": key.id,
                        "name": key.name,
                        "prefix": key.prefix,
                        "permissions": key.permissions,
                        "createdAt": format_instant(key.created_at),
                        "expiresAt": format_instant(key.expires_at) if key.expires_at else None,
                        "revokedAt": format_instant(key.revoked_at) if key.revoked_at else None,
                        "state": _key_state(key, now),
                    }
                )
            )
        return
    table = Table("id", "name", "prefix", "permissions", "created", "expires", "state")
    for key in keys:
        state = _key_state(key, now)
        if key.revoked_at is not None:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(
            str(key.id),
            key.name,
            key.prefix + "…",
            ", ".join(key.permissions),
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "never",
            state,
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="Id of the key (see keys list).")],
) -> None:
    """Revoke an API key; requests with it fail from a few seconds later on."""
    runtime = _migrated_runtime()
    try:
        with runtime.sessions.begin() as session:
            key = keys_service.revoke_key(session, key_id, runtime.clock())
            name = key.name
    except keys_service.KeyNotFoundError as error:
        raise _fail(str(error)) from None
    finally:
        runtime.close()
    out.print(f"revoked key {key_id} '{name}'")


@app.command(
    "import",
    epilog="Each file imports whole or not at all; problems print as path:line: message. "
    "Importing unchanged files again changes nothing. Exit status 1 when any file failed. "
    "Formats: docs/catalog.md.",
)
def import_files(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Catalog files, or directories searched recursively for *.yaml, *.yml, *.json.",
            metavar="PATH",
            show_default=False,
        ),
    ],
) -> None:
    """Import catalog files: Cortex descriptors, Backstage entities, tidings YAML."""
    from tidings.catalog.service import Tally, import_catalog

    runtime = _migrated_runtime()
    total, files, failed = Tally(), 0, 0
    try:
        for outcome in import_catalog(runtime.engine, paths, runtime.clock):
            files += 1
            shown = str(outcome.path)
            if outcome.imported:
                total.add(outcome.tally)
                typer.echo(f"{shown}: {outcome.tally.describe()}")
                continue
            failed += 1
            for error in outcome.errors[:MAX_ERRORS_SHOWN]:
                typer.echo(error.render(shown), err=True)
            hidden = len(outcome.errors) - MAX_ERRORS_SHOWN
            if hidden > 0:
                typer.echo(f"{shown}: ... and {hidden} more problems", err=True)
    finally:
        runtime.close()
    if files == 0:
        raise _fail("no catalog files (*.yaml, *.yml, *.json) found in the paths given")
    summary = f"imported {files - failed} of {files} files: {total.describe()}"
    typer.echo(summary + (f"; {failed} failed" if failed else ""))
    if failed:
        raise typer.Exit(code=1)


# Events and re-runs ----------------------------------------------------------------------------

OBJECT_KINDS = {kind.value.lower(): kind for kind in ObjectType}
# What each printed run shows, as the run endpoints name it.
RUN_FIELDS = (
    "id",
    "medium",
    "status",
    "deliveredCount",
    "ignoredReason",
    "failedReason",
    "errorMessage",
    "originalRunId",
    "seqNo",
)
WAIT_HELP = (
    "Expand the {runs} and try each message once in this process, then print {them} "
    "(settled, unless a provider asked for a later try: `tidings serve` makes it). "
    "--no-wait only records {them} (CREATED): a `tidings serve` started later processes {them}."
)


def _notification_type(value: str) -> NotificationType:
    name = value.strip().upper().replace("-", "_")
    try:
        return NotificationType(name)
    except ValueError:
        close = difflib.get_close_matches(name, list(NotificationType), n=1)
        hint = f"; did you mean {close[0]}?" if close else " (see tidings send --help)"
        raise _fail(f"unknown notification type '{value}'{hint}") from None


def _object_ref(value: str) -> dict[str, str]:
    kind, colon, tag = value.partition(":")
    object_type = OBJECT_KINDS.get(kind.strip().lower())
    if not colon or object_type is None or not tag.strip():
        raise _fail(
            f"--object: '{value}' is not KIND:TAG with KIND entity, scorecard or initiative "
            "(for example entity:payments-api)"
        )
    return {"type": object_type.value, "tag": tag.strip()}


def _data_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _event_data(pairs: Sequence[str], data_json: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if data_json is not None:
        try:
            parsed = json.loads(data_json)
        except json.JSONDecodeError as error:
            raise _fail(f"--data-json: not valid JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise _fail("--data-json: give a JSON object such as '{\"score\": 72}'")
        data.update(parsed)
    for pair in pairs:
        key, equals, raw = pair.partition("=")
        if not equals or not key.strip():
            raise _fail(f"--data: '{pair}' is not KEY=VALUE")
        data[key.strip()] = _data_value(raw)
    return data


def _event(fields: dict[str, Any]) -> EventIn:
    try:
        return EventIn.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise _fail(f"the event is not valid: {problems}") from None


def _process(runtime: Runtime, run_ids: Sequence[int]) -> list[int]:
    """Process the runs one after another; the ids of those that raised."""
    broken: list[int] = []

    async def work() -> None:
        for run_id in run_ids:
            try:
                progress = await runtime.process_run(run_id)
            except Exception:
                logging.getLogger(__name__).exception("processing run %s failed", run_id)
                broken.append(run_id)
                continue
            if progress.resume_at is not None:
                err.print(
                    f"run {run_id}: some messages wait for another try (the next at "
                    f"{format_instant(progress.resume_at)}); a running `tidings serve` "
                    "retries them when due"
                )
        await runtime.close_channels()

    asyncio.run(work())
    return broken


def _runs_now(runtime: Runtime, run_ids: Sequence[int]) -> list[dict[str, Any]]:
    with runtime.engine.connect() as connection:
        found = [run_detail(connection, run_id, 0, 1) for run_id in run_ids]
    return [{key: run[key] for key in RUN_FIELDS if key in run} for run in found if run]


def _run_line(run: dict[str, Any]) -> str:
    reason = run.get("ignoredReason") or run.get("failedReason")
    message = run.get("errorMessage")
    why = f"{reason}: {message}" if reason and message else reason or message or ""
    line = (
        f"run {run['id']:<6} {run['medium']:<15} {run['status']:<21} "
        f"delivered {run['deliveredCount']:<6} {why}"
    )
    return line.rstrip()


def _report_broken(broken: Sequence[int]) -> None:
    if broken:
        ids = ", ".join(str(run_id) for run_id in broken)
        err.print(
            f"[red]error:[/red] processing run {ids} raised (logged above); such a run stays "
            "CREATED and `tidings serve` retries it when it starts"
        )
        raise typer.Exit(code=1)


@app.command(
    epilog="TYPE is one of: " + ", ".join(NotificationType) + ". "
    "Exit status 2 when the event is malformed or refused (nothing is recorded), "
    "1 when processing a run raised an error.",
)
def send(
    type_name: Annotated[
        str,
        typer.Argument(
            metavar="TYPE",
            help="The notification type, e.g. SERVICE_REEVALUATED (any case).",
            show_default=False,
        ),
    ],
    objects: Annotated[
        list[str] | None,
        typer.Option(
            "--object",
            metavar="KIND:TAG",
            help="What the event concerns: entity:TAG, scorecard:TAG or initiative:TAG; "
            "repeat for several.",
            show_default=False,
        ),
    ] = None,
    recipients: Annotated[
        list[str] | None,
        typer.Option(
            "--recipient",
            metavar="EMAIL",
            help="A person the event names (invitee, approver, on-call person...); repeat "
            "for several. Types that go to owners ignore it.",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            metavar="KEY=VALUE",
            help="A fact the message shows; VALUE is read as JSON when it parses (72, true, "
            "null), as text otherwise. Repeat for several.",
            show_default=False,
        ),
    ] = None,
    data_json: Annotated[
        str | None,
        typer.Option(
            "--data-json",
            metavar="JSON",
            help="Facts as one JSON object; --data pairs override its keys.",
            show_default=False,
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            metavar="KEY",
            help="The same key within 24 hours creates nothing new and shows the runs of the "
            "first event.",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help=WAIT_HELP.format(runs="runs", them="them"))
    ] = True,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the answer as one JSON object (eventId, notificationType, replayed, "
            "runs), each run as it stands when the command ends.",
        ),
    ] = False,
) -> None:
    """Send an event: one run per medium, printed one line each (id, medium, status,
    deliveredCount, reason)."""
    event = _event(
        {
            "type": _notification_type(type_name),
            "objects": [_object_ref(value) for value in objects or []],
            "recipients": recipients or [],
            "data": _event_data(data or [], data_json),
            "idempotencyKey": idempotency_key,
        }
    )
    runtime = _migrated_runtime()
    try:
        try:
            answer, queued = flows.submit_event(
                runtime.engine, event, runtime.settings.public_url, runtime.clock
            )
        except flows.EventError as error:
            raise _fail(str(error)) from None
        broken = _process(runtime, queued) if wait else []
        runs = _runs_now(runtime, [run.id for run in answer.runs])
    finally:
        runtime.close()
    if as_json:
        body = answer.model_dump(mode="json", by_alias=True, exclude_none=True)
        typer.echo(json.dumps({**body, "runs": runs}))
    else:
        if answer.replayed:
            err.print(
                f"idempotency key '{escape(idempotency_key or '')}' was used by event "
                f"{answer.event_id} less than 24 hours ago: nothing new was created"
            )
        else:
            err.print(f"event {answer.event_id} ({event.type.value}): {len(runs)} runs")
        for run in runs:
            typer.echo(_run_line(run))
    _report_broken(broken)


@app.command(
    epilog="Exit status 1 when the run does not exist or its status does not allow a re-run "
    "(only CREATED, FAILED and COMPLETED_WITH_ERRORS runs can be re-run).",
)
def rerun(
    run_id: Annotated[
        int,
        typer.Argument(metavar="RUN_ID", help="Id of the run to re-run.", show_default=False),
    ],
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help=WAIT_HELP.format(runs="new run", them="it"))
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the new run as one JSON object.")
    ] = False,
) -> None:
    """Re-run a run: a new run of its chain sends again to the recipients not yet delivered."""
    runtime = _migrated_runtime()
    try:
        try:
            created = flows.rerun(runtime.engine, run_id, runtime.clock)
        except flows.RerunError as error:
            raise _fail(str(error), code=1) from None
        broken = _process(runtime, [created.id]) if wait else []
        runs = _runs_now(runtime, [created.id])
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps(runs[0]))
    else:
        err.print(
            f"run {created.id} re-runs run {run_id} "
            f"(run {created.original_run_id}'s chain, seqNo {created.seq_no})"
        )
        typer.echo(_run_line(runs[0]))
    _report_broken(broken)


@app.command()
def generate(
    runs: Annotated[int | None, typer.Option(help="How many runs to write.", min=1)] = None,
    logs: Annotated[
        int | None, typer.Option(help="Write runs until at least this many logs exist.", min=1)
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same history.")] = 1,
    now: Annotated[
        str | None,
        typer.Option(help="End of the 30-day history (ISO 8601); default: now, to the minute."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Write a realistic, reproducible history of runs and logs into the store."""
    from tidings.generator.history import HistorySpec, write_history

    if (runs is None) == (logs is None):
        raise _fail("give exactly one of --runs N or --logs N")
    anchor = (
        datetime.now(UTC).replace(second=0, microsecond=0)
        if now is None
        else _parse_expiry(now) or datetime.now(UTC)
    )
    runtime = _migrated_runtime()
    try:
        written = write_history(
            runtime.engine,
            HistorySpec(runs=runs, logs=logs, seed=seed, end=anchor, days=30),
            progress=not quiet,
        )
    finally:
        runtime.close()
    out.print(
        f"wrote {written.runs:,} runs and {written.logs:,} logs ending {anchor:%Y-%m-%d %H:%M}Z"
    )


@app.command()
def demo(
    catalog_path: Annotated[
        Path, typer.Option("--catalog", help="Catalog files or directory to import first.")
    ] = Path("examples/catalog"),
    backfill_events: Annotated[
        int,
        typer.Option("--backfill", help="Events replayed over the last days (empty store).", min=0),
    ] = 400,
    every: Annotated[
        float, typer.Option("--every", help="Seconds between live demo events (0: none).", min=0)
    ] = 4.0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    emulators: Annotated[
        bool,
        typer.Option(
            help="Deliver to local Slack, Teams, SMTP and webhook emulators (ports 8801-8804 "
            "and 8825) started here; --no-emulators delivers as the TIDINGS_* settings say.",
        ),
    ] = True,
) -> None:
    """Migrate, import the example catalog, replay two weeks of events through the engine,
    create an admin key, then serve while a live stream of events keeps arriving."""
    from tidings.demo import delivery_settings, start_emulators

    if not catalog_path.exists():
        out.print(f"[red]no catalog at {catalog_path}[/red]: run the demo from a clone of tidings")
        raise typer.Exit(code=1)
    if not emulators:
        _demo(catalog_path, backfill_events, every, host, port, None)
        return
    try:
        suite = start_emulators()
    except OSError as error:
        raise _fail(
            f"the emulators could not start ({error}): stop what uses ports 8801-8804 and 8825 "
            "(another demo or `tidings emulators`?) or run with --no-emulators"
        ) from None
    try:
        _demo(catalog_path, backfill_events, every, host, port, suite, delivery_settings(suite))
    finally:
        suite.stop()


def _demo(
    catalog_path: Path,
    backfill_events: int,
    every: float,
    host: str,
    port: int,
    suite: Any,
    settings: dict[str, Any] | None = None,
) -> None:
    from tidings.catalog.service import import_catalog
    from tidings.demo import EventStream, backfill, seed_slack
    from tidings.logs.models import NotificationRun

    runtime = _migrated_runtime(Settings(**settings) if settings is not None else None)
    failed = [
        o for o in import_catalog(runtime.engine, [catalog_path], runtime.clock) if not o.imported
    ]
    if failed:
        out.print(f"[red]{len(failed)} catalog files did not import[/red]; see `tidings import`")
        runtime.close()
        raise typer.Exit(code=1)
    out.print(f"imported the catalog from {catalog_path}")
    if suite is not None:
        seed_slack(suite, runtime.engine)
        out.print("delivering to the local emulators; what they received:")
        for name in ("slack", "teams", "smtp", "webhook"):
            out.print(f"  {name:<8} {suite.base_url(name)}/inbox")
    with runtime.sessions() as session:
        existing = session.query(NotificationRun.id).limit(1).count()
    if existing:
        out.print("the store already has runs; keeping them (delete .tidings/ to start over)")
    elif backfill_events:
        out.print(f"replaying {backfill_events} events of the last 14 days through the engine…")
        made = backfill(runtime, backfill_events, days=14)
        out.print(f"replayed {backfill_events} events of the last 14 days: {made} runs")
    with runtime.sessions.begin() as session:
        created = keys_service.create_key(
            session,
            f"demo admin {runtime.clock():%Y-%m-%d %H:%M}",
            list(Permission),
            runtime.clock(),
            expires_at=runtime.clock() + timedelta(days=30),
        )
    base = f"http://{host}:{port}"
    out.print(f"\n[bold]Admin page[/bold]    {base}/admin  (sign in with the key below)")
    out.print(f"[bold]API docs[/bold]      {base}/docs")
    out.print(
        f"[bold]Runs[/bold]          {base}/api/v1/notifications/logs/run?deliveredOnly=false"
    )
    out.print(f"[bold]Logs[/bold]          {base}/api/v1/notifications/logs")
    out.print("[bold]Admin API key[/bold] (shown once; click Authorize in the docs and paste it):")
    typer.echo(created.secret)
    out.print(
        f"\ntry: curl -H 'Authorization: Bearer {created.secret}' "
        f"'{base}/api/v1/notifications/logs/run?pageSize=5&deliveredOnly=false'\n"
    )
    stream = EventStream(runtime, every) if every else None
    if stream is not None:
        stream.start()
    try:
        _serve(runtime, host, port, "info", schedules=True)
    finally:
        if stream is not None:
            stream.stop()


@app.command(
    epilog="Control endpoints on each HTTP port (SMTP: its control port): GET/DELETE "
    "/_emulator/received, GET/POST/DELETE /_emulator/faults, and /inbox in a browser. "
    "Details: docs/emulators.md.",
)
def emulators(
    host: Annotated[str, typer.Option(help="Address every emulator listens on.")] = "127.0.0.1",
    slack_port: Annotated[int, typer.Option(help="Slack Web API port.", min=0, max=65535)] = 8801,
    teams_port: Annotated[
        int, typer.Option(help="Teams Workflows webhooks port.", min=0, max=65535)
    ] = 8802,
    smtp_port: Annotated[
        int, typer.Option(help="SMTP port (plain, STARTTLS offered).", min=0, max=65535)
    ] = 8825,
    smtps_port: Annotated[
        int, typer.Option(help="SMTP over implicit TLS port.", min=0, max=65535)
    ] = 8465,
    smtp_control_port: Annotated[
        int,
        typer.Option(help="HTTP port of the SMTP emulator's inbox and controls.", min=0, max=65535),
    ] = 8803,
    webhook_port: Annotated[
        int, typer.Option(help="Signed webhook receiver port.", min=0, max=65535)
    ] = 8804,
    slack_token: Annotated[
        str | None, typer.Option(help="Slack bot token to accept. Default: a new random one.")
    ] = None,
    slack_workspace: Annotated[
        Path | None,
        typer.Option(
            help='JSON file of Slack channels and users: {"channels": [{"name": ...}], '
            '"users": [{"email": ...}]}.',
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    slack_open_workspace: Annotated[
        bool,
        typer.Option(
            help="Create unknown Slack channels and users on first use instead of answering "
            "channel_not_found / users_not_found.",
        ),
    ] = True,
    smtp_username: Annotated[
        str | None, typer.Option(help="Require SMTP AUTH with this username (and password).")
    ] = None,
    smtp_password: Annotated[str | None, typer.Option(help="The SMTP AUTH password.")] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(help="Webhook signing secret (whsec_...). Default: a new random one."),
    ] = None,
) -> None:
    """Serve local Slack, Teams, SMTP and webhook emulators until Ctrl-C."""
    import shlex

    from tidings.emulators import EmulatorSuite

    # aiosmtpd logs every SMTP command at INFO.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    try:
        suite = EmulatorSuite(
            host=host,
            slack_port=slack_port,
            teams_port=teams_port,
            smtp_port=smtp_port,
            smtps_port=smtps_port,
            smtp_control_port=smtp_control_port,
            webhook_port=webhook_port,
            slack_token=slack_token,
            slack_open_workspace=slack_open_workspace,
            smtp_username=smtp_username,
            smtp_password=smtp_password,
            webhook_secret=webhook_secret,
        )
        if slack_workspace is not None:
            suite.slack.workspace.add_json(json.loads(slack_workspace.read_text()))
        suite.start()
    except (OSError, ValueError, RuntimeError) as error:
        raise _fail(str(error)) from None
    # SIGTERM stops as cleanly as Ctrl-C (the certificate's files are removed). The try starts
    # before the first line is printed: a supervisor may signal as soon as it reads the last one,
    # before this thread gets the GIL back to enter the wait.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for line in suite.describe():
            typer.echo(line)
        typer.echo("\nPoint tidings at them:")
        for name, value in suite.tidings_settings().items():
            typer.echo(f"export {name}={shlex.quote(value)}")
        typer.echo("\nServing until Ctrl-C.")
        suite.wait()
    except KeyboardInterrupt:
        pass
    finally:
        suite.stop()


def main() -> None:
    """Entry point of the `tidings` command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app()

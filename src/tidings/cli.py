"""The `tidings` command line."""

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from tidings import __version__
from tidings.auth import service as keys_service
from tidings.auth.models import ApiKey
from tidings.auth.permissions import Permission
from tidings.kit.migrate import current_revision, upgrade
from tidings.kit.wire import format_instant
from tidings.runtime import Runtime
from tidings.settings import Settings

app = typer.Typer(
    help="tidings: notification runs and logs behind a Cortex-compatible API.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

# soft_wrap: URLs, keys and commands must stay on one line to be copied, whatever the width.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _runtime() -> Runtime:
    return Runtime.from_settings(Settings())


def _migrated_runtime() -> Runtime:
    runtime = _runtime()
    upgrade(runtime.engine)
    return runtime


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Apply pending migrations, then serve the API (docs at /docs)."""
    from tidings.app import create_app

    runtime = _migrated_runtime()
    out.print(f"store: {runtime.engine.url.render_as_string(hide_password=True)}")
    out.print(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(runtime), host=host, port=port, log_level=log_level)
    runtime.close()


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
    runs: Annotated[int, typer.Option(help="Runs to generate into an empty store.", min=1)] = 5000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
) -> None:
    """Migrate, fill an empty store with a generated history, create an admin key, serve."""
    from tidings.app import create_app
    from tidings.generator.history import HistorySpec, write_history
    from tidings.logs.models import NotificationRun

    runtime = _migrated_runtime()
    with runtime.sessions() as session:
        existing = session.query(NotificationRun.id).limit(1).count()
    if existing:
        out.print("the store already has runs; keeping them (delete .tidings/ to start over)")
    else:
        write_history(
            runtime.engine,
            HistorySpec(runs=runs, logs=None, seed=1, end=runtime.clock(), days=30),
            progress=True,
        )
    with runtime.sessions.begin() as session:
        created = keys_service.create_key(
            session,
            f"demo admin {runtime.clock():%Y-%m-%d %H:%M}",
            list(Permission),
            runtime.clock(),
            expires_at=runtime.clock() + timedelta(days=30),
        )
    base = f"http://{host}:{port}"
    out.print(f"\n[bold]API docs[/bold]      {base}/docs")
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
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info")
    runtime.close()


def main() -> None:
    """Entry point of the `tidings` command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app()

"""The admin page's routes: sign-in and out, the runs list with its tiles and chart, the
logs list and its export, a run and its live tail, the workspace settings. HTML for people;
the API's OpenAPI document does not list them."""

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response, StreamingResponse
from starlette.staticfiles import StaticFiles

from tidings.auth.permissions import PERMISSION_LABELS
from tidings.engine import flows
from tidings.enums import RunStatus
from tidings.kit import query
from tidings.kit.db import reading
from tidings.kit.errors import ApiError, RateLimitExceededError
from tidings.kit.pagination import PageRequest
from tidings.logs.endpoints import _page_request, log_filter_of, run_filter_of
from tidings.logs.filters import LogFilter, RunFilter
from tidings.runtime import Runtime, runtime_of
from tidings.web import listing, live, queries, repository
from tidings.web.export import ExportFormat, export_chunks, export_filename
from tidings.web.pages import (
    STATIC_DIRECTORY,
    STATIC_PATH,
    redirect,
    render,
    render_text,
    secured,
)
from tidings.web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    HOME_PATH,
    REQUIRED_PERMISSION,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SIGN_IN_PATH,
    AdminSession,
    SignInRefusal,
    clear_session_cookie,
    clear_sign_in_cookie,
    new_token,
    safe_next,
    session_of,
    set_session_cookie,
    set_sign_in_cookie,
    sign_in,
    sign_out,
    tokens_match,
)

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

RUN_PATH = "/admin/notifications/runs"
SETTINGS_PATH = "/admin/notifications/settings"
MAX_ID = 2**63 - 1
# Runs the Resend button is offered on; the engine still decides (flows.rerun).
RESENDABLE = frozenset({RunStatus.CREATED, RunStatus.FAILED, RunStatus.COMPLETED_WITH_ERRORS})
LOG_PAGE = query.int32("page", "Page of recipients, from 0.", default=0, minimum=0)
LOG_PAGE_SIZE = query.int32("pageSize", "Recipients per page.", default=20, minimum=1, maximum=1000)
CSRF_REFUSED = (
    "This form was not sent from this page, or it is too old (its CSRF token is missing or "
    "wrong). Go back, reload the page and try again."
)


def install(app: FastAPI) -> None:
    """Serve the admin page and its static files from `app`."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIRECTORY), name="admin-static")


async def off_loop(runtime: Runtime, read: Callable[[], T]) -> T:
    """Run a blocking read on the API's reader threads, off the event loop."""
    return await runtime.reads.in_thread(read)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def _current_session(request: Request) -> AdminSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    runtime = runtime_of(request)

    def read() -> AdminSession | None:
        with reading(runtime.engine) as connection:
            return session_of(connection, token, runtime.clock())

    return await off_loop(runtime, read)


def _to_sign_in(request: Request, back_to: str | None = None) -> Response:
    """Send a visitor without a live session to the sign-in form, to come back afterwards."""
    if back_to is None:
        back_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{SIGN_IN_PATH}?{urlencode({'next': back_to})}"
    if _is_htmx(request):
        # htmx would follow a redirect and swap the sign-in page into the table.
        response = secured(Response(status_code=401, headers={"HX-Redirect": location}))
    else:
        response = redirect(location)
    if request.cookies.get(SESSION_COOKIE):
        clear_session_cookie(response, request)
    return response


def _page(
    template: str, session: AdminSession | None, status: int = 200, **context: Any
) -> Response:
    return render(template, {"session": session, **context}, status)


def _error_page(session: AdminSession | None, status: int, title: str, message: str) -> Response:
    return _page("error.html", session, status, title=title, message=message, section=None)


def _csrf_ok(request: Request, form: FormData, session: AdminSession) -> bool:
    given = request.headers.get(CSRF_HEADER) or _form_text(form, CSRF_FIELD)
    return tokens_match(session.csrf_token, given)


def _run_id(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit():
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_ID else None


# Sign-in and sign-out --------------------------------------------------------------------


def _sign_in_form(
    request: Request, next_path: str, status: int = 200, error: str | None = None
) -> Response:
    token = new_token()
    response = _page(
        "sign_in.html",
        None,
        status,
        next_path=next_path,
        csrf_token=token,
        error=error,
        signed_out=request.query_params.get("signedOut") == "1",
        section=None,
    )
    set_sign_in_cookie(response, request, token)
    return response


@router.get(SIGN_IN_PATH)
async def sign_in_page(request: Request) -> Response:
    """The sign-in form (or straight on, for a visitor already signed in)."""
    next_path = safe_next(request.query_params.get("next"))
    if await _current_session(request) is not None:
        return redirect(next_path)
    return _sign_in_form(request, next_path)


@router.post(SIGN_IN_PATH)
async def sign_in_submit(request: Request) -> Response:
    """Sign in with an API key that may view notification logs."""
    form = await request.form()
    next_path = safe_next(_form_text(form, "next"))
    if not tokens_match(request.cookies.get(SIGN_IN_COOKIE), _form_text(form, CSRF_FIELD)):
        return _sign_in_form(request, next_path, 403, CSRF_REFUSED)
    runtime = runtime_of(request)
    try:
        # Every attempt spends from the client address's budget before the key is looked
        # at, the same budget the API spends for requests without a valid key: an address
        # that has run out cannot make another guess.
        await runtime.rate_limiter.spend(f"ip:{_client_address(request)}")
    except RateLimitExceededError as error:
        message = f"Too many sign-in attempts: try again in {error.retry_after} seconds."
        response = _sign_in_form(request, next_path, 429, message)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    now = runtime.clock()
    outcome = await run_in_threadpool(sign_in, runtime.sessions, _form_text(form, "key") or "", now)
    if outcome is SignInRefusal.UNKNOWN_KEY:
        return _sign_in_form(
            request, next_path, 401, "That API key is unknown, revoked or expired."
        )
    if outcome is SignInRefusal.MISSING_PERMISSION:
        label = PERMISSION_LABELS[REQUIRED_PERMISSION]
        message = (
            f"That API key does not have the {label} permission "
            f"({REQUIRED_PERMISSION.value}). Sign in with a key that has it."
        )
        return _sign_in_form(request, next_path, 403, message)
    assert not isinstance(outcome, SignInRefusal)
    response = redirect(next_path)
    set_session_cookie(response, request, outcome, now)
    clear_sign_in_cookie(response, request)
    return response


@router.post("/admin/sign-out")
async def sign_out_submit(request: Request) -> Response:
    """End the session."""
    session = await _current_session(request)
    token = request.cookies.get(SESSION_COOKIE)
    if session is None or token is None:
        return _to_sign_in(request, HOME_PATH)
    form = await request.form()
    if not _csrf_ok(request, form, session):
        return _error_page(session, 403, "Not signed out", CSRF_REFUSED)
    runtime = runtime_of(request)

    def write() -> None:
        with runtime.engine.begin() as connection:
            sign_out(connection, token)

    await run_in_threadpool(write)
    response = redirect(f"{SIGN_IN_PATH}?signedOut=1")
    clear_session_cookie(response, request)
    return response


# Pages -------------------------------------------------------------------------------------


@router.get("/admin")
async def admin_home(_request: Request) -> Response:
    """The admin page starts at the notification logs."""
    return redirect(HOME_PATH)


@router.get(HOME_PATH)
async def notifications(request: Request) -> Response:
    """The tiles and the filtered, paged list of runs (only the list for htmx)."""
    session = await _current_session(request)
    if session is None:
        return _to_sign_in(request)
    runtime = runtime_of(request)
    listed = listing.with_page_defaults(request)
    asked: tuple[RunFilter, PageRequest] | None = None
    error: str | None = None
    try:
        asked = run_filter_of(listed), _page_request(listed)
    except ApiError as refused:
        # The API's 400 message, shown above the list instead of a JSON body.
        error = refused.details or refused.message
    htmx = _is_htmx(request)

    def read() -> tuple[dict[str, Any] | None, queries.Tiles | None, Any]:
        with reading(runtime.engine) as connection:
            runs = None if asked is None else queries.runs_page(connection, *asked)
            if htmx:
                return runs, None, None
            now = runtime.clock()
            chart = queries.logs_per_day(connection, now, runtime.settings.retention_days)
            return runs, queries.tiles(connection, now), chart

    runs, tiles, chart = await off_loop(runtime, read)
    paging = None
    if asked is not None and runs is not None:
        page = asked[1]
        paging = listing.paging(request.query_params, page.page, page.page_size, runs["total"])
    response = _page(
        "partials/runs.html" if htmx else "notifications.html",
        session,
        400 if error else 200,
        section="logs",
        tiles=tiles,
        chart=chart,
        retention_days=runtime.settings.retention_days,
        form=listing.filter_form(listed.query_params),
        runs=None if runs is None else runs["runs"],
        paging=paging,
        error=error,
        oob=htmx,
    )
    response.headers["Vary"] = "HX-Request"
    return response


async def _run_response(
    request: Request, session: AdminSession, run_id: int, resend_error: str | None = None
) -> Response:
    params = request.query_params
    try:
        page, page_size = LOG_PAGE.parse(params), LOG_PAGE_SIZE.parse(params)
    except ApiError as refused:
        return _error_page(session, 400, "Bad page", refused.details or refused.message)
    runtime = runtime_of(request)

    def read() -> dict[str, Any] | None:
        with reading(runtime.engine) as connection:
            return queries.run_page(connection, run_id, page, page_size)

    run = await off_loop(runtime, read)
    if run is None:
        message = f"Run {run_id} does not exist (runs are kept for 30 days)."
        return _error_page(session, 404, "No such run", message)
    path = f"{RUN_PATH}/{run_id}"
    query = f"?{request.url.query}" if request.url.query else ""
    return _page(
        "run.html",
        session,
        409 if resend_error else 200,
        section="logs",
        run=run,
        resendable=run["status"] in RESENDABLE,
        resend_error=resend_error,
        paging=listing.paging(params, page, page_size, run["total"], path),
        content_retention_days=runtime.settings.content_retention_days,
        live_events=f"{path}/events{query}" if run["status"] == RunStatus.CREATED else None,
    )


@router.get(RUN_PATH + "/{run_id}")
async def run_page(request: Request, run_id: str) -> Response:
    """One run: objects, chain, every recipient's log with why, attempts and content."""
    session = await _current_session(request)
    if session is None:
        return _to_sign_in(request)
    number = _run_id(run_id)
    if number is None:
        return _error_page(session, 404, "No such run", f"There is no run {run_id}.")
    return await _run_response(request, session, number)


def _plain(text: str, status: int) -> Response:
    return secured(Response(text, status_code=status, media_type="text/plain"))


@router.get(RUN_PATH + "/{run_id}/events")
async def run_events(request: Request, run_id: str) -> Response:
    """The run's live tail: its live part again whenever it changes, until it settles."""
    token = request.cookies.get(SESSION_COOKIE)
    session = await _current_session(request)
    if session is None or token is None:
        # An EventSource gives up on an answer that is not 200: no redirect to follow.
        return _plain("Sign in first.", 401)
    number = _run_id(run_id)
    if number is None:
        return _plain(f"There is no run {run_id}.", 404)
    params = request.query_params
    try:
        page, page_size = LOG_PAGE.parse(params), LOG_PAGE_SIZE.parse(params)
    except ApiError as refused:
        return _plain(refused.details or refused.message, 400)
    return await _live_tail(request, session, token, number, page, page_size)


async def _live_tail(
    request: Request, session: AdminSession, token: str, run_id: int, page: int, page_size: int
) -> Response:
    runtime = runtime_of(request)
    path = f"{RUN_PATH}/{run_id}"

    def look() -> live.Look:
        with reading(runtime.engine) as connection:
            if session_of(connection, token, runtime.clock()) is None:
                return live.Look(signed_in=False, progress=None)
            return live.Look(True, repository.run_progress(connection, run_id))

    async def look_off_loop() -> live.Look:
        return await off_loop(runtime, look)

    if (await look_off_loop()).progress is None:
        return _plain(f"There is no run {run_id}.", 404)

    def read_run() -> dict[str, Any] | None:
        with reading(runtime.engine) as connection:
            return queries.run_page(connection, run_id, page, page_size)

    async def render_live() -> str:
        run = await off_loop(runtime, read_run)
        if run is None:
            return ""
        paging = listing.paging(request.query_params, page, page_size, run["total"], path)
        context = {
            "session": session,
            "run": run,
            "resendable": run["status"] in RESENDABLE,
            "paging": paging,
            "content_retention_days": runtime.settings.content_retention_days,
        }
        return render_text("partials/run_live.html", context)

    events = live.live_events(look_off_loop, render_live, request.is_disconnected)
    response = StreamingResponse(events, media_type="text/event-stream")
    # No proxy may hold the events back to send them in one piece.
    response.headers["X-Accel-Buffering"] = "no"
    return secured(response)


@router.post(RUN_PATH + "/{run_id}/resend")
async def resend(request: Request, run_id: str) -> Response:
    """Re-run a run: the next run of its chain, then to that run's page."""
    number = _run_id(run_id)
    session = await _current_session(request)
    if session is None:
        return _to_sign_in(request, f"{RUN_PATH}/{number}" if number else HOME_PATH)
    form = await request.form()
    if not _csrf_ok(request, form, session):
        return _error_page(session, 403, "Not resent", CSRF_REFUSED)
    if number is None:
        return _error_page(session, 404, "No such run", f"There is no run {run_id}.")
    runtime = runtime_of(request)
    try:
        created = await run_in_threadpool(flows.rerun, runtime.engine, number, runtime.clock)
    except flows.RerunError as refused:
        if refused.missing:
            return _error_page(session, 404, "No such run", str(refused))
        return await _run_response(request, session, number, resend_error=str(refused))
    if runtime.runner is not None:
        runtime.runner.submit_runs([created.id])
    return redirect(f"{RUN_PATH}/{created.id}")


@router.get(SETTINGS_PATH)
async def workspace_settings(request: Request) -> Response:
    """The workspace's notification switches, read-only, with the counts behind the tiles."""
    session = await _current_session(request)
    if session is None:
        return _to_sign_in(request)
    runtime = runtime_of(request)

    def read() -> queries.WorkspaceView:
        with reading(runtime.engine) as connection:
            return queries.workspace_view(connection, runtime.clock())

    view = await off_loop(runtime, read)
    return _page("settings.html", session, section="settings", view=view)


@router.get(listing.LOGS_PATH)
async def logs_list(request: Request) -> Response:
    """The per-recipient logs with every log filter of the API, paged (the list alone for
    htmx), with links to export them."""
    session = await _current_session(request)
    if session is None:
        return _to_sign_in(request)
    runtime = runtime_of(request)
    listed = listing.with_page_defaults(request, listing.LOG_PAGE_DEFAULTS)
    asked: tuple[LogFilter, PageRequest] | None = None
    error: str | None = None
    try:
        asked = log_filter_of(listed), _page_request(listed)
    except ApiError as refused:
        error = refused.details or refused.message

    def read() -> dict[str, Any] | None:
        if asked is None:
            return None
        with reading(runtime.engine) as connection:
            return queries.logs_page(connection, *asked)

    found = await off_loop(runtime, read)
    paging = None
    if asked is not None and found is not None:
        page = asked[1]
        paging = listing.paging(
            request.query_params, page.page, page.page_size, found["total"], listing.LOGS_PATH
        )
    htmx = _is_htmx(request)
    response = _page(
        "partials/logs.html" if htmx else "logs.html",
        session,
        400 if error else 200,
        section="recipients",
        form=listing.log_filter_form(listed.query_params),
        logs=None if found is None else found["logs"],
        paging=paging,
        error=error,
        oob=htmx,
        csv_href=listing.export_href(request.query_params, ExportFormat.CSV.value),
        ndjson_href=listing.export_href(request.query_params, ExportFormat.NDJSON.value),
    )
    response.headers["Vary"] = "HX-Request"
    return response


@router.get(listing.EXPORT_PATH + ".{extension}")
async def logs_export(request: Request, extension: str) -> Response:
    """Every log the filters select, as a CSV or NDJSON file, streamed a page at a time."""
    session = await _current_session(request)
    if session is None:
        return _to_sign_in(request)
    try:
        export_format = ExportFormat(extension)
    except ValueError:
        return _error_page(session, 404, "No such export", "Exports are .csv or .ndjson.")
    try:
        f, order = log_filter_of(request), _page_request(request).order
    except ApiError as refused:
        message = refused.details or refused.message
        return _error_page(session, 400, "These filters cannot be exported", message)
    runtime = runtime_of(request)

    async def read_page(after: repository.LogCursor | None, size: int) -> Any:
        def read() -> Any:
            with reading(runtime.engine) as connection:
                return repository.log_export_page(connection, f, order, after, size)

        return await off_loop(runtime, read)

    name = export_filename(export_format, runtime.clock())
    response = StreamingResponse(
        export_chunks(export_format, read_page), media_type=export_format.media_type
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return secured(response)

"""The engine's endpoints: events in (and their preview), re-runs, and the why of each log."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tidings.auth.dependencies import require_permission
from tidings.auth.permissions import Permission
from tidings.auth.service import Principal
from tidings.engine import flows
from tidings.engine.schemas import EventIn, RunCreated
from tidings.engine.views import log_attempts as read_log_attempts
from tidings.engine.views import log_detail as read_log_detail
from tidings.engine.views import run_detail as read_run_detail
from tidings.kit.errors import bad_request, conflict, not_found
from tidings.kit.openapi import json_response_of, responses_of
from tidings.kit.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tidings.kit.wire import json_response
from tidings.runtime import runtime_of

router = APIRouter(tags=["Notification engine"])
MAX_ID = 2**63 - 1
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the run.")]
LogId = Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the log.")]
CanSend = Annotated[Principal, Depends(require_permission(Permission.SEND_NOTIFICATIONS))]
CanView = Annotated[Principal, Depends(require_permission(Permission.VIEW_NOTIFICATION_LOGS))]


def _body(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


@router.post(
    "/api/v1/notifications/events",
    operation_id="submitNotificationEvent",
    summary="Send a notification event",
    description="Creates one run per medium the type can use and queues them for delivery. "
    "The same `idempotencyKey` within 24 hours creates nothing and returns the first answer. "
    "The API key needs `SEND_NOTIFICATIONS`.",
    status_code=202,
    response_model=None,
    responses=responses_of(
        json_response_of("EventAnswer", "The event was accepted; its runs"),
        202,
        _200=json_response_of("EventAnswer", "A replay: the first answer to this key"),
    ),
)
async def submit_event(request: Request, event: EventIn, _principal: CanSend) -> Response:
    """Accept an event."""
    runtime = runtime_of(request)
    try:
        answer, queued = await run_in_threadpool(
            flows.submit_event, runtime.engine, event, runtime.settings.public_url, runtime.clock
        )
    except flows.EventError as error:
        raise bad_request(str(error)) from None
    if queued and runtime.runner is not None:
        runtime.runner.submit_runs(queued)
    return json_response(_body(answer), status_code=200 if answer.replayed else 202)


@router.post(
    "/api/v1/notifications/events/preview",
    operation_id="previewNotificationEvent",
    summary="Preview a notification event",
    description="The runs and per-recipient decisions the event would produce, without "
    "writing or sending anything (at most 200 recipients listed per run; `counts` covers "
    "all). The API key needs `SEND_NOTIFICATIONS`.",
    response_model=None,
    responses=responses_of(json_response_of("PreviewAnswer", "What the event would do")),
)
async def preview_event(request: Request, event: EventIn, _principal: CanSend) -> Response:
    """Preview an event."""
    runtime = runtime_of(request)
    try:
        answer = await run_in_threadpool(
            partial(
                flows.preview_event,
                backstage_url=runtime.settings.backstage_base_url,
            ),
            runtime.engine,
            event,
            runtime.settings.public_url,
            runtime.clock,
        )
    except flows.EventError as error:
        raise bad_request(str(error)) from None
    return json_response(_body(answer))


@router.post(
    "/api/v1/notifications/logs/run/{run_id}/rerun",
    operation_id="rerunNotificationRun",
    summary="Re-run a notification run",
    description="Creates the next run of the chain (`originalRunId`, `seqNo`): recipients "
    "already delivered, or still being tried by a CREATED run, get IGNORED / DUPLICATE; the "
    "others are sent again. Allowed for CREATED (once expanded), FAILED and "
    "COMPLETED_WITH_ERRORS runs. The API key needs `SEND_NOTIFICATIONS`.",
    status_code=201,
    response_model=None,
    responses=responses_of(
        json_response_of("RunCreated", "The new run of the chain"),
        201,
        _404=json_response_of("ErrorResponse", "No such run"),
        _409=json_response_of("ErrorResponse", "The run's status does not allow a re-run"),
    ),
)
async def rerun_run(request: Request, run_id: RunId, _principal: CanSend) -> Response:
    """Re-run a run."""
    runtime = runtime_of(request)
    try:
        run = await run_in_threadpool(flows.rerun, runtime.engine, run_id, runtime.clock)
    except flows.RerunError as error:
        raise (not_found(str(error)) if error.missing else conflict(str(error))) from None
    if runtime.runner is not None:
        runtime.runner.submit_runs([run.id])
    created = RunCreated(id=run.id, medium=run.medium, status=run.status)
    return json_response(_body(created), status_code=201)


@router.get(
    "/api/v1/notifications/logs/{log_id}",
    operation_id="getNotificationLogDetail",
    summary="One notification log, with why",
    description="A log with why its recipient was chosen, the sentence for an ignored or "
    "failed log, and its rendered content while retained. The API key needs "
    "`VIEW_NOTIFICATION_LOGS`.",
    response_model=None,
    responses=responses_of(
        {"description": "The log with why, explanation and content"},
        _404=json_response_of("ErrorResponse", "No such log"),
    ),
)
async def log_detail(request: Request, log_id: LogId, _principal: CanView) -> Response:
    """One log with its why and content."""
    runtime = runtime_of(request)

    def read() -> dict[str, Any] | None:
        with runtime.engine.connect() as connection:
            return read_log_detail(connection, log_id)

    found = await run_in_threadpool(read)
    if found is None:
        raise not_found(f"log {log_id} does not exist")
    return json_response(found)


@router.get(
    "/api/v1/notifications/logs/{log_id}/attempts",
    operation_id="listNotificationLogAttempts",
    summary="Every try to send one notification log",
    description="Each try in order: number, start, latency, outcome (`DELIVERED`, `RETRY`, "
    "`RATE_LIMITED`, `FAILED`), the HTTP status or SMTP reply code, the provider's request "
    "id, and a redacted excerpt of its answer. The API key needs `VIEW_NOTIFICATION_LOGS`.",
    response_model=None,
    responses=responses_of(
        {"description": "The log's attempts"},
        _404=json_response_of("ErrorResponse", "No such log"),
    ),
)
async def log_attempts(request: Request, log_id: LogId, _principal: CanView) -> Response:
    """The tries of one log."""
    runtime = runtime_of(request)

    def read() -> dict[str, Any] | None:
        with runtime.engine.connect() as connection:
            return read_log_attempts(connection, log_id)

    found = await run_in_threadpool(read)
    if found is None:
        raise not_found(f"log {log_id} does not exist")
    return json_response(found)


@router.get(
    "/api/v1/notifications/logs/run/{run_id}",
    operation_id="getNotificationRunDetail",
    summary="One notification run, with its chain and the why of its logs",
    description="The run, its objects, its re-run chain, counts of its logs by status and "
    "reason, and one page of its logs with why and the decision sentence (`page`, "
    "`pageSize`). The API key needs `VIEW_NOTIFICATION_LOGS`.",
    response_model=None,
    responses=responses_of(
        {"description": "The run with its chain, counts and a page of logs"},
        _404=json_response_of("ErrorResponse", "No such run"),
    ),
)
async def run_detail(
    request: Request,
    run_id: RunId,
    _principal: CanView,
    page: Annotated[int, Query(ge=0, le=2**31 - 1, description="Page of logs, from 0.")] = 0,
    pageSize: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Logs per page.")
    ] = DEFAULT_PAGE_SIZE,
) -> Response:
    """One run with its chain and a page of its logs."""
    runtime = runtime_of(request)

    def read() -> dict[str, Any] | None:
        with runtime.engine.connect() as connection:
            return read_run_detail(connection, run_id, page, pageSize)

    found = await run_in_threadpool(read)
    if found is None:
        raise not_found(f"run {run_id} does not exist")
    return json_response(found)

"""`GET /api/v1/notifications/logs` and `GET /api/v1/notifications/logs/run`."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tidings.auth.dependencies import authorize
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
from tidings.kit import query
from tidings.kit.errors import bad_request
from tidings.kit.openapi import json_response_of, responses_of
from tidings.kit.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from tidings.kit.wire import json_response
from tidings.logs import service
from tidings.logs.filters import DateRangeError, LogFilter, RunFilter, check_date_range
from tidings.runtime import runtime_of

router = APIRouter(tags=["Notification Logs"])
# Pages starting deeper go to a reader thread at once (kit.reads): skipping a row costs
# about 0.1 µs on SQLite, so a page this deep still takes a few milliseconds, while one
# 250,000 rows deep takes 17 to 35 and would only run into the inline deadline.
INLINE_MAX_OFFSET = 50_000


TYPES = query.enum_array("notificationTypes", NotificationType, "Only these notification types.")
MEDIUMS = query.enum_array("mediums", Medium, "Only these mediums.")
FROM_DATE = query.date_time(
    "fromDate", "Earliest dateCreated, inclusive. No zone means UTC; Z and offsets are honoured."
)
UNTIL_DATE = query.date_time(
    "untilDate", "Latest dateCreated, inclusive. No zone means UTC; Z and offsets are honoured."
)
PAGE_SIZE = query.int32(
    "pageSize",
    f"Items per page, 1 to {MAX_PAGE_SIZE}. Default {DEFAULT_PAGE_SIZE}.",
    default=DEFAULT_PAGE_SIZE,
    minimum=1,
    maximum=MAX_PAGE_SIZE,
)
PAGE = query.int32("page", "Page to return, counted from 0. Default 0.", default=0, minimum=0)
ORDER_BY = query.enum_value(
    "orderBy", SortOrder, "Order by dateCreated (then id).", default=SortOrder.DESC
)

LOG_RUN_IDS = query.int64_array("notificationRunIds", "Only logs of these runs.")
LOG_STATUSES = query.enum_array("statuses", LogStatus, "Only logs with these statuses.")
LOG_RECIPIENT_TYPES = query.enum_array(
    "recipientTypes", RecipientType, "Only these kinds of recipient."
)
LOG_EMAILS = query.string_array(
    "recipientEmails", "Only logs sent to these email addresses (case-insensitive)."
)
LOG_ENTITY_IDS = query.int64_array("recipientEntityIds", "Only logs sent to these entities.")
LOG_CHANNELS = query.string_array(
    "recipientChannels", "Only logs sent to these Slack or Teams channels ('#' optional)."
)
LOG_IGNORED = query.enum_array("ignoredReasons", IgnoredReason, "Only logs ignored for these.")
LOG_FAILED = query.enum_array("failedReasons", FailedReason, "Only logs failed for these.")
LOG_PARAMETERS = (
    LOG_RUN_IDS,
    TYPES,
    LOG_STATUSES,
    LOG_RECIPIENT_TYPES,
    LOG_EMAILS,
    LOG_ENTITY_IDS,
    LOG_CHANNELS,
    MEDIUMS,
    LOG_IGNORED,
    LOG_FAILED,
    FROM_DATE,
    UNTIL_DATE,
    PAGE_SIZE,
    PAGE,
    ORDER_BY,
)

RUN_STATUSES = query.enum_array("statuses", RunStatus, "Only runs with these statuses.")
RUN_IGNORED = query.enum_array("ignoredReasons", RunIgnoredReason, "Only runs ignored for these.")
RUN_FAILED = query.enum_array("failedReasons", RunFailedReason, "Only runs failed for these.")
SEARCH = query.free_text(
    "searchQuery",
    "Case-insensitive text found in the run's summary or in the name, tag or cid of its objects.",
)
INCLUDE_OBJECTS = query.boolean(
    "includeObjects", "Include each run's notificationObjects.", default=False
)
DELIVERED_ONLY = query.boolean(
    "deliveredOnly", "Only runs that delivered at least one log.", default=True
)
RUN_PARAMETERS = (
    TYPES,
    RUN_STATUSES,
    MEDIUMS,
    RUN_IGNORED,
    RUN_FAILED,
    SEARCH,
    INCLUDE_OBJECTS,
    FROM_DATE,
    UNTIL_DATE,
    DELIVERED_ONLY,
    PAGE_SIZE,
    PAGE,
    ORDER_BY,
)


def _page_request(request: Request) -> PageRequest:
    params = request.query_params
    return PageRequest(
        page=PAGE.parse(params), page_size=PAGE_SIZE.parse(params), order=ORDER_BY.parse(params)
    )


def _checked_dates(request: Request) -> tuple[Any, Any]:
    from_date = FROM_DATE.parse(request.query_params)
    until_date = UNTIL_DATE.parse(request.query_params)
    try:
        check_date_range(from_date, until_date)
    except DateRangeError as error:
        raise bad_request(f"fromDate, untilDate: {error}") from None
    return from_date, until_date


def log_filter_of(request: Request) -> LogFilter:
    """The log filter a request asks for, or a 400 naming the first bad parameter."""
    params = request.query_params
    from_date, until_date = _checked_dates(request)
    return LogFilter(
        run_ids=LOG_RUN_IDS.parse(params),
        types=TYPES.parse(params),
        statuses=LOG_STATUSES.parse(params),
        recipient_types=LOG_RECIPIENT_TYPES.parse(params),
        recipient_emails=LOG_EMAILS.parse(params),
        recipient_entity_ids=LOG_ENTITY_IDS.parse(params),
        recipient_channels=LOG_CHANNELS.parse(params),
        mediums=MEDIUMS.parse(params),
        ignored_reasons=LOG_IGNORED.parse(params),
        failed_reasons=LOG_FAILED.parse(params),
        from_date=from_date,
        until_date=until_date,
    )


def run_filter_of(request: Request) -> RunFilter:
    """The run filter a request asks for, or a 400 naming the first bad parameter."""
    params = request.query_params
    from_date, until_date = _checked_dates(request)
    return RunFilter(
        types=TYPES.parse(params),
        statuses=RUN_STATUSES.parse(params),
        mediums=MEDIUMS.parse(params),
        ignored_reasons=RUN_IGNORED.parse(params),
        failed_reasons=RUN_FAILED.parse(params),
        search_query=SEARCH.parse(params),
        from_date=from_date,
        until_date=until_date,
        delivered_only=DELIVERED_ONLY.parse(params),
    )


@router.get(
    "/api/v1/notifications/logs",
    operation_id="listNotificationLogs",
    summary="Retrieve notification logs",
    description="Per-recipient notification logs matching the filters, newest first by "
    "default. The API key needs the `VIEW_NOTIFICATION_LOGS` permission.",
    response_model=None,
    responses=responses_of(json_response_of("NotificationLogResponse", "A page of logs")),
    openapi_extra={"parameters": [p.openapi() for p in LOG_PARAMETERS]},
)
async def list_notification_logs(request: Request) -> Response:
    """One page of notification logs."""
    # Authorised here rather than through FastAPI's dependency injection: the app
    # dispatches this router bare (kit.routing.include_dispatched_bare).
    await authorize(request, Permission.VIEW_NOTIFICATION_LOGS)
    f, page = log_filter_of(request), _page_request(request)
    answer = await runtime_of(request).reads.run(
        lambda connection: service.list_logs(connection, f, page),
        cheap=page.offset <= INLINE_MAX_OFFSET,
    )
    return json_response(answer)


@router.get(
    "/api/v1/notifications/logs/run",
    operation_id="listNotificationRuns",
    summary="Retrieve notification runs",
    description="Notification runs matching the filters, newest first by default. The API key "
    "needs the `VIEW_NOTIFICATION_LOGS` permission.",
    response_model=None,
    responses=responses_of(json_response_of("NotificationRunResponse", "A page of runs")),
    openapi_extra={"parameters": [p.openapi() for p in RUN_PARAMETERS]},
)
async def list_notification_runs(request: Request) -> Response:
    """One page of notification runs."""
    await authorize(request, Permission.VIEW_NOTIFICATION_LOGS)
    f, page = run_filter_of(request), _page_request(request)
    include_objects = INCLUDE_OBJECTS.parse(request.query_params)
    answer = await runtime_of(request).reads.run(
        lambda connection: service.list_runs(connection, f, page, include_objects=include_objects),
        # A search's cost depends on how many summaries match, which only running it tells.
        cheap=page.offset <= INLINE_MAX_OFFSET and not f.search_query,
    )
    return json_response(answer)

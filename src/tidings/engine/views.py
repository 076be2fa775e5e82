"""tidings' own read views of a log and a run: the Cortex fields plus why, content, chain."""

import json
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select

from tidings.engine import repository
from tidings.engine.models import NotificationContent
from tidings.kit.wire import format_instant
from tidings.logs import repository as logs_repository
from tidings.logs import service as logs_service
from tidings.logs.repository import LOG_WIRE_COLUMNS, RUN_WIRE_COLUMNS, logs, runs

contents = cast(Table, NotificationContent.__table__)


def _log(row: Any) -> dict[str, Any]:
    body = logs_service.log_to_wire(row[: len(LOG_WIRE_COLUMNS)])
    why, explanation = row[len(LOG_WIRE_COLUMNS)], row[len(LOG_WIRE_COLUMNS) + 1]
    if why is not None:
        body["why"] = why
    if explanation is not None:
        body["explanation"] = explanation
    return body


def log_detail(connection: Connection, log_id: int) -> dict[str, Any] | None:
    """A log as the Cortex API shows it, with `why`, `explanation` and its `content`."""
    row = connection.execute(
        select(*LOG_WIRE_COLUMNS, logs.c.why, logs.c.explanation).where(logs.c.id == log_id)
    ).first()
    if row is None:
        return None
    body = _log(row)
    content = repository.content_of(connection, log_id)
    if content is not None:
        subject, text, structured = content
        body["content"] = {"subject": subject, "text": text, "body": json.loads(structured)}
    body["attempts"] = attempts_to_wire(connection, log_id)
    return body


def attempts_to_wire(connection: Connection, log_id: int) -> list[dict[str, Any]]:
    """Every try to send a log, first first, absent fields omitted."""
    tries = []
    for attempt in repository.attempts_of(connection, log_id):
        item: dict[str, Any] = {
            "number": attempt.number,
            "startedAt": format_instant(attempt.started_at),
            "latencyMs": round(attempt.latency_ms, 1),
            "outcome": attempt.outcome,
        }
        optional = {
            "statusCode": attempt.status_code,
            "providerRequestId": attempt.provider_request_id,
            "errorMessage": attempt.error_message,
            "responseExcerpt": attempt.response_excerpt,
        }
        item.update({key: value for key, value in optional.items() if value is not None})
        tries.append(item)
    return tries


def log_attempts(connection: Connection, log_id: int) -> dict[str, Any] | None:
    """A log's tries, or None when there is no such log."""
    found = connection.execute(select(logs.c.id).where(logs.c.id == log_id)).first()
    if found is None:
        return None
    return {"logId": log_id, "attempts": attempts_to_wire(connection, log_id)}


def run_detail(
    connection: Connection, run_id: int, page: int, page_size: int
) -> dict[str, Any] | None:
    """A run with its objects, chain, log counts and one page of logs with their why."""
    row = connection.execute(select(*RUN_WIRE_COLUMNS).where(runs.c.id == run_id)).first()
    if row is None:
        return None
    objects = logs_repository.objects_of_runs(connection, [run_id]).get(run_id, [])
    body = logs_service.run_to_wire(row, objects)
    root = body.get("originalRunId", run_id)
    body["chain"] = [
        {"id": run.id, "seqNo": run.seq_no, "status": run.status}
        for run in repository.chain_runs(connection, root)
    ]
    counts = connection.execute(
        select(logs.c.status, logs.c.ignored_reason, logs.c.failed_reason, func.count())
        .where(logs.c.run_id == run_id)
        .group_by(logs.c.status, logs.c.ignored_reason, logs.c.failed_reason)
    )
    body["logCounts"] = [
        {"status": status, "reason": ignored or failed, "count": int(count)}
        if ignored or failed
        else {"status": status, "count": int(count)}
        for status, ignored, failed, count in counts
    ]
    total = sum(item["count"] for item in body["logCounts"])
    page_rows = connection.execute(
        select(*LOG_WIRE_COLUMNS, logs.c.why, logs.c.explanation)
        .where(logs.c.run_id == run_id)
        .order_by(logs.c.id)
        .limit(page_size)
        .offset(page * page_size)
    )
    body["logs"] = [_log(log_row) for log_row in page_rows]
    body["page"], body["total"] = page, total
    body["totalPages"] = -(-total // page_size)
    return body

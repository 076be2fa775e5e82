"""Answers of the read API: filters in, Cortex-shaped bodies out."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from tidings.kit.pagination import PageRequest, envelope
from tidings.kit.wire import format_instant
from tidings.logs import repository
from tidings.logs.filters import LogFilter, RunFilter

_LOG_OPTIONAL = (
    ("recipient_user_id", "recipientUserId"),
    ("recipient_email", "recipientEmail"),
    ("recipient_entity_id", "recipientEntityId"),
    ("recipient_channel", "recipientChannel"),
    ("ignored_reason", "ignoredReason"),
    ("failed_reason", "failedReason"),
    ("error_message", "errorMessage"),
)
_RUN_OPTIONAL = (
    ("ignored_reason", "ignoredReason"),
    ("failed_reason", "failedReason"),
    ("error_message", "errorMessage"),
    ("original_run_id", "originalRunId"),
)
_DATES = (
    ("date_created", "dateCreated"),
    ("date_updated", "dateUpdated"),
    ("date_delivered", "dateDelivered"),
)


def _copy_present(
    row: Mapping[Any, Any], body: dict[str, Any], fields: tuple[tuple[str, str], ...]
) -> None:
    """Absent optional fields are omitted, never null: the spec declares none nullable."""
    for column, key in fields:
        value = row.get(column)
        if value is not None:
            body[key] = value


def _copy_dates(row: Mapping[Any, Any], body: dict[str, Any]) -> None:
    for column, key in _DATES:
        value = row.get(column)
        if value is not None:
            body[key] = format_instant(value)


def log_to_wire(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored log as a Cortex `NotificationLog`."""
    body: dict[str, Any] = {
        "id": row["id"],
        "runId": row["run_id"],
        "type": row["notification_type"],
        "medium": row["medium"],
        "status": row["status"],
        "recipientType": row["recipient_type"],
    }
    _copy_present(row, body, _LOG_OPTIONAL)
    _copy_dates(row, body)
    return body


def object_to_wire(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored object as a Cortex `NotificationObject`."""
    body: dict[str, Any] = {"id": row["object_id"], "name": row["name"], "type": row["object_type"]}
    _copy_present(row, body, (("tag", "tag"), ("cid", "cid"), ("url", "url")))
    return body


def run_to_wire(row: Mapping[Any, Any], objects: list[Any] | None) -> dict[str, Any]:
    """A stored run as a Cortex `NotificationRun`; objects only when asked for."""
    body: dict[str, Any] = {
        "id": row["id"],
        "notificationType": row["notification_type"],
        "medium": row["medium"],
        "status": row["status"],
        "summary": row["summary"],
        "deliveredCount": row["delivered_count"],
        "seqNo": row["seq_no"],
    }
    _copy_present(row, body, _RUN_OPTIONAL)
    _copy_dates(row, body)
    if objects is not None:
        body["notificationObjects"] = [object_to_wire(item) for item in objects]
    return body


def list_logs(connection: Connection, f: LogFilter, page: PageRequest) -> dict[str, Any]:
    """One page of logs with the true total."""
    total = repository.count(connection, repository.log_count_statement(f))
    rows = (
        repository.fetch(connection, repository.log_page_statement(f, page))
        if page.offset < total
        else []
    )
    return envelope("logs", [log_to_wire(row) for row in rows], page, total)


def list_runs(
    connection: Connection, f: RunFilter, page: PageRequest, *, include_objects: bool
) -> dict[str, Any]:
    """One page of runs with the true total, with their objects when asked for."""
    total = repository.count(connection, repository.run_count_statement(f))
    rows = (
        repository.fetch(connection, repository.run_page_statement(f, page))
        if page.offset < total
        else []
    )
    objects = (
        repository.objects_of_runs(connection, [row["id"] for row in rows])
        if include_objects
        else None
    )
    items = [
        run_to_wire(row, None if objects is None else objects.get(row["id"], [])) for row in rows
    ]
    return envelope("runs", items, page, total)

"""Answers of the read API: filters in, Cortex-shaped bodies out."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tidings.kit.pagination import PageRequest, envelope
from tidings.logs import repository
from tidings.logs.filters import LogFilter, RunFilter


def log_to_wire(row: Sequence[Any]) -> dict[str, Any]:
    """A page row of logs (`repository.LOG_WIRE_COLUMNS`) as a Cortex `NotificationLog`.

    Positional and unrolled: this runs for every row of every page, and reading a row's
    fields by name cost more than the SQL that fetched it.
    """
    (
        log_id,
        run_id,
        notification_type,
        medium,
        status,
        recipient_type,
        user_id,
        email,
        entity_id,
        channel,
        ignored,
        failed,
        error,
        created,
        updated,
        delivered,
    ) = row
    body: dict[str, Any] = {
        "id": log_id,
        "runId": run_id,
        "type": notification_type,
        "medium": medium,
        "status": status,
        "recipientType": recipient_type,
    }
    if user_id is not None:
        body["recipientUserId"] = user_id
    if email is not None:
        body["recipientEmail"] = email
    if entity_id is not None:
        body["recipientEntityId"] = entity_id
    if channel is not None:
        body["recipientChannel"] = channel
    if ignored is not None:
        body["ignoredReason"] = ignored
    if failed is not None:
        body["failedReason"] = failed
    if error is not None:
        body["errorMessage"] = error
    if created is not None:
        body["dateCreated"] = created
    if updated is not None:
        body["dateUpdated"] = updated
    if delivered is not None:
        body["dateDelivered"] = delivered
    return body


def object_to_wire(row: Sequence[Any]) -> dict[str, Any]:
    """A row of `repository.OBJECT_WIRE_COLUMNS` as a Cortex `NotificationObject`;
    absent optional fields are omitted, never null (the spec declares none nullable).
    Columns after those (a run id) are ignored."""
    object_id, object_type, name, tag, cid, url, *_ = row
    body: dict[str, Any] = {"id": object_id, "name": name, "type": object_type}
    if tag is not None:
        body["tag"] = tag
    if cid is not None:
        body["cid"] = cid
    if url is not None:
        body["url"] = url
    return body


def object_mapping_to_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `notification_objects` row held as a mapping, as a Cortex `NotificationObject`."""
    return object_to_wire([row.get(name) for name in repository.OBJECT_WIRE_COLUMNS])


def run_to_wire(row: Sequence[Any], objects: list[Any] | None) -> dict[str, Any]:
    """A page row of runs (`repository.RUN_WIRE_COLUMNS`) as a Cortex `NotificationRun`;
    objects only when asked for."""
    (
        run_id,
        notification_type,
        medium,
        status,
        summary,
        delivered_count,
        ignored,
        failed,
        error,
        original_run_id,
        seq_no,
        created,
        updated,
    ) = row
    body: dict[str, Any] = {
        "id": run_id,
        "notificationType": notification_type,
        "medium": medium,
        "status": status,
        "summary": summary,
        "deliveredCount": delivered_count,
        "seqNo": seq_no,
    }
    if ignored is not None:
        body["ignoredReason"] = ignored
    if failed is not None:
        body["failedReason"] = failed
    if error is not None:
        body["errorMessage"] = error
    if original_run_id is not None:
        body["originalRunId"] = original_run_id
    if created is not None:
        body["dateCreated"] = created
    if updated is not None:
        body["dateUpdated"] = updated
    if objects is not None:
        body["notificationObjects"] = [object_to_wire(item) for item in objects]
    return body


@dataclass(frozen=True)
class PageRows:
    """What the database answers for one page: the true total, the page's rows (in the
    repository's wire column order) and, when asked for, each run's objects."""

    total: int
    rows: Sequence[Sequence[Any]]
    objects: dict[int, list[Sequence[Any]]] | None = None


def log_page_rows(connection: Connection, f: LogFilter, page: PageRequest) -> PageRows:
    """The statements behind a page of logs: the total, then the page unless it lies past it."""
    total = repository.count(connection, repository.log_count_statement(f))
    rows = (
        repository.fetch_rows(connection, repository.log_page_statement(f, page))
        if page.offset < total
        else []
    )
    return PageRows(total, rows)


def _searched_runs(
    connection: Connection, f: RunFilter, page: PageRequest
) -> tuple[int, Sequence[Sequence[Any]]]:
    """A search's total and page, from one statement: finding the matches is most of the
    cost, and a count and a page each finding them would pay it twice."""
    rows = repository.fetch_searched_runs(connection, f, page)
    if rows:
        return int(rows[0][-1]), [row[:-1] for row in rows]
    # No row carries the total: nothing matches, or the page lies past the last match.
    if page.offset == 0:
        return 0, []
    return repository.count(connection, repository.run_count_statement(f)), []


def run_page_rows(
    connection: Connection, f: RunFilter, page: PageRequest, *, include_objects: bool
) -> PageRows:
    """The statements behind a page of runs: the total and the page (one statement for a
    search), then the page's objects when asked for."""
    if f.search_query:
        total, rows = _searched_runs(connection, f, page)
    else:
        total = repository.count(connection, repository.run_count_statement(f))
        rows = (
            repository.fetch_rows(connection, repository.run_page_statement(f, page))
            if page.offset < total
            else []
        )
    objects = (
        repository.objects_of_runs(connection, [row[0] for row in rows])
        if include_objects
        else None
    )
    return PageRows(total, rows, objects)


def list_logs(connection: Connection, f: LogFilter, page: PageRequest) -> dict[str, Any]:
    """One page of logs with the true total."""
    answer = log_page_rows(connection, f, page)
    return envelope("logs", [log_to_wire(row) for row in answer.rows], page, answer.total)


def list_runs(
    connection: Connection, f: RunFilter, page: PageRequest, *, include_objects: bool
) -> dict[str, Any]:
    """One page of runs with the true total, with their objects when asked for."""
    answer = run_page_rows(connection, f, page, include_objects=include_objects)
    objects = answer.objects
    items = [
        run_to_wire(row, None if objects is None else objects.get(row[0], []))
        for row in answer.rows
    ]
    return envelope("runs", items, page, answer.total)

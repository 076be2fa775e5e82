"""Exporting the logs a filter selects, as CSV or NDJSON, a keyset page at a time.

However many logs match, the process holds one page of them: each page is read by
(date_created, id) after the last row of the one before, written out, and forgotten. Each
read takes a connection of its own, so a slow download never holds one between pages.
"""

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from tidings.logs.service import log_to_wire
from tidings.web.repository import LogCursor

EXPORT_PAGE_SIZE = 1000
# The Cortex NotificationLog's fields, in the order the API writes them: the CSV's header.
LOG_FIELDS = (
    "id",
    "runId",
    "type",
    "medium",
    "status",
    "recipientType",
    "recipientUserId",
    "recipientEmail",
    "recipientEntityId",
    "recipientChannel",
    "ignoredReason",
    "failedReason",
    "errorMessage",
    "dateCreated",
    "dateUpdated",
    "dateDelivered",
)
# A spreadsheet takes a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Reads up to so many rows after a cursor (None: from the start).
PageReader = Callable[[LogCursor | None, int], Awaitable[Sequence[Sequence[Any]]]]


class ExportFormat(StrEnum):
    """The file formats of an export, by their file extension."""

    CSV = "csv"
    NDJSON = "ndjson"

    @property
    def media_type(self) -> str:
        """The Content-Type of the file."""
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/x-ndjson"


def export_filename(export_format: ExportFormat, now: datetime) -> str:
    """The file's name: what it holds and when it was made (UTC)."""
    return f"notification-logs-{now:%Y%m%dT%H%M%SZ}.{export_format.value}"


def safe_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: text starting with = + - @ (or a tab
    or carriage return) gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_header() -> bytes:
    """The CSV's first line: the Cortex field names."""
    return csv_rows([list(LOG_FIELDS)])


def csv_rows(rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows of cells as CSV lines (RFC 4180 quoting, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[safe_cell(cell) for cell in row] for row in rows])
    return buffer.getvalue().encode()


def csv_chunk(logs: Sequence[dict[str, Any]]) -> bytes:
    """Logs on the wire as CSV lines, an empty cell for each absent field."""
    return csv_rows([[log.get(name, "") for name in LOG_FIELDS] for log in logs])


def ndjson_chunk(logs: Sequence[dict[str, Any]]) -> bytes:
    """Logs on the wire as one JSON object a line."""
    return b"".join(orjson.dumps(log) + b"\n" for log in logs)


async def export_chunks(export_format: ExportFormat, read_page: PageReader) -> AsyncIterator[bytes]:
    """The file, a page of logs at a time: the header (CSV), then each page's lines."""
    if export_format is ExportFormat.CSV:
        yield csv_header()
    write = csv_chunk if export_format is ExportFormat.CSV else ndjson_chunk
    after: LogCursor | None = None
    size = EXPORT_PAGE_SIZE
    while True:
        rows = await read_page(after, size)
        if not rows:
            return
        yield write([log_to_wire(row[:-1]) for row in rows])
        if len(rows) < size:
            return
        last = rows[-1]
        after = LogCursor(date_created=last[-1], id=int(last[0]))

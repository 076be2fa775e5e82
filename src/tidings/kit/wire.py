"""How values look on the wire: instants, JSON bodies."""

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response


def format_instant(moment: datetime) -> str:
    """UTC with millisecond precision and a `Z`, as Cortex prints dates."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat pads years below 1000 (strftime's %Y does not) and runs in C: this is on
    # the path of every row the API returns. It ends in '+00:00' for UTC.
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def json_response(body: Any, status_code: int = 200) -> Response:
    """A JSON response serialised with orjson (enums as their values)."""
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")

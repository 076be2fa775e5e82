"""How values look on the wire: instants, JSON bodies."""

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response


def format_instant(moment: datetime) -> str:
    """UTC with millisecond precision and a `Z`, as Cortex prints dates."""
    moment = moment.astimezone(UTC)
    # Built by hand: strftime's %Y does not pad years below 1000 to four digits.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def json_response(body: Any, status_code: int = 200) -> Response:
    """A JSON response serialised with orjson (enums as their values)."""
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")

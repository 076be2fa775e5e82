"""How values look on the wire: instants, JSON bodies."""

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response


def format_instant(moment: datetime) -> str:
    """UTC with millisecond precision and a `Z`, as Cortex prints dates."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def json_response(body: Any, status_code: int = 200) -> Response:
    """A JSON response serialised with orjson (enums as their values)."""
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")

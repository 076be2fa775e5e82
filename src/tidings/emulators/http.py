"""HTTP answers the emulators share: JSON bodies, and what each fault makes a server answer."""

import asyncio
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tidings.emulators.faults import Fault, FaultKind

# The ASGI extension through which the server lets an app close a request's connection; the
# emulators' server (serving.py) provides it, ASGI itself has no way to say "hang up".
DROP_EXTENSION = "tidings.drop_connection"
DropConnection = Callable[[Scope], None]


def json_answer(
    body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response."""
    return Response(
        orjson.dumps(body), status_code=status_code, headers=headers, media_type="application/json"
    )


class DroppedConnection(Response):
    """Not an answer: the connection closes before any byte of a response is sent."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Close the connection, then wait until the server has noticed."""
        drop: DropConnection | None = scope.get("extensions", {}).get(DROP_EXTENSION)
        if drop is None:
            raise RuntimeError("drop faults need the emulators' own server (EmulatorSuite)")
        drop(scope)
        # Returning before the server sees the disconnect would make it answer 500 instead.
        while (await receive())["type"] != "http.disconnect":
            pass


async def answer_fault(fault: Fault | None, ratelimited_body: Any) -> Response | None:
    """The answer a fault calls for, or None to answer normally (after a delay's wait)."""
    if fault is None:
        return None
    if fault.kind is FaultKind.DELAY:
        await asyncio.sleep(fault.delay or 0)
        return None
    if fault.kind is FaultKind.DROP:
        return DroppedConnection()
    if fault.kind is FaultKind.RATELIMITED:
        return json_answer(ratelimited_body, 429, {"retry-after": str(fault.retry_after)})
    if fault.kind is FaultKind.SLACK_ERROR:
        # Slack reports its errors in an HTTP 200 body.
        return json_answer({"ok": False, "error": fault.slack_error})
    return _status_answer(fault.status or 500, fault.body)


def _status_answer(status: int, body: str | None) -> Response:
    if body is None:
        return Response(f"emulated fault: HTTP {status} {_phrase(status)}".strip(), status)
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return Response(body, status, media_type="text/plain")
    return Response(body, status, media_type="application/json")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""

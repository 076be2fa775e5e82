"""A Microsoft Teams Workflows webhook emulator: `POST /webhooks/{name}` takes Adaptive Cards.

A Workflows webhook ("Post to a channel when a webhook request is received") accepts a message
whose attachments are Adaptive Cards and answers 202 Accepted: the flow runs afterwards. Every
name is a webhook, as if each channel of the catalog had its own flow.
"""

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidings.emulators.control import control_routes
from tidings.emulators.faults import HTTP_FAULTS, FaultPlan
from tidings.emulators.http import answer_fault, json_answer
from tidings.emulators.received import Item, Received
from tidings.kit.clock import Clock, system_clock

# Teams refuses messages over 28 KB, the card and its envelope included.
BODY_LIMIT = 28 * 1024
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


class InvalidMessageError(ValueError):
    """A body that is not a Workflows message of Adaptive Cards."""


def _error(code: str, message: str, status: int) -> Response:
    # The shape of the errors Power Automate answers with.
    return json_answer({"error": {"code": code, "message": message}}, status)


class TeamsEmulator:
    """Workflows webhooks: every POST to `/webhooks/{name}` is one message to one channel."""

    title = "Teams"

    def __init__(self, *, clock: Clock = system_clock) -> None:
        self.received = Received(clock=clock)
        self.faults = FaultPlan(supported=HTTP_FAULTS, protocol="the Teams emulator")
        self.app = Starlette(
            routes=[
                Route("/webhooks/{name}", self._post, methods=["POST"]),
                *control_routes(self),
            ]
        )

    def headline(self, item: Item) -> str:
        """Which webhook (and person), and the card's first words."""
        to = f" to {item['recipient']}" if item["recipient"] else ""
        return f"{item['webhook']}{to}: {item['text'][:120] or '(no text)'}"

    async def _post(self, request: Request) -> Response:
        name = request.path_params["name"]
        faulted = await answer_fault(
            self.faults.take(name),
            {"error": {"code": "TooManyRequests", "message": "Rate limit is exceeded."}},
        )
        if faulted is not None:
            return faulted
        body = await _body_within(request, BODY_LIMIT)
        if body is None:
            return _error(
                "RequestEntityTooLarge",
                f"The message is larger than the {BODY_LIMIT} bytes Teams accepts.",
                413,
            )
        try:
            message = orjson.loads(body)
            cards = _adaptive_cards(message)
        except orjson.JSONDecodeError as error:
            return _error("InvalidRequestContent", f"The body is not JSON: {error}", 400)
        except InvalidMessageError as error:
            return _error("InvalidRequestContent", str(error), 400)
        self.received.record(
            {
                "webhook": name,
                # tidings' direct-message flow names the person the card is for.
                "recipient": message.get("recipient"),
                "cards": cards,
                "text": " ".join(_texts(cards)),
                "size": len(body),
                "message": message,
            }
        )
        return Response(status_code=202)


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds `limit` bytes (the rest is never held)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _adaptive_cards(message: Any) -> list[dict[str, Any]]:
    if not isinstance(message, dict) or message.get("type") != "message":
        raise InvalidMessageError('The body is not a message: {"type": "message", ...}.')
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        raise InvalidMessageError("The message has no attachments.")
    cards = []
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or attachment.get("contentType") != ADAPTIVE_CARD:
            raise InvalidMessageError(f"Attachment {index} is not of type {ADAPTIVE_CARD}.")
        content = attachment.get("content")
        if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
            raise InvalidMessageError(f"Attachment {index} holds no AdaptiveCard.")
        cards.append(content)
    return cards


def _texts(element: Any) -> list[str]:
    """The `text` of every element of a card, in reading order."""
    if isinstance(element, list):
        return [text for child in element for text in _texts(child)]
    if not isinstance(element, dict):
        return []
    own = [element["text"]] if isinstance(element.get("text"), str) else []
    return own + [text for value in element.values() for text in _texts(value)]

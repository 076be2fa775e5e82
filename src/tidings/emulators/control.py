"""The control surface every emulator serves: what it received, its faults, an inbox page."""

import html
from typing import Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tidings.emulators.faults import FaultPlan
from tidings.emulators.http import json_answer
from tidings.emulators.received import Item, Received

# The inbox page is for people: the newest items are what they look for.
INBOX_SHOWS = 200

INBOX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 70rem; }}
article {{ border-top: 1px solid #ccc; padding: .5rem 0; }}
h2 {{ font-size: 1rem; margin: .25rem 0; }}
pre {{ white-space: pre-wrap; background: #f4f4f4; padding: .5rem; font-size: .85rem; }}
</style></head>
<body><h1>{title}</h1><p>{summary}</p>
{articles}
</body></html>
"""
ARTICLE = "<article><h2>#{seq} · {when} · {headline}</h2><pre>{details}</pre></article>"


class Emulator(Protocol):
    """What the control surface needs from an emulator."""

    title: str
    received: Received
    faults: FaultPlan

    def headline(self, item: Item) -> str:
        """One line that says what an item is, for people."""
        ...


def control_routes(emulator: Emulator) -> list[BaseRoute]:
    """`/_emulator/received`, `/_emulator/faults` and `/inbox` for one emulator."""

    async def received(request: Request) -> Response:
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return json_answer({"error": "since is a whole number"}, 400)
        return json_answer(emulator.received.items(since))

    async def forget_received(request: Request) -> Response:
        emulator.received.clear()
        return Response(status_code=204)

    async def faults(request: Request) -> Response:
        return json_answer(emulator.faults.to_json())

    async def add_faults(request: Request) -> Response:
        try:
            emulator.faults.add_json(orjson.loads(await request.body()))
        except orjson.JSONDecodeError as error:
            return json_answer({"error": f"the body is not JSON: {error}"}, 400)
        except ValueError as error:
            return json_answer({"error": str(error)}, 400)
        return json_answer(emulator.faults.to_json(), 201)

    async def clear_faults(request: Request) -> Response:
        emulator.faults.clear()
        return Response(status_code=204)

    async def inbox(request: Request) -> Response:
        return HTMLResponse(inbox_page(emulator))

    async def home(request: Request) -> Response:
        return RedirectResponse("/inbox")

    return [
        Route("/_emulator/received", received, methods=["GET"]),
        Route("/_emulator/received", forget_received, methods=["DELETE"]),
        Route("/_emulator/faults", faults, methods=["GET"]),
        Route("/_emulator/faults", add_faults, methods=["POST"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/inbox", inbox, methods=["GET"]),
        Route("/", home, methods=["GET"]),
    ]


def inbox_page(emulator: Emulator) -> str:
    """The inbox as an HTML page, newest first, every received value escaped."""
    items = emulator.received.latest(INBOX_SHOWS)
    total = emulator.received.total
    if not items:
        summary = "Nothing received yet."
    elif total > len(items):
        summary = f"{total} received; the newest {len(items)} shown, newest first."
    else:
        summary = f"{total} received, newest first."
    articles = "\n".join(
        ARTICLE.format(
            seq=item["seq"],
            when=html.escape(str(item["received_at"])),
            headline=html.escape(emulator.headline(item)),
            details=html.escape(_pretty(item)),
        )
        for item in items
    )
    return INBOX_PAGE.format(
        title=html.escape(f"{emulator.title} emulator"), summary=summary, articles=articles
    )


def _pretty(item: dict[str, Any]) -> str:
    return orjson.dumps(item, option=orjson.OPT_INDENT_2, default=str).decode()

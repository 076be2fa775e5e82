"""A webhook receiver: `POST /hooks/{name}` checks Standard Webhooks signatures and records.

It sits on the fan-out benchmark's hot path (thousands of deliveries a second), so a delivery
costs one signature check and one append: no logging, no body kept beyond the latest ones, and
no Starlette routing for deliveries (its routing and Request doubled the handler's CPU time,
from about 40 to 80 µs). Served by uvicorn on uvloop, a delivery costs about 170 µs of CPU in
all: some 5,800 a second on one core. Starlette serves the control surface.
"""

import orjson
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from tidings.emulators.control import control_routes
from tidings.emulators.faults import HTTP_FAULTS, FaultPlan
from tidings.emulators.http import answer_fault, json_answer
from tidings.emulators.received import Item, Received
from tidings.kit import standard_webhooks
from tidings.kit.clock import Clock, system_clock

HOOKS = "/hooks/"
OK_BODY = b'{"ok":true}'
OK_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"11")]
SIGNATURE_HEADERS = frozenset(
    name.encode()
    for name in (
        standard_webhooks.ID_HEADER,
        standard_webhooks.TIMESTAMP_HEADER,
        standard_webhooks.SIGNATURE_HEADER,
    )
)
RATELIMITED_BODY = {"error": "rate limited"}


class WebhookEmulator:
    """Receivers of signed webhooks, one per name, sharing one signing secret."""

    title = "Webhook"

    def __init__(
        self,
        secret: str,
        *,
        require_signature: bool = True,
        tolerance_s: int = standard_webhooks.DEFAULT_TOLERANCE_S,
        clock: Clock = system_clock,
    ) -> None:
        standard_webhooks.secret_key(secret)  # a malformed secret fails here, not per request
        self.secret = secret
        self.require_signature = require_signature
        self.tolerance_s = tolerance_s
        self.clock = clock
        self.received = Received(clock=clock)
        self.faults = FaultPlan(supported=HTTP_FAULTS, protocol="the webhook emulator")
        self._control = Starlette(routes=control_routes(self))

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: deliveries to `POST /hooks/{name}`, the control surface otherwise."""
        path: str = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] == "POST" and path.startswith(HOOKS):
            name = path[len(HOOKS) :]
            if name and "/" not in name:
                await self._deliver(name, scope, receive, send)
                return
        await self._control(scope, receive, send)

    def headline(self, item: Item) -> str:
        """Which receiver, which message, and whether its signature held."""
        verdict = "signed" if item["signature_valid"] else f"BAD SIGNATURE ({item['error']})"
        return f"{item['hook']}: {item['webhook_id'] or '(no webhook-id)'} {verdict}"

    async def _deliver(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        faulted = await answer_fault(self.faults.take(name), RATELIMITED_BODY)
        if faulted is not None:
            await faulted(scope, receive, send)
            return
        body = await _body(receive)
        if body is None:
            return  # the sender hung up: there is no one to answer
        headers = {
            key.decode(): value.decode("latin-1")
            for key, value in scope["headers"]
            if key in SIGNATURE_HEADERS
        }
        error = None
        try:
            standard_webhooks.verify(
                self.secret, headers, body, int(self.clock().timestamp()), self.tolerance_s
            )
        except standard_webhooks.SignatureError as refused:
            error = str(refused)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = body.decode(errors="replace")
        self.received.record(
            {
                "hook": name,
                "webhook_id": headers.get(standard_webhooks.ID_HEADER),
                "webhook_timestamp": headers.get(standard_webhooks.TIMESTAMP_HEADER),
                "signature_valid": error is None,
                "error": error,
                "body": payload,
            }
        )
        if error is not None and self.require_signature:
            await json_answer({"error": error}, 401)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": OK_HEADERS})
        await send({"type": "http.response.body", "body": OK_BODY})


async def _body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)

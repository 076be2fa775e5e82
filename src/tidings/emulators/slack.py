"""A Slack Web API emulator: the methods tidings calls, at `/api/<method>`, with Slack's errors.

Like Slack, it answers HTTP 200 with `{"ok": false, "error": ...}` for every API error, reads
arguments from the query string, a form body or a JSON body, and puts an `x-slack-req-id` on
every answer. Faults apply to `chat.postMessage`.
"""

import base64
import binascii
import hashlib
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.emulators.control import control_routes
from tidings.emulators.faults import FaultPlan
from tidings.emulators.http import answer_fault, json_answer
from tidings.emulators.received import Item, Received
from tidings.kit.clock import Clock, system_clock

# Slack's documented limits for the methods emulated.
TEXT_LIMIT = 40_000
LIST_DEFAULT_LIMIT = 100
LIST_MAX_LIMIT = 1_000

TEAM_ID = "T0EMULATED"
TEAM_NAME = "Emulated workspace"
BOT_USER_ID = "U0TIDINGSBOT"
BOT_ID = "B0TIDINGSBOT"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")

Arguments = dict[str, Any]
Answer = dict[str, Any]


class SlackError(Exception):
    """A Slack error code, answered as `{"ok": false, "error": code}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def _derived_id(prefix: str, seed: str) -> str:
    # Stable ids: a test that names a channel knows its id across runs.
    return prefix + hashlib.sha1(seed.encode()).hexdigest()[:10].upper()


@dataclass
class SlackChannel:
    """A public channel of the emulated workspace."""

    name: str
    id: str = ""
    is_archived: bool = False
    is_member: bool = True

    def __post_init__(self) -> None:
        self.name = self.name.strip().removeprefix("#")
        if not self.name:
            raise ValueError("a Slack channel has a name")
        self.id = self.id or _derived_id("C", self.name)

    def to_json(self) -> dict[str, Any]:
        """The channel as conversations.list shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": False,
            "is_general": self.name == "general",
            "is_archived": self.is_archived,
            "is_member": self.is_member,
        }


@dataclass
class SlackUser:
    """A member of the emulated workspace."""

    email: str
    id: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        self.email = self.email.strip()
        if "@" not in self.email:
            raise ValueError(f"a Slack user has an email address, not {self.email!r}")
        self.id = self.id or _derived_id("U", self.email.casefold())
        self.name = self.name or self.email.partition("@")[0]

    @property
    def dm_channel_id(self) -> str:
        """The id of the bot's direct-message conversation with this user."""
        return "D" + self.id[1:]

    def to_json(self) -> dict[str, Any]:
        """The user as users.lookupByEmail shows it."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name,
            "deleted": False,
            "is_bot": False,
            "profile": {"email": self.email, "real_name": self.name, "display_name": self.name},
        }


@dataclass(frozen=True)
class Destination:
    """Where a chat.postMessage `channel` argument leads: a channel, a user's DM, or nowhere."""

    channel: SlackChannel | None = None
    user: SlackUser | None = None

    def targets(self, given: str) -> tuple[str, ...]:
        """What a fault's `match` may name to apply to this destination."""
        if self.channel is not None:
            return (given, self.channel.name, self.channel.id)
        if self.user is not None:
            return (given, self.user.id, self.user.email)
        return (given,)


class SlackWorkspace:
    """Channels and users; an open workspace creates the unknown ones on first use."""

    def __init__(
        self,
        channels: Iterable[SlackChannel] = (),
        users: Iterable[SlackUser] = (),
        *,
        open_workspace: bool = False,
    ) -> None:
        self.open_workspace = open_workspace
        self._channels: dict[str, SlackChannel] = {}
        self._users: dict[str, SlackUser] = {}
        # Tests seed the workspace from their thread while the emulator's loop reads it.
        self._lock = threading.Lock()
        self.add(channels, users)

    def add(self, channels: Iterable[SlackChannel] = (), users: Iterable[SlackUser] = ()) -> None:
        """Add channels and users, replacing any with the same id."""
        with self._lock:
            for channel in channels:
                self._channels[channel.id] = channel
            for user in users:
                self._users[user.id] = user

    def add_json(self, payload: Any) -> None:
        """Add `{"channels": [{"name", "id"?, ...}], "users": [{"email", "id"?, "name"?}]}`."""
        if not isinstance(payload, dict) or set(payload) - {"channels", "users"}:
            raise ValueError('a workspace is {"channels": [...], "users": [...]}')
        try:
            channels = [SlackChannel(**fields) for fields in payload.get("channels", [])]
            users = [SlackUser(**fields) for fields in payload.get("users", [])]
        except (TypeError, AttributeError) as error:
            raise ValueError(f"not a channel or user: {error}") from None
        self.add(channels, users)

    def channels(self) -> list[SlackChannel]:
        """Every channel, in the order they were added."""
        with self._lock:
            return list(self._channels.values())

    def users(self) -> list[SlackUser]:
        """Every user, in the order they were added."""
        with self._lock:
            return list(self._users.values())

    def to_json(self) -> dict[str, Any]:
        """The workspace as the control endpoint shows it."""
        return {
            "channels": [vars(channel) for channel in self.channels()],
            "users": [vars(user) for user in self.users()],
        }

    def user_by_email(self, email: str) -> SlackUser | None:
        """The user with this email address (any case)."""
        wanted = email.strip().casefold()
        found = next((u for u in self.users() if u.email.casefold() == wanted), None)
        if found is None and self.open_workspace and "@" in wanted:
            found = SlackUser(email.strip())
            self.add(users=[found])
        return found

    def destination(self, given: str) -> Destination:
        """Resolve a `channel` argument: `#name`, a channel id, a user id (a DM), or a name."""
        reference = given.strip()
        with self._lock:
            if not reference.startswith("#"):
                if reference in self._channels:
                    return Destination(channel=self._channels[reference])
                if reference in self._users:
                    return Destination(user=self._users[reference])
            name = reference.removeprefix("#")
            for channel in self._channels.values():
                if channel.name == name:
                    return Destination(channel=channel)
        if not self.open_workspace or not name:
            return Destination()
        if _USER_ID.match(reference):
            user = SlackUser(f"{reference.lower()}@users.emulated.invalid", id=reference)
            self.add(users=[user])
            return Destination(user=user)
        channel = SlackChannel(name.lower(), id=reference if _CHANNEL_ID.match(reference) else "")
        self.add(channels=[channel])
        return Destination(channel=channel)


class SlackRequestIds:
    """Pure ASGI middleware: an `x-slack-req-id` on every answer, as Slack sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, adding the header to the answer's start."""

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-slack-req-id", uuid.uuid4().hex.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


class SlackEmulator:
    """Slack's Web API for one workspace and one bot token."""

    title = "Slack"

    def __init__(
        self,
        token: str,
        workspace: SlackWorkspace | None = None,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.token = token
        self.workspace = workspace if workspace is not None else SlackWorkspace()
        self.clock = clock
        self.received = Received(clock=clock)
        self.faults = FaultPlan(protocol="the Slack emulator")
        self._last_ts = 0
        self._methods: dict[str, Callable[[Arguments], Awaitable[Answer | Response]]] = {
            "auth.test": self.auth_test,
            "conversations.list": self.conversations_list,
            "users.lookupByEmail": self.users_lookup_by_email,
            "chat.postMessage": self.chat_post_message,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._call, methods=["GET", "POST"]),
                Route("/_emulator/workspace", self._workspace, methods=["GET", "POST"]),
                *control_routes(self),
            ],
            middleware=[Middleware(SlackRequestIds)],
        )

    def headline(self, item: Item) -> str:
        """Where a message went and how it starts."""
        where = f"#{item['channel_name']}" if item["channel_name"] else f"DM {item['user_email']}"
        return f"{where}: {(item['text'] or '(blocks only)')[:120]}"

    async def auth_test(self, args: Arguments) -> Answer:
        """Who the token belongs to."""
        return {
            "ok": True,
            "url": "https://emulated.slack.com/",
            "team": TEAM_NAME,
            "user": "tidings",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    async def conversations_list(self, args: Arguments) -> Answer:
        """One page of channels, and the cursor of the next page ('' after the last)."""
        limit = _int_argument(args, "limit", LIST_DEFAULT_LIMIT, "invalid_limit")
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise SlackError("invalid_limit")
        start = _offset(str(args.get("cursor") or ""))
        # Every emulated channel is public: asking for other types lists none.
        types = str(args.get("types") or "public_channel").split(",")
        channels = [
            channel
            for channel in self.workspace.channels()
            if not (channel.is_archived and _flag(args.get("exclude_archived")))
        ]
        if "public_channel" not in types:
            channels = []
        page = channels[start : start + limit]
        following = start + limit if start + limit < len(channels) else None
        return {
            "ok": True,
            "channels": [channel.to_json() for channel in page],
            "response_metadata": {"next_cursor": _cursor(following) if following else ""},
        }

    async def users_lookup_by_email(self, args: Arguments) -> Answer:
        """The user with an email address, or `users_not_found`."""
        email = str(args.get("email") or "")
        if not email:
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: email"]},
            )
        user = self.workspace.user_by_email(email)
        if user is None:
            raise SlackError("users_not_found")
        return {"ok": True, "user": user.to_json()}

    async def chat_post_message(self, args: Arguments) -> Answer | Response:
        """Post to a channel or a user's DM; Slack's errors when the bot cannot."""
        given = str(args.get("channel") or "")
        destination = self.workspace.destination(given) if given else Destination()
        faulted = await answer_fault(
            self.faults.take(*destination.targets(given)),
            {"ok": False, "error": "ratelimited"},
        )
        if faulted is not None:
            return faulted
        channel, user = destination.channel, destination.user
        if channel is None and user is None:
            raise SlackError("channel_not_found")
        if channel is not None and channel.is_archived:
            raise SlackError("is_archived")
        if channel is not None and not channel.is_member:
            raise SlackError("not_in_channel")
        text = str(args.get("text") or "")
        blocks = _json_argument(args, "blocks", "invalid_blocks_format")
        attachments = _json_argument(args, "attachments", "invalid_attachments")
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        if len(text) > TEXT_LIMIT:
            raise SlackError("msg_too_long")
        channel_id = channel.id if channel is not None else user.dm_channel_id if user else ""
        ts = self._next_ts()
        self.received.record(
            {
                "method": "chat.postMessage",
                "channel": channel_id,
                "channel_name": channel.name if channel is not None else None,
                "user_id": user.id if user is not None else None,
                "user_email": user.email if user is not None else None,
                "ts": ts,
                "text": text,
                "blocks": blocks,
                "attachments": attachments,
                "thread_ts": args.get("thread_ts"),
                "arguments": args,
            }
        )
        message = {"type": "message", "text": text, "user": BOT_USER_ID, "bot_id": BOT_ID}
        return {"ok": True, "channel": channel_id, "ts": ts, "message": message | {"ts": ts}}

    def _next_ts(self) -> str:
        # Slack's ts is epoch microseconds as "seconds.micros", unique within a channel.
        micros = max(int(self.clock().timestamp() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    async def _call(self, request: Request) -> Response:
        method = request.path_params["method"]
        handler = self._methods.get(method)
        if handler is None:
            return json_answer({"ok": False, "error": "unknown_method", "req_method": method})
        try:
            args = await _arguments(request)
            self._authenticate(request, args)
            answer = await handler(args)
        except SlackError as error:
            return json_answer({"ok": False, "error": error.code, **error.extra})
        return answer if isinstance(answer, Response) else json_answer(answer)

    def _authenticate(self, request: Request, args: Arguments) -> None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        # Slack also takes the token as an argument; either way it must not be recorded.
        argument = str(args.pop("token", "") or "")
        token = (credentials.strip() if scheme.lower() == "bearer" else "") or argument
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")

    async def _workspace(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.workspace.add_json(orjson.loads(await request.body()))
            except (orjson.JSONDecodeError, ValueError) as error:
                return json_answer({"error": str(error)}, 400)
        return json_answer(self.workspace.to_json())


async def _arguments(request: Request) -> Arguments:
    """The call's arguments: the query string, then a form or JSON body over it."""
    args: Arguments = dict(request.query_params)
    body = await request.body()
    if not body:
        return args
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise SlackError("invalid_json") from None
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        args.update(parsed)
    elif content_type == "application/x-www-form-urlencoded":
        try:
            args.update(parse_qsl(body.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            raise SlackError("invalid_form_data") from None
    else:
        raise SlackError("invalid_form_data")
    return args


def _json_argument(args: Arguments, name: str, error: str) -> Any:
    # A form body carries blocks and attachments as JSON text; a JSON body as JSON values.
    value = args.get(name)
    if not isinstance(value, str):
        return value
    if not value:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise SlackError(error) from None


def _int_argument(args: Arguments, name: str, default: int, error: str) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SlackError(error) from None


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in {"true", "1"}


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind == "offset" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise SlackError("invalid_cursor")

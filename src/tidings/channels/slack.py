"""Slack through its Web API (slack_sdk's async client): Block Kit messages to channels and
to people.

A channel is named in the catalog; Slack posts by id, so names are resolved through
`conversations.list` and cached (looked up again once when a name is missing, for channels
made since). A person is reached by their Slack id, or looked up by email. slack_sdk's own
retries are off: every try is the delivery stage's, so each one is recorded.
"""

import asyncio
from typing import Any

import aiohttp
import orjson
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tidings.channels.base import Attempt, NetworkChannel, OutgoingMessage, PerLoop
from tidings.channels.http import SessionHolder, retry_after_seconds
from tidings.enums import FailedReason, Medium
from tidings.kit.clock import Clock

# Slack's error codes, as the spec's failed reasons.
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
MEMBER_ERRORS = frozenset({"users_not_found", "user_not_found"})
# Codes that say "try again later" rather than "this will never work".
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "timeout"}
)
LIST_PAGE = 200


class _Refused(Exception):
    """A lookup answered for good: the message cannot be sent."""

    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.error_message)
        self.attempt = attempt


class SlackChannel(NetworkChannel):
    """Posts each message with chat.postMessage."""

    medium = Medium.SLACK
    concurrency = 16
    per_destination_per_second = 1.0

    def __init__(
        self,
        clock: Clock,
        token: str,
        *,
        base_url: str = "https://slack.com/api/",
        timeout_s: float = 30.0,
        concurrency: int | None = None,
        pace: float | None = None,
    ) -> None:
        super().__init__(clock, concurrency=concurrency, pace=pace)
        self._token = token
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout_s = timeout_s
        self._http = SessionHolder(None, timeout_s, concurrency or self.concurrency)
        self._channel_ids: dict[str, str] = {}
        self._user_ids: dict[str, str] = {}
        self._listing = PerLoop(asyncio.Lock)

    def pacing_key(self, message: OutgoingMessage) -> str:
        """Slack paces each conversation: a channel, or a person's direct messages."""
        return message.channel or message.email or str(message.user_id)

    def _client(self) -> AsyncWebClient:
        return AsyncWebClient(
            token=self._token,
            base_url=self._base_url,
            timeout=int(self._timeout_s),
            session=self._http.session(),
            retry_handlers=[],
        )

    async def send_one(self, message: OutgoingMessage) -> Attempt:
        """Resolve where the message goes, then post it."""
        client = self._client()
        try:
            target = await self._conversation(client, message)
            content = orjson.loads(message.body or "{}")
            response = await client.chat_postMessage(
                channel=target,
                text=content.get("text") or message.text,
                blocks=content.get("blocks"),
                unfurl_links=False,
            )
        except _Refused as refused:
            return refused.attempt
        except SlackApiError as error:
            return judge_slack_error(error)
        except (aiohttp.ClientError, TimeoutError) as error:
            return Attempt.retry(f"could not reach Slack: {type(error).__name__}: {error}")
        return Attempt.delivered(
            response.status_code, _request_id(response.headers), str(response.data)
        )

    async def _conversation(self, client: AsyncWebClient, message: OutgoingMessage) -> str:
        if message.channel is not None:
            return await self._channel_id(client, message.channel.removeprefix("#"))
        if message.slack_user_id:
            return message.slack_user_id
        return await self._user_id(client, message.email or "")

    async def _channel_id(self, client: AsyncWebClient, name: str) -> str:
        if name not in self._channel_ids:
            async with self._listing.get():  # one listing at a time, however many messages wait
                if name not in self._channel_ids:
                    self._channel_ids.update(await _list_channels(client))
        if name not in self._channel_ids:
            raise _Refused(
                Attempt.failed(
                    FailedReason.CHANNEL_NOT_FOUND,
                    f"channel_not_found: the Slack workspace has no channel named #{name}",
                )
            )
        return self._channel_ids[name]

    async def _user_id(self, client: AsyncWebClient, email: str) -> str:
        if email not in self._user_ids:
            try:
                found = await client.users_lookupByEmail(email=email)
            except SlackApiError as error:
                if error.response.get("error") in MEMBER_ERRORS:
                    raise _Refused(
                        Attempt.failed(
                            FailedReason.MEMBER_EMAILS_NOT_FOUND,
                            f"users_not_found: no Slack account has the email {email}",
                            error.response.status_code,
                            _request_id(error.response.headers),
                        )
                    ) from None
                raise
            self._user_ids[email] = str(found["user"]["id"])
        return self._user_ids[email]

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()


async def _list_channels(client: AsyncWebClient) -> dict[str, str]:
    """Every channel's id by name, over all pages."""
    ids: dict[str, str] = {}
    cursor: str | None = None
    while True:
        page = await client.conversations_list(
            limit=LIST_PAGE, cursor=cursor, types="public_channel,private_channel"
        )
        channels: list[dict[str, Any]] = page.get("channels", [])
        for channel in channels:
            ids[str(channel["name"])] = str(channel["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return ids


def _request_id(headers: Any) -> str | None:
    for name, value in (headers or {}).items():
        if name.lower() == "x-slack-req-id":
            return str(value[0] if isinstance(value, list) else value)
    return None


def judge_slack_error(error: SlackApiError) -> Attempt:
    """What a Slack error means: rate-limited, worth a retry, or refused for good."""
    response = error.response
    status, code = response.status_code, str(response.get("error") or "")
    request_id, answer = _request_id(response.headers), str(response.data)
    if status == 429 or code == "ratelimited":
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        raw = headers.get("retry-after")
        wait = retry_after_seconds(str(raw[0] if isinstance(raw, list) else raw or ""))
        return Attempt.rate_limited(
            wait, f"ratelimited: Slack asked to wait {wait:g} s", status, request_id, answer
        )
    if status >= 500 or code in TRANSIENT_ERRORS:
        return Attempt.retry(
            f"{code or 'HTTP ' + str(status)}: Slack failed", status, request_id, answer
        )
    if code in CHANNEL_ERRORS:
        return Attempt.failed(FailedReason.CHANNEL_NOT_FOUND, code, status, request_id, answer)
    if code in MEMBER_ERRORS:
        return Attempt.failed(
            FailedReason.MEMBER_EMAILS_NOT_FOUND, code, status, request_id, answer
        )
    return Attempt.failed(
        FailedReason.CLIENT_ERROR, code or f"HTTP {status}", status, request_id, answer
    )

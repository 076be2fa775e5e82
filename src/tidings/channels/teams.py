"""Microsoft Teams: Adaptive Cards posted to Workflows webhooks.

A channel's messages go to its Workflows webhook (`webhookUrl` of the channel in the
catalog). Workflows cannot message a person by itself, so messages to people go to one
operator-made flow (TIDINGS_TEAMS_DIRECT_WEBHOOK_URL) that posts the card in a chat with the
person named in the payload's `recipient`. Teams refuses messages over 28 KB: a longer card
is cut, says so, and keeps its link to the whole message.
"""

from typing import Any

import orjson

from tidings.channels.base import Attempt, NetworkChannel, OutgoingMessage
from tidings.channels.http import Network, SessionHolder, post_json
from tidings.enums import FailedReason, Medium
from tidings.kit.clock import Clock

MAX_MESSAGE_BYTES = 28 * 1024
TRUNCATED_NOTE = "This message was cut to fit in Teams; open it for the whole text."
_TEXT_BLOCK = 1  # the card's body: [subject, text]


def fit_message(document: dict[str, Any], limit: int = MAX_MESSAGE_BYTES) -> bytes:
    """The message as JSON within `limit` bytes, its text cut (and said to be) if needed."""
    encoded = orjson.dumps(document)
    if len(encoded) <= limit:
        return encoded
    card = document["attachments"][0]["content"]
    body = card["body"]
    body.append({"type": "TextBlock", "text": TRUNCATED_NOTE, "wrap": True, "isSubtle": True})
    for index in (_TEXT_BLOCK, 0):
        encoded = _cut_to_fit(document, body[index], limit)
        if len(encoded) <= limit:
            return encoded
    return encoded


def _cut_to_fit(document: dict[str, Any], block: dict[str, Any], limit: int) -> bytes:
    """Cut the block's text to the longest start with which the message fits (or to nothing).

    A character takes 1 to 6 bytes in the JSON (UTF-8, escapes), so the length that fits is
    searched for rather than worked out from the bytes over.
    """
    text: str = block["text"]
    encoded = orjson.dumps(document)
    if len(encoded) <= limit or not text:
        return encoded
    fits, too_long = 0, len(text)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        block["text"] = text[:middle].rstrip() + "…"
        if len(orjson.dumps(document)) <= limit:
            fits = middle
        else:
            too_long = middle
    block["text"] = text[:fits].rstrip() + "…"
    return orjson.dumps(document)


class TeamsChannel(NetworkChannel):
    """Posts each message's card to its channel's (or the direct-message flow's) webhook."""

    medium = Medium.MICROSOFT_TEAMS
    concurrency = 16
    per_destination_per_second = 4.0

    def __init__(
        self,
        clock: Clock,
        *,
        direct_url: str | None = None,
        allowed: tuple[Network, ...] = (),
        timeout_s: float = 10.0,
        concurrency: int | None = None,
        pace: float | None = None,
    ) -> None:
        super().__init__(clock, concurrency=concurrency, pace=pace)
        self._direct_url = direct_url
        self._http = SessionHolder(allowed, timeout_s, concurrency or self.concurrency)

    def _url(self, message: OutgoingMessage) -> str | None:
        return message.address if message.channel is not None else self._direct_url

    def pacing_key(self, message: OutgoingMessage) -> str:
        """Teams paces each webhook."""
        return self._url(message) or ""

    async def send_one(self, message: OutgoingMessage) -> Attempt:
        """Post one card."""
        url = self._url(message)
        if url is None and message.channel is not None:
            return Attempt.failed(
                FailedReason.CHANNEL_NOT_FOUND,
                f"the Teams channel {message.channel} has no Workflows webhook (webhookUrl) "
                "in the catalog",
            )
        if url is None:
            return Attempt.failed(
                FailedReason.CLIENT_ERROR,
                "Teams messages to people need a direct-message flow "
                "(TIDINGS_TEAMS_DIRECT_WEBHOOK_URL), and none is set",
            )
        document = orjson.loads(message.body or "{}")
        if message.channel is None:
            document["recipient"] = message.email
        body = fit_message(document)
        return await post_json(self._http.session(), url, body, {}, "Teams webhook")

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

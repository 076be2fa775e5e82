"""The webhook medium: an HTTP POST of a JSON document, signed as Standard Webhooks say.

The body is the rendered document (type, subject, text, link, objects, data) with the log's
and the run's ids; `webhook-id` is the log id, so a receiver can drop a message it already
has however often it is retried or re-delivered. docs/delivery.md documents the body.
"""

import functools
import time

import orjson

from tidings.channels.base import Attempt, NetworkChannel, OutgoingMessage
from tidings.channels.http import Network, SessionHolder, post_json
from tidings.enums import FailedReason, Medium
from tidings.kit.clock import Clock
from tidings.kit.standard_webhooks import Signer

ID_FIELDS = ("logId", "runId")


def webhook_body(message: OutgoingMessage) -> bytes:
    """The JSON document a receiver gets for a message."""
    ids = b'{"logId":%d,"runId":%d' % (message.log_id, message.run_id)
    return ids + _fields_after_ids(message.body or "{}")


# Every message of a run carries the same document, only the ids differ: it is parsed and
# written once for all the recipients instead of once each (4 against 1 µs a message).
@functools.lru_cache(maxsize=64)
def _fields_after_ids(body: str) -> bytes:
    """The document's fields as they follow the ids, up to its closing brace."""
    document = orjson.loads(body)
    fields = orjson.dumps({key: value for key, value in document.items() if key not in ID_FIELDS})
    return b"}" if fields == b"{}" else b"," + fields[1:]


class WebhookChannel(NetworkChannel):
    """Posts each message to its webhook's URL."""

    medium = Medium.WEBHOOK
    concurrency = 64

    def __init__(
        self,
        clock: Clock,
        secret: str,
        *,
        allowed: tuple[Network, ...] = (),
        timeout_s: float = 10.0,
        concurrency: int | None = None,
    ) -> None:
        super().__init__(clock, concurrency=concurrency)
        self._signer = Signer(secret)
        self._http = SessionHolder(allowed, timeout_s, concurrency or self.concurrency)

    def pacing_key(self, message: OutgoingMessage) -> str:
        """Webhooks are not paced; the key only groups them."""
        return message.channel or ""

    async def send_one(self, message: OutgoingMessage) -> Attempt:
        """Sign and post one document."""
        if message.address is None:
            return Attempt.failed(
                FailedReason.CHANNEL_NOT_FOUND,
                f"the webhook {message.channel} is no longer in the catalog",
            )
        body = webhook_body(message)
        message_id, timestamp = str(message.log_id), int(time.time())
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self._signer.sign(message_id, timestamp, body),
        }
        return await post_json(self._http.session(), message.address, body, headers, "receiver")

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

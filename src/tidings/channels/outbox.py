"""The outbox medium: records what would have been sent instead of sending it.

It stands in for every provider until real delivery is configured, so the engine can be run,
tested and demonstrated on its own. It fails only where a provider certainly would: a direct
chat message to a person the workspace has no account for.
"""

from sqlalchemy import Engine, insert

from tidings.channels.base import OutgoingMessage, SendResult
from tidings.engine.models import OutboxMessage
from tidings.enums import FailedReason, Medium
from tidings.kit.clock import Clock

CHAT = {Medium.SLACK: "Slack", Medium.MICROSOFT_TEAMS: "Microsoft Teams"}


class OutboxChannel:
    """Keeps each message in the `notification_outbox` table."""

    def __init__(self, medium: Medium, engine: Engine, clock: Clock) -> None:
        self.medium = medium
        self._engine = engine
        self._clock = clock

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Record the message; a chat message to someone with no account fails."""
        chat = CHAT.get(self.medium)
        if chat is not None and message.channel is None and message.user_id is None:
            return SendResult.failed(
                FailedReason.MEMBER_EMAILS_NOT_FOUND,
                f"users_not_found: no {chat} account matches {message.email}",
            )
        with self._engine.begin() as connection:
            connection.execute(
                insert(OutboxMessage).values(
                    log_id=message.log_id,
                    medium=self.medium,
                    destination=message.destination,
                    subject=message.subject,
                    text=message.text,
                    body=message.body,
                    date_sent=self._clock(),
                )
            )
        return SendResult.ok()

"""The outbox medium: records what would have been sent instead of sending it.

It stands in for every provider until real delivery is configured, so the engine can be run,
tested and demonstrated on its own. It fails only where a provider certainly would: a direct
chat message to a person the workspace has no account for.
"""

from collections.abc import Sequence

from sqlalchemy import Engine, insert

from tidings.channels.base import Answered, Attempt, OutgoingMessage
from tidings.engine.models import OutboxMessage
from tidings.enums import AttemptOutcome, FailedReason, Medium
from tidings.kit import partitions
from tidings.kit.clock import Clock

CHAT = {Medium.SLACK: "Slack", Medium.MICROSOFT_TEAMS: "Microsoft Teams"}


class OutboxChannel:
    """Keeps each message in the `notification_outbox` table."""

    def __init__(self, medium: Medium, engine: Engine, clock: Clock) -> None:
        self.medium = medium
        self._engine = engine
        self._clock = clock

    def _refusal(self, message: OutgoingMessage) -> Attempt | None:
        chat = CHAT.get(self.medium)
        if chat is not None and message.channel is None and message.user_id is None:
            return Attempt.failed(
                FailedReason.MEMBER_EMAILS_NOT_FOUND,
                f"users_not_found: no {chat} account matches {message.email}",
            )
        return None

    async def send_batch(
        self, messages: Sequence[OutgoingMessage], answered: Answered | None = None
    ) -> list[Attempt]:
        """Record the batch in one transaction; a chat message to someone with no account
        fails as the provider would refuse it (the batch is answered at once)."""
        now = self._clock()
        results = [
            (self._refusal(message) or Attempt.delivered()).timed(now, 0.0) for message in messages
        ]
        rows = [
            {
                "log_id": message.log_id,
                "medium": self.medium,
                "destination": message.destination,
                "subject": message.subject,
                "text": message.text,
                "body": message.body,
                "date_sent": now,
            }
            for message, result in zip(messages, results, strict=True)
            if result.outcome is AttemptOutcome.DELIVERED
        ]
        if rows:
            with self._engine.begin() as connection:
                stamped = partitions.stamped_id(
                    connection.dialect.name, now, partitions.OUTBOX_SEQUENCE
                )
                connection.execute(insert(OutboxMessage).values(**stamped), rows)
        return results

    async def close(self) -> None:
        """Nothing to release."""
        return None

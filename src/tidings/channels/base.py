"""The port every medium implements: send one message to one destination, say how it went."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tidings.enums import FailedReason, Medium, RecipientType


@dataclass(frozen=True)
class OutgoingMessage:
    """One log's message, addressed."""

    log_id: int
    run_id: int
    medium: Medium
    recipient_type: RecipientType
    user_id: int | None
    email: str | None
    channel: str | None
    slack_user_id: str | None
    teams_user_id: str | None
    subject: str
    text: str
    body: str  # the medium's structured form, as JSON

    @property
    def destination(self) -> str:
        """Where it goes, as people read it."""
        return self.channel or self.email or f"user {self.user_id}"


@dataclass(frozen=True)
class SendResult:
    """What the medium reported: delivered, or failed with the spec's reason and its words."""

    delivered: bool
    failed_reason: FailedReason | None = None
    error_message: str | None = None

    @classmethod
    def ok(cls) -> "SendResult":
        """Delivered."""
        return cls(True)

    @classmethod
    def failed(cls, reason: FailedReason, message: str) -> "SendResult":
        """Failed for good, with the provider's words."""
        return cls(False, reason, message)


class Channel(Protocol):
    """A medium that can deliver messages.

    The engine hands over a batch at a time (a few hundred messages of one run); a network
    medium sends them concurrently within its own limits, a local one can write them at once.
    """

    medium: Medium

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Deliver messages; one result per message, in order. Never raises for a message."""
        ...

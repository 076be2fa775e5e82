"""Wire models of the engine's endpoints: events in, the runs they made out."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from tidings.enums import (
    IgnoredReason,
    LogStatus,
    Medium,
    NotificationType,
    ObjectType,
    RecipientType,
    RunFailedReason,
    RunIgnoredReason,
    RunStatus,
)


class CamelModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class ObjectRef(CamelModel):
    """An entity, scorecard or initiative the event concerns, by tag (or numeric id)."""

    type: ObjectType
    tag: str | None = Field(None, min_length=1, max_length=255)
    id: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _named(self) -> "ObjectRef":
        if (self.tag is None) == (self.id is None):
            raise ValueError("give exactly one of 'tag' and 'id'")
        return self

    def describe(self) -> str:
        """How people name this object in a sentence: `entity payments-api`."""
        return f"{self.type.value.lower()} {self.tag if self.tag is not None else self.id}"


class EventIn(CamelModel):
    """Something that happened in the platform and should notify people."""

    type: NotificationType = Field(description="The notification type the event triggers.")
    objects: list[ObjectRef] = Field(
        default_factory=list, max_length=20, description="What the event concerns."
    )
    recipients: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Email addresses of the people the event names: the invitee, the on-call "
        "person, the approvers, the new user. Types that go to owners ignore it.",
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="Facts the message shows (score, rule, workflow...)."
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="The same key within 24 hours creates nothing new and returns the first "
        "answer.",
    )


class RunCreated(CamelModel):
    """A run an event made, as it stood when the answer was given."""

    id: int
    medium: Medium
    status: RunStatus
    ignored_reason: RunIgnoredReason | None = None
    failed_reason: RunFailedReason | None = None
    error_message: str | None = None


class EventAnswer(CamelModel):
    """What an accepted event did."""

    event_id: int
    notification_type: NotificationType
    runs: list[RunCreated]
    replayed: bool = Field(
        False, description="True when an earlier event with the same idempotency key answered."
    )


class PreviewRecipient(CamelModel):
    """One recipient decision the event would make."""

    recipient_type: RecipientType
    recipient_user_id: int | None = None
    recipient_email: str | None = None
    recipient_entity_id: int | None = None
    recipient_channel: str | None = None
    status: LogStatus
    ignored_reason: IgnoredReason | None = None
    why: str
    explanation: str | None = None
    subject: str | None = None
    text: str | None = None


class PreviewRun(CamelModel):
    """A run the event would create, with its recipients (the first `limit` of them)."""

    medium: Medium
    status: RunStatus
    ignored_reason: RunIgnoredReason | None = None
    failed_reason: RunFailedReason | None = None
    error_message: str | None = None
    recipient_count: int
    counts: dict[str, int]
    recipients: list[PreviewRecipient]


class PreviewAnswer(CamelModel):
    """What an event would do, computed without writing or sending anything."""

    notification_type: NotificationType
    runs: list[PreviewRun]

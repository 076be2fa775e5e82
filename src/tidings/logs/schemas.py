"""Wire models of the two Cortex endpoints, as published in `/openapi.json`.

The endpoints build their bodies directly (see `service.py`) for speed; these models are the
documented contract, and the contract tests hold both to Cortex's reference spec.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from tidings.enums import (
    FailedReason,
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

INT64: JsonDict = {"format": "int64"}
INT32: JsonDict = {"format": "int32"}


class WireModel(BaseModel):
    """camelCase on the wire; absent optional fields are left out of the body."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class NotificationObject(WireModel):
    """An entity, scorecard or initiative that a run concerns."""

    id: int = Field(description="Internal numeric id of the object.", json_schema_extra=INT64)
    name: str = Field(description="Display name of the object.")
    type: ObjectType = Field(description="What kind of object this is.")
    tag: str | None = Field(None, description="Human-chosen unique id (entities, scorecards).")
    cid: str | None = Field(None, description="18-character immutable id (entities only).")
    url: str | None = Field(None, description="Address of the object's page.")


class NotificationRun(WireModel):
    """One notification of one type over one medium, with its outcome."""

    id: int = Field(description="Id of the run.", json_schema_extra=INT64)
    notification_type: NotificationType = Field(description="What the notification is about.")
    medium: Medium = Field(description="How it is delivered.")
    status: RunStatus = Field(description="Settled outcome of the run.")
    summary: str = Field(description="One line describing the run.")
    delivered_count: int = Field(
        description="How many of its logs were delivered.", json_schema_extra=INT64
    )
    seq_no: int = Field(
        description="Position in its chain of re-runs; 0 for an original run.",
        json_schema_extra=INT32,
    )
    ignored_reason: RunIgnoredReason | None = Field(None, description="Why it was not sent.")
    failed_reason: RunFailedReason | None = Field(None, description="Why it could not be built.")
    error_message: str | None = Field(None, description="What went wrong, in words.")
    original_run_id: int | None = Field(
        None,
        description="The first run of the chain this re-run belongs to.",
        json_schema_extra=INT64,
    )
    date_created: datetime | None = Field(None, description="When the run was created (UTC).")
    date_updated: datetime | None = Field(None, description="When the run last changed (UTC).")
    notification_objects: list[NotificationObject] | None = Field(
        None, description="The objects the run concerns; only with includeObjects=true."
    )


class NotificationLog(WireModel):
    """One recipient of one run and what happened to them."""

    id: int = Field(description="Id of the log.", json_schema_extra=INT64)
    run_id: int = Field(description="Id of the run the log belongs to.", json_schema_extra=INT64)
    type: NotificationType = Field(description="What the notification is about.")
    medium: Medium = Field(description="How it is delivered.")
    status: LogStatus = Field(description="Outcome for this recipient.")
    recipient_type: RecipientType = Field(description="What kind of recipient this is.")
    recipient_user_id: int | None = Field(
        None, description="Id of the user who received it.", json_schema_extra=INT64
    )
    recipient_email: str | None = Field(None, description="Email address it was sent to.")
    recipient_entity_id: int | None = Field(
        None, description="Id of the entity it was sent to.", json_schema_extra=INT64
    )
    recipient_channel: str | None = Field(
        None, description="Slack or Teams channel it was sent to.", examples=["#general"]
    )
    ignored_reason: IgnoredReason | None = Field(None, description="Why it was not sent.")
    failed_reason: FailedReason | None = Field(None, description="Why delivery failed.")
    error_message: str | None = Field(None, description="What went wrong, in words.")
    date_created: datetime | None = Field(None, description="When the log was created (UTC).")
    date_updated: datetime | None = Field(None, description="When the log last changed (UTC).")
    date_delivered: datetime | None = Field(None, description="When it was delivered (UTC).")


class _Page(WireModel):
    page: int = Field(description="This page's number, from 0.", json_schema_extra=INT32)
    total: int = Field(description="How many items match in all.", json_schema_extra=INT32)
    total_pages: int = Field(description="How many pages there are.", json_schema_extra=INT32)


class NotificationLogResponse(_Page):
    """A page of notification logs."""

    logs: list[NotificationLog]


class NotificationRunResponse(_Page):
    """A page of notification runs."""

    runs: list[NotificationRun]

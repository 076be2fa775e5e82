"""Cortex entity descriptors: OpenAPI documents whose `info` holds the `x-cortex-*` fields.

Read: `x-cortex-tag`, `x-cortex-type` (default `service`), `title`, `description`,
`x-cortex-owners` (group, email and the deprecated slack owner, which becomes a Slack
channel), `x-cortex-slack.channels`, `x-cortex-microsoft-teams` (plus tidings' `webhookUrl`:
the channel's Workflows webhook) and, on teams,
`x-cortex-team.members` (each member also becomes a user) and `x-cortex-team.groups`
(checked, not expanded: tidings has no connection to identity providers). tidings adds
`x-tidings-webhooks`: HTTP endpoints of the entity or team that receive its notifications.
"""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from tidings.catalog.declarations import (
    ChannelDeclaration,
    EntityDeclaration,
    FileDeclarations,
    MemberDeclaration,
    OwnerDeclaration,
    WebhookDeclaration,
)
from tidings.catalog.enums import GroupProvider, OwnerInheritance, OwnerKind
from tidings.catalog.importers.source import InvalidSourceError, line_at
from tidings.catalog.importers.validation import (
    LAX,
    MAX_TAG,
    ChannelName,
    Email,
    ForeignModel,
    Tag,
    Text,
    WebAddress,
    problem,
    refuse_repeats,
    repeated,
    validate,
)
from tidings.enums import Medium, NotificationType

TEAM_TYPE = "team"


def is_cortex_descriptor(document: Any) -> bool:
    """Whether a document is an entity descriptor: an `info` block or an `openapi` version."""
    return isinstance(document, dict) and ("info" in document or "openapi" in document)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class DescriptorOwnerType(StrEnum):
    """The `type` of an entry of `x-cortex-owners`, spelled as descriptors spell it."""

    GROUP = "group"
    EMAIL = "email"
    SLACK = "slack"  # deprecated: a Slack channel listed as an owner


class Owner(ForeignModel):
    type: Annotated[DescriptorOwnerType, LAX, BeforeValidator(_lower)]
    name: Annotated[Text, Field(max_length=MAX_TAG)] | None = None
    provider: Annotated[GroupProvider, LAX] | None = None
    email: Email | None = None
    channel: ChannelName | None = None
    notifications_enabled: bool = Field(True, alias="notificationsEnabled")
    description: str | None = None
    inheritance: Annotated[OwnerInheritance, LAX] | None = None

    @model_validator(mode="after")
    def _has_what_its_type_needs(self) -> "Owner":
        needed = {
            DescriptorOwnerType.GROUP: ("name", "provider"),
            DescriptorOwnerType.EMAIL: ("email",),
            DescriptorOwnerType.SLACK: ("channel",),
        }[self.type]
        missing = [field for field in needed if getattr(self, field) is None]
        if missing:
            raise ValueError(f"an owner of type {self.type} needs {' and '.join(missing)}")
        return self


class Channel(ForeignModel):
    name: ChannelName
    notifications_enabled: bool = Field(True, alias="notificationsEnabled")
    description: str | None = None


class TeamsChannel(Channel):
    webhook_url: WebAddress | None = Field(None, alias="webhookUrl")


class Slack(ForeignModel):
    channels: list[Channel] = Field(default_factory=list)


class Webhook(ForeignModel):
    name: Tag
    url: WebAddress
    notifications_enabled: bool = Field(True, alias="notificationsEnabled")
    types: list[Annotated[NotificationType, LAX]] = Field(default_factory=list)
    description: str | None = None


class Member(ForeignModel):
    email: Email
    name: Text | None = None
    notifications_enabled: bool = Field(True, alias="notificationsEnabled")
    role: str | None = None


class Group(ForeignModel):
    name: Text
    provider: Annotated[GroupProvider, LAX]


class Team(ForeignModel):
    members: list[Member] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)


class Info(ForeignModel):
    title: Text
    description: str | None = None
    tag: Tag = Field(alias="x-cortex-tag")
    type: Text = Field("service", alias="x-cortex-type")
    owners: list[Owner] = Field(default_factory=list, alias="x-cortex-owners")
    slack: Slack | None = Field(None, alias="x-cortex-slack")
    microsoft_teams: list[TeamsChannel] = Field(
        default_factory=list, alias="x-cortex-microsoft-teams"
    )
    team: Team | None = Field(None, alias="x-cortex-team")
    webhooks: list[Webhook] = Field(default_factory=list, alias="x-tidings-webhooks")

    @field_validator("team")
    @classmethod
    def _team_block_only_on_teams(cls, team: Team | None, info: ValidationInfo) -> Team | None:
        entity_type = info.data.get("type")
        if team is not None and entity_type is not None and entity_type != TEAM_TYPE:
            raise ValueError(
                f"only read on entities of x-cortex-type {TEAM_TYPE}, not {entity_type}"
            )
        return team


class Descriptor(ForeignModel):
    info: Info


def read_descriptor(document: Any, line: int) -> FileDeclarations:
    """The entity (and the members of a team) that one descriptor declares."""
    info = validate(Descriptor, document, line).info
    _refuse_repeats(info, document, line)
    _refuse_shared_urls(info, document, line)
    owners = [_owner(owner) for owner in info.owners if owner.type != DescriptorOwnerType.SLACK]
    channels = _channels(info)
    members = tuple(
        MemberDeclaration(
            team_tag=info.tag,
            email=member.email,
            name=member.name or member.email,
            line=line_at(document, ("info", "x-cortex-team", "members", index), line),
            notifications_enabled=member.notifications_enabled,
            role=member.role,
        )
        for index, member in enumerate(info.team.members if info.team else [])
    )
    entity = EntityDeclaration(
        tag=info.tag,
        name=info.title,
        entity_type=info.type,
        line=line_at(document, ("info", "x-cortex-tag"), line),
        description=info.description,
        owners=tuple(owners),
        channels=tuple(channels),
        members=members,
        webhooks=tuple(
            WebhookDeclaration(
                name=webhook.name,
                url=webhook.url,
                notifications_enabled=webhook.notifications_enabled,
                types=tuple(sorted(set(webhook.types))),
                description=webhook.description,
            )
            for webhook in info.webhooks
        ),
    )
    return FileDeclarations(entities=[entity])


def _refuse_repeats(info: Info, document: Any, line: int) -> None:
    """A channel, a member or a webhook (by name or URL) listed twice in one descriptor."""
    slack = info.slack.channels if info.slack else []
    members = info.team.members if info.team else []
    refuse_repeats(
        document,
        line,
        [
            (("info", "x-cortex-slack", "channels"), [f"channel '{c.name}'" for c in slack]),
            (
                ("info", "x-cortex-microsoft-teams"),
                [f"channel '{c.name}'" for c in info.microsoft_teams],
            ),
            (("info", "x-cortex-team", "members"), [f"member '{m.email}'" for m in members]),
            (("info", "x-tidings-webhooks"), [f"webhook '{w.name}'" for w in info.webhooks]),
        ],
    )


def _refuse_shared_urls(info: Info, document: Any, line: int) -> None:
    """Two webhooks with one URL. The message names them, not the URL, which may hold a
    secret."""
    path = ("info", "x-tidings-webhooks")
    errors = [
        problem(
            document,
            (*path, index),
            line,
            f"webhook '{info.webhooks[index].name}' has the same URL as webhook "
            f"'{info.webhooks[first].name}'",
        )
        for index, first in repeated([webhook.url for webhook in info.webhooks])
    ]
    if errors:
        raise InvalidSourceError(errors)


def _owner(owner: Owner) -> OwnerDeclaration:
    if owner.type == DescriptorOwnerType.GROUP:
        return OwnerDeclaration(
            kind=OwnerKind.GROUP,
            group_name=owner.name,
            provider=owner.provider,
            description=owner.description,
            inheritance=owner.inheritance,
        )
    return OwnerDeclaration(
        kind=OwnerKind.EMAIL,
        email=owner.email,
        description=owner.description,
        inheritance=owner.inheritance,
    )


def _channels(info: Info) -> list[ChannelDeclaration]:
    """Slack channels, then the deprecated slack owners not already listed, then Teams."""
    slack = [
        ChannelDeclaration(
            Medium.SLACK, channel.name, channel.notifications_enabled, channel.description
        )
        for channel in (info.slack.channels if info.slack else [])
    ]
    listed = {channel.name for channel in slack}
    for owner in info.owners:
        if owner.type == DescriptorOwnerType.SLACK and owner.channel not in listed:
            assert owner.channel is not None
            listed.add(owner.channel)
            slack.append(
                ChannelDeclaration(
                    Medium.SLACK, owner.channel, owner.notifications_enabled, owner.description
                )
            )
    teams = [
        ChannelDeclaration(
            Medium.MICROSOFT_TEAMS,
            channel.name,
            channel.notifications_enabled,
            channel.description,
            channel.webhook_url,
        )
        for channel in info.microsoft_teams
    ]
    return slack + teams

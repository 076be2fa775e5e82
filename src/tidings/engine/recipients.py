"""Stage 2: whom a run reaches, before any setting is applied, each with the reason why.

Recipients are streamed: a run for every user of a large workspace never holds them all.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from tidings.catalog import repository as catalog
from tidings.catalog.records import EntityRecord, OwnerPerson, UserRecord, WebhookRecord
from tidings.engine import repository
from tidings.engine.context import Context
from tidings.enums import Medium, NotificationType, RecipientType
from tidings.notification_types import TYPE_INFO, Audience

CHANNEL_MEDIUMS = frozenset({Medium.SLACK, Medium.MICROSOFT_TEAMS})
MEDIUM_LABEL = {Medium.SLACK: "Slack", Medium.MICROSOFT_TEAMS: "Microsoft Teams"}
NAMED_WHY = {
    NotificationType.TEAM_MEMBER_INVITATION: "invited to join the workspace",
    NotificationType.ONBOARDING_MESSAGE: "a new user of the workspace",
    NotificationType.AI_ASSISTANT_WELCOME_MESSAGE: "started using the AI Assistant",
    NotificationType.ONCALL_STARTS_IN_N_DAYS: "goes on call",
    NotificationType.ONCALL_ASSISTANT: "on call",
    NotificationType.TOKEN_EXPIRES_IN_N_DAYS: "owns the API key",
    NotificationType.WORKFLOW_APPROVAL_PENDING: "asked to approve the workflow",
    NotificationType.PENDING_RULE_EXEMPTION: "asked to approve the exemption",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """Someone or something a run may reach, and how the engine came to it."""

    recipient_type: RecipientType
    why: str
    user: UserRecord | None = None
    email: str | None = None
    entity_id: int | None = None
    channel: str | None = None
    # The membership's or the channel's notificationsEnabled.
    enabled: bool = True
    # Reached through a team membership (the member switch applies).
    through_team: bool = False
    # Reached as an owner of an entity (the switch for owners who are not users applies).
    is_owner: bool = False
    # A webhook (named by `channel`): a machine, so no channel or person rule applies to it.
    is_webhook: bool = False

    @property
    def is_channel(self) -> bool:
        """Whether this is a channel rather than a person."""
        return self.channel is not None

    def destination(self, medium: Medium) -> str:
        """What makes two candidates the same destination (reaching both is a DUPLICATE)."""
        return destination_key(medium, self.channel, self.email)


def destination_key(medium: Medium, channel: str | None, email: str | None) -> str:
    """A channel by medium and name, a person by email address (the SQL twin is
    `repository._destination_sql`)."""
    if channel is not None:
        return f"{medium.value}:{channel.lower()}"
    return f"person:{(email or '').lower()}"


def _person(person: OwnerPerson, why: str) -> Candidate:
    return Candidate(
        RecipientType.USER,
        why,
        user=person.user,
        email=person.email,
        enabled=person.notifications_enabled,
        through_team=person.team_tag is not None,
        is_owner=True,
    )


def _owner_why(person: OwnerPerson, entity: EntityRecord) -> str:
    if person.team_tag is not None:
        return f"owner of {entity.entity_type} {entity.tag} through team {person.team_tag}"
    return f"named owner of {entity.entity_type} {entity.tag} ({person.email})"


def _owners(connection: Connection, entity: EntityRecord) -> Iterator[Candidate]:
    for person in catalog.owner_people(connection, entity.id):
        yield _person(person, _owner_why(person, entity))


def _channel_name(medium: Medium, name: str) -> str:
    return f"#{name}" if medium is Medium.SLACK else name


def _channels(connection: Connection, entity: EntityRecord, medium: Medium) -> Iterator[Candidate]:
    if medium not in CHANNEL_MEDIUMS:
        return
    label = MEDIUM_LABEL[medium]
    for channel in catalog.channels_of(connection, entity.id, medium):
        yield Candidate(
            RecipientType.TEAM if entity.is_team else RecipientType.ENTITY,
            f"{label} channel of {entity.entity_type} {entity.tag}",
            entity_id=entity.id,
            channel=_channel_name(medium, channel.name),
            enabled=channel.notifications_enabled,
        )
    for team in catalog.owner_teams(connection, entity.id):
        for channel in catalog.channels_of(connection, team.id, medium):
            yield Candidate(
                RecipientType.TEAM,
                f"{label} channel of team {team.tag}, which owns {entity.tag}",
                entity_id=team.id,
                channel=_channel_name(medium, channel.name),
                enabled=channel.notifications_enabled,
            )


def webhooks_reaching(connection: Connection, context: Context) -> Iterator[WebhookRecord]:
    """The webhooks of the event's entity and of the teams that own it that receive its
    type."""
    entity = context.entity
    if entity is None or Medium.WEBHOOK not in TYPE_INFO[context.event.type].mediums:
        return
    teams = [team for team in catalog.owner_teams(connection, entity.id) if team.id != entity.id]
    for holder in (entity, *teams):
        for webhook in catalog.webhooks_of(connection, holder.id):
            if webhook.receives(context.event.type):
                yield webhook


def _webhooks(connection: Connection, context: Context) -> Iterator[Candidate]:
    entity = context.entity
    assert entity is not None  # webhooks_reaching yields nothing without one
    for webhook in webhooks_reaching(connection, context):
        own = webhook.entity_id == entity.id
        yield Candidate(
            RecipientType.ENTITY if own and not entity.is_team else RecipientType.TEAM,
            f"webhook of {entity.entity_type} {entity.tag}"
            if own
            else f"webhook of team {webhook.entity_tag}, which owns {entity.tag}",
            entity_id=webhook.entity_id,
            channel=webhook.name,
            enabled=webhook.notifications_enabled,
            is_webhook=True,
        )


def _owners_of_each(
    connection: Connection, entities: Iterable[EntityRecord], scope: str
) -> Iterator[Candidate]:
    """Owners of many entities, each person once (their first entity explains why)."""
    seen: set[str] = set()
    for entity in entities:
        for person in catalog.owner_people(connection, entity.id):
            if person.email in seen:
                continue
            seen.add(person.email)
            why = f"{_owner_why(person, entity)}, {scope}"
            yield _person(person, why)


def _named(connection: Connection, context: Context, why: str) -> Iterator[Candidate]:
    for email in dict.fromkeys(address.strip().lower() for address in context.event.recipients):
        user = catalog.user_by_email(connection, email)
        yield Candidate(RecipientType.USER, why, user=user, email=email)


def _users(users: Iterable[UserRecord], why: str, muted: frozenset[str]) -> Iterator[Candidate]:
    for user in users:
        is_muted = user.email in muted
        yield Candidate(
            RecipientType.USER,
            why,
            user=user,
            email=user.email,
            enabled=not is_muted,
            through_team=is_muted,
        )


def _on_call(connection: Connection, context: Context, now: datetime) -> Iterator[Candidate]:
    entity = context.entity
    if context.event.recipients or entity is None:
        yield from _named(connection, context, f"on call for {_about(context)}")
        return
    for shift in catalog.oncall_at(connection, entity.tag, now):
        yield Candidate(
            RecipientType.USER,
            f"on call for {entity.entity_type} {entity.tag} "
            f"until {shift.ends_at:%Y-%m-%d %H:%M} UTC",
            user=shift.user,
            email=shift.user_email,
        )


def _about(context: Context) -> str:
    entity = context.entity
    return f"{entity.entity_type} {entity.tag}" if entity is not None else "the workspace"


def resolve_recipients(
    connection: Connection, context: Context, medium: Medium, now: datetime
) -> Iterator[Candidate]:
    """Everyone and every channel the event's type reaches over `medium`, streamed.

    Webhooks are reached only over WEBHOOK, and over WEBHOOK only webhooks are reached.
    """
    if medium is Medium.WEBHOOK:
        yield from _webhooks(connection, context)
        return
    notification_type = context.event.type
    info = TYPE_INFO[notification_type]
    entity = context.entity
    audience = info.audience
    if audience is Audience.OWNERS and entity is not None:
        yield from _owners(connection, entity)
    elif audience is Audience.SCORECARD_OWNERS and context.scorecard is not None:
        scorecard = context.scorecard
        entities = (
            [entity] if entity is not None else catalog.scorecard_entities(connection, scorecard)
        )
        yield from _owners_of_each(
            connection, entities, f"which scorecard {scorecard.tag} applies to"
        )
    elif audience is Audience.INITIATIVE_OWNERS and context.initiative is not None:
        assert context.scorecard is not None  # resolved with the initiative
        yield from _owners_of_each(
            connection,
            catalog.scorecard_entities(connection, context.scorecard),
            f"in initiative {context.initiative.name}",
        )
    elif audience is Audience.EVERYONE:
        muted = repository.muted_member_emails(connection)
        yield from _users(catalog.all_users(connection), "every user gets it", muted)
    elif audience is Audience.NAMED:
        yield from _named(
            connection, context, NAMED_WHY.get(notification_type, "named by the event")
        )
    elif audience is Audience.ONCALL:
        yield from _on_call(connection, context, now)
    elif audience is Audience.APPROVERS:
        if context.event.recipients:
            yield from _named(connection, context, NAMED_WHY[notification_type])
        elif entity is not None:
            yield from _owners(connection, entity)
    elif audience in (Audience.ADMINS, Audience.NAMED_OR_ADMINS):
        if audience is Audience.NAMED_OR_ADMINS and context.event.recipients:
            yield from _named(connection, context, NAMED_WHY[notification_type])
        else:
            yield from _users(catalog.admins(connection), "workspace admin", frozenset())
    if entity is not None and (info.to_channels or audience is Audience.OWNERS):
        yield from _channels(connection, entity, medium)

"""All SQL of the catalog: the writes of an import, and the reads the engine builds on.

Reads take a Connection and return the frozen records of `catalog.records`. Lists that can
be as long as an organisation (users, team members, the entities of a scorecard) are
streamed, so reading them costs the same memory for ten people as for a hundred thousand.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from tidings.catalog.declarations import (
    EntityDeclaration,
    InitiativeDeclaration,
    MemberDeclaration,
    PeriodDeclaration,
    ScorecardDeclaration,
    ShiftDeclaration,
    UserDeclaration,
    WorkspaceDeclaration,
)
from tidings.catalog.enums import EntityOrigin, GroupProvider, OwnerKind, UserRole
from tidings.catalog.models import (
    WORKSPACE_ROW_ID,
    Entity,
    EntityChannel,
    EntityOwner,
    EntityWebhook,
    Initiative,
    OnCallShift,
    Scorecard,
    ScorecardRule,
    TeamMember,
    User,
    UserSubscription,
    VerificationPeriod,
    WorkspaceChannelType,
    WorkspaceMedium,
    WorkspaceNotificationType,
    WorkspaceSettingsRow,
    entity_cid,
    initiative_cid,
)
from tidings.catalog.records import (
    ChannelRecord,
    EntityRecord,
    InitiativeRecord,
    MemberRecord,
    NotificationSchedule,
    OnCallShiftRecord,
    OwnerPerson,
    OwnerRecord,
    RuleRecord,
    ScorecardRecord,
    UserRecord,
    VerificationPeriodRecord,
    WebhookRecord,
    WeeklyReportSchedule,
    WorkspaceSettings,
)
from tidings.enums import Medium, NotificationType
from tidings.kit.orm import to_millis

users = cast(Table, User.__table__)
entities = cast(Table, Entity.__table__)
owners = cast(Table, EntityOwner.__table__)
channels = cast(Table, EntityChannel.__table__)
webhooks = cast(Table, EntityWebhook.__table__)
members = cast(Table, TeamMember.__table__)
scorecards = cast(Table, Scorecard.__table__)
rules = cast(Table, ScorecardRule.__table__)
initiatives_table = cast(Table, Initiative.__table__)
shifts = cast(Table, OnCallShift.__table__)
periods = cast(Table, VerificationPeriod.__table__)
workspace = cast(Table, WorkspaceSettingsRow.__table__)
workspace_mediums = cast(Table, WorkspaceMedium.__table__)
workspace_types = cast(Table, WorkspaceNotificationType.__table__)
workspace_channel_types = cast(Table, WorkspaceChannelType.__table__)
subscriptions = cast(Table, UserSubscription.__table__)

# Rows fetched per round trip when streaming; memory stays flat whatever the list's length.
STREAM_BATCH = 1000
# Values per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
IN_LIST_CHUNK = 500


# Writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upserted:
    """The id of a row written by key, and whether it is new or had to change."""

    id: int
    created: bool
    changed: bool


@dataclass
class Synced:
    """The keys a sync inserted, updated, deleted and left alone."""

    inserted: list[tuple[Any, ...]] = field(default_factory=list)
    updated: list[tuple[Any, ...]] = field(default_factory=list)
    deleted: list[tuple[Any, ...]] = field(default_factory=list)
    unchanged: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the sync wrote anything."""
        return bool(self.inserted or self.updated or self.deleted)

    def changed_keys(self) -> set[tuple[Any, ...]]:
        """Every key whose row was inserted, updated or deleted."""
        return {*self.inserted, *self.updated, *self.deleted}


def _matching(table: Table, values: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    return [table.c[name] == value for name, value in values.items()]


def upsert(
    connection: Connection,
    table: Table,
    key: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    on_insert: Mapping[str, Any] | None = None,
    on_change: Mapping[str, Any] | None = None,
) -> Upserted:
    """Insert the row with `key`, or update those of its `values` that differ.

    `on_insert` columns are written only with a new row (cids, first-import times, defaults
    that `values` may override); `on_change` columns with a new row and whenever a value
    changes (the file it came from), so that a row that did not change is not written.
    """
    on_insert, on_change = on_insert or {}, on_change or {}
    current = (
        connection.execute(
            select(table.c.id, *(table.c[name] for name in values)).where(*_matching(table, key))
        )
        .mappings()
        .first()
    )
    if current is None:
        row = {**on_insert, **values, **key, **on_change}
        new_id = connection.execute(insert(table).values(row).returning(table.c.id)).scalar_one()
        return Upserted(int(new_id), created=True, changed=True)
    differing = {name: value for name, value in values.items() if current[name] != value}
    if differing:
        connection.execute(
            update(table).where(table.c.id == current["id"]).values({**differing, **on_change})
        )
    return Upserted(int(current["id"]), created=False, changed=bool(differing))


def sync(
    connection: Connection,
    table: Table,
    scope: ColumnElement[bool],
    key: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
) -> Synced:
    """Make the rows of `table` within `scope` exactly `rows`, matching them by `key`.

    Rows whose values already match are not written, so an unchanged file writes nothing.
    """
    existing = {
        tuple(row[name] for name in key): row
        for row in connection.execute(select(table).where(scope)).mappings()
    }
    result, new_rows = Synced(), []
    for row in rows:
        row_key = tuple(row[name] for name in key)
        current = existing.pop(row_key, None)
        if current is None:
            new_rows.append(row)
            result.inserted.append(row_key)
        elif any(current[name] != value for name, value in row.items()):
            connection.execute(
                update(table)
                .where(scope, *_matching(table, dict(zip(key, row_key, strict=True))))
                .values(row)
            )
            result.updated.append(row_key)
        else:
            result.unchanged.append(row_key)
    for row_key in existing:
        connection.execute(
            delete(table).where(scope, *_matching(table, dict(zip(key, row_key, strict=True))))
        )
        result.deleted.append(row_key)
    if new_rows:
        connection.execute(insert(table), list(new_rows))
    return result


def ensure_member_users(connection: Connection, names: Mapping[str, str], source: str) -> set[str]:
    """Create the users team members name (email to name) when missing; rename only those
    this file created and nobody declared. Returns the emails created or renamed."""
    emails = list(names)
    known: dict[str, Any] = {}
    for start in range(0, len(emails), IN_LIST_CHUNK):
        chunk = emails[start : start + IN_LIST_CHUNK]
        statement = select(users.c.email, users.c.name, users.c.declared, users.c.source).where(
            users.c.email.in_(chunk)
        )
        known.update({row.email: row for row in connection.execute(statement)})
    missing = [email for email in emails if email not in known]
    renamed = [
        email
        for email, row in known.items()
        if not row.declared and row.source == source and row.name != names[email]
    ]
    if missing:
        connection.execute(
            insert(users),
            [
                {
                    "email": email,
                    "name": names[email],
                    "role": UserRole.MEMBER,
                    "is_cortex_employee": False,
                    "declared": False,
                    "source": source,
                }
                for email in missing
            ],
        )
    for email in renamed:
        connection.execute(update(users).where(users.c.email == email).values(name=names[email]))
    return {*missing, *renamed}


def save_entity(connection: Connection, entity: EntityDeclaration, source: str) -> Upserted:
    """Write an entity by tag, replacing its owners and channels; `changed` covers them too."""
    saved = upsert(
        connection,
        entities,
        {"tag": entity.tag},
        {
            "name": entity.name,
            "entity_type": entity.entity_type,
            "description": entity.description,
            "origin": entity.origin,
        },
        on_insert={"cid": entity_cid(entity.tag)},
        on_change={"source": source},
    )
    owner_rows = [
        {
            "entity_id": saved.id,
            "position": position,
            "kind": owner.kind,
            "group_name": owner.group_name,
            "provider": owner.provider,
            "email": owner.email,
            "user_ref": owner.user_ref,
            "description": owner.description,
            "inheritance": owner.inheritance,
        }
        for position, owner in enumerate(entity.owners)
    ]
    channel_rows = [
        {
            "entity_id": saved.id,
            "medium": channel.medium,
            "name": channel.name,
            "position": position,
            "notifications_enabled": channel.notifications_enabled,
            "description": channel.description,
            "webhook_url": channel.webhook_url,
        }
        for position, channel in enumerate(entity.channels)
    ]
    webhook_rows = [
        {
            "entity_id": saved.id,
            "name": webhook.name,
            "url": webhook.url,
            "position": position,
            "notifications_enabled": webhook.notifications_enabled,
            "types": [notification_type.value for notification_type in webhook.types],
            "description": webhook.description,
        }
        for position, webhook in enumerate(entity.webhooks)
    ]
    owned = sync(connection, owners, owners.c.entity_id == saved.id, ("position",), owner_rows)
    reached = sync(
        connection, channels, channels.c.entity_id == saved.id, ("medium", "name"), channel_rows
    )
    # sync deletes before it inserts: a webhook renamed in its file keeps its URL.
    hooked = sync(connection, webhooks, webhooks.c.entity_id == saved.id, ("name",), webhook_rows)
    changed = saved.changed or owned.changed or reached.changed or hooked.changed
    return Upserted(saved.id, saved.created, changed)


def save_team_members(
    connection: Connection, source: str, declared: Sequence[MemberDeclaration]
) -> Synced:
    """Make the team memberships a file declares exactly `declared` (keys: team tag, email)."""
    rows = [
        {
            "team_tag": member.team_tag,
            "email": member.email,
            "name": member.name,
            "notifications_enabled": member.notifications_enabled,
            "role": member.role,
            "position": position,
            "source": source,
        }
        for position, member in enumerate(declared)
    ]
    return sync(connection, members, members.c.source == source, ("team_tag", "email"), rows)


def save_user(connection: Connection, user: UserDeclaration, source: str) -> Upserted:
    """Write a declared user by email; the fields its format does not carry are kept."""
    values: dict[str, Any] = {"name": user.name, "declared": True}
    if user.backstage_name is not None:
        values["backstage_name"] = user.backstage_name
    profile = user.profile
    if profile is not None:
        values |= {
            "slack_user_id": profile.slack_user_id,
            "teams_user_id": profile.teams_user_id,
            "role": profile.role,
            "is_cortex_employee": profile.is_cortex_employee,
        }
    saved = upsert(
        connection,
        users,
        {"email": user.email},
        values,
        on_insert={"role": UserRole.MEMBER, "is_cortex_employee": False},
        on_change={"source": source},
    )
    if profile is None:
        return saved
    chosen = sync(
        connection,
        subscriptions,
        subscriptions.c.user_id == saved.id,
        ("notification_type", "medium"),
        [
            {
                "user_id": saved.id,
                "notification_type": choice.notification_type,
                "medium": choice.medium,
                "subscribed": choice.subscribed,
            }
            for choice in profile.subscriptions
        ],
    )
    return Upserted(saved.id, saved.created, saved.changed or chosen.changed)


def save_scorecard(
    connection: Connection, scorecard: ScorecardDeclaration, source: str
) -> Upserted:
    """Write a scorecard by tag, and its rules by name."""
    saved = upsert(
        connection,
        scorecards,
        {"tag": scorecard.tag},
        {
            "name": scorecard.name,
            "description": scorecard.description,
            "draft": scorecard.draft,
            "notifications_enabled": scorecard.notifications_enabled,
            "score_drop_notifications_enabled": scorecard.score_drop_notifications_enabled,
            "entity_types": list(scorecard.entity_types),
            "entity_tags": list(scorecard.entity_tags),
        },
        on_change={"source": source},
    )
    ruled = sync(
        connection,
        rules,
        rules.c.scorecard_id == saved.id,
        ("name",),
        [
            {
                "scorecard_id": saved.id,
                "name": rule.name,
                "position": position,
                "expression": rule.expression,
                "activates_on": rule.activates_on,
            }
            for position, rule in enumerate(scorecard.rules)
        ],
    )
    return Upserted(saved.id, saved.created, saved.changed or ruled.changed)


def save_initiative(
    connection: Connection, initiative: InitiativeDeclaration, source: str, now: datetime
) -> Upserted:
    """Write an initiative by tag; without a declared creation time it is created `now`."""
    schedule = initiative.schedule
    values: dict[str, Any] = {
        "name": initiative.name,
        "description": initiative.description,
        "scorecard_tag": initiative.scorecard_tag,
        "target_date": initiative.target_date,
        "is_draft": initiative.is_draft,
        "schedule_is_disabled": None if schedule is None else schedule.is_disabled,
        "schedule_time_interval": None if schedule is None else schedule.time_interval,
        "schedule_time_unit": None if schedule is None else schedule.time_unit,
        "reply_to_emails": [] if schedule is None else list(schedule.reply_to_emails),
    }
    on_insert: dict[str, Any] = {"cid": initiative_cid(initiative.tag)}
    if initiative.created_at is None:
        on_insert["created_at"] = to_millis(now)
    else:
        values["created_at"] = initiative.created_at
    return upsert(
        connection,
        initiatives_table,
        {"tag": initiative.tag},
        values,
        on_insert=on_insert,
        on_change={"source": source},
    )


def save_shifts(
    connection: Connection, source: str, declared: Sequence[ShiftDeclaration]
) -> Synced:
    """Make the on-call shifts of a file exactly `declared` (keys: entity, email, start)."""
    rows = [
        {
            "entity_tag": shift.entity_tag,
            "user_email": shift.user_email,
            "starts_at": shift.starts_at,
            "ends_at": shift.ends_at,
            "source": source,
        }
        for shift in declared
    ]
    key = ("entity_tag", "user_email", "starts_at")
    return sync(connection, shifts, shifts.c.source == source, key, rows)


def save_periods(
    connection: Connection, source: str, declared: Sequence[PeriodDeclaration]
) -> Synced:
    """Make the verification periods of a file exactly `declared` (key: name)."""
    rows = [
        {
            "name": period.name,
            "entity_types": list(period.entity_types),
            "entity_tags": list(period.entity_tags),
            "starts_at": period.starts_at,
            "ends_at": period.ends_at,
            "reminder_every_days": period.reminder_every_days,
            "source": source,
        }
        for period in declared
    ]
    return sync(connection, periods, periods.c.source == source, ("name",), rows)


def save_workspace(connection: Connection, settings: WorkspaceDeclaration, source: str) -> Upserted:
    """Replace the workspace settings: every switch not in `settings` goes back to on."""
    saved = upsert(
        connection,
        workspace,
        {"id": WORKSPACE_ROW_ID},
        {
            "non_cortex_users_enabled": settings.non_cortex_users_enabled,
            "weekly_report_day": settings.weekly_report_day,
            "weekly_report_hour": settings.weekly_report_hour,
            "weekly_report_time_zone": settings.weekly_report_time_zone,
            "seats": settings.seats,
        },
        on_change={"source": source},
    )
    mediums = sync(
        connection,
        workspace_mediums,
        true(),
        ("medium",),
        [{"medium": medium, "enabled": on} for medium, on in settings.mediums.items()],
    )
    types = sync(
        connection,
        workspace_types,
        true(),
        ("notification_type", "medium"),
        [
            {"notification_type": kind, "medium": medium, "enabled": on}
            for (kind, medium), on in settings.types.items()
        ],
    )
    channel_types = sync(
        connection,
        workspace_channel_types,
        true(),
        ("notification_type",),
        [{"notification_type": kind, "enabled": on} for kind, on in settings.channel_types.items()],
    )
    changed = saved.changed or mediums.changed or types.changed or channel_types.changed
    return Upserted(saved.id, saved.created, changed)


# Reading: people -----------------------------------------------------------------------------

USER_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.slack_user_id,
    users.c.teams_user_id,
    users.c.role,
    users.c.is_cortex_employee,
)


def _user(row: Sequence[Any]) -> UserRecord:
    user_id, email, name, slack, teams, role, employee = row
    return UserRecord(int(user_id), email, name, slack, teams, UserRole(role), bool(employee))


def _stream(connection: Connection, statement: Select[Any]) -> Iterator[Sequence[Any]]:
    yield from connection.execute(statement, execution_options={"yield_per": STREAM_BATCH})


def user_by_id(connection: Connection, user_id: int) -> UserRecord | None:
    """The user with this id, if any."""
    row = connection.execute(select(*USER_COLUMNS).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def user_by_email(connection: Connection, email: str) -> UserRecord | None:
    """The user with this email (in any case), if any."""
    statement = select(*USER_COLUMNS).where(users.c.email == email.strip().lower())
    row = connection.execute(statement).first()
    return None if row is None else _user(row)


def user_count(connection: Connection) -> int:
    """How many users the workspace has (each takes a licensed seat)."""
    return int(connection.scalar(select(func.count()).select_from(users)) or 0)


def admins(connection: Connection) -> list[UserRecord]:
    """Every admin, by id."""
    statement = select(*USER_COLUMNS).where(users.c.role == UserRole.ADMIN).order_by(users.c.id)
    return [_user(row) for row in connection.execute(statement)]


def all_users(connection: Connection) -> Iterator[UserRecord]:
    """Every user, by id, streamed."""
    for row in _stream(connection, select(*USER_COLUMNS).order_by(users.c.id)):
        yield _user(row)


def is_subscribed(
    connection: Connection, user_id: int, notification_type: NotificationType, medium: Medium
) -> bool:
    """Whether the user wants this type over this medium (a choice for the medium beats one
    for every medium; no choice at all means subscribed)."""
    statement = select(subscriptions.c.medium, subscriptions.c.subscribed).where(
        subscriptions.c.user_id == user_id,
        subscriptions.c.notification_type == notification_type,
        or_(subscriptions.c.medium == medium, subscriptions.c.medium.is_(None)),
    )
    choices = {row.medium: bool(row.subscribed) for row in connection.execute(statement)}
    return choices.get(medium, choices.get(None, True))


def unsubscribed_user_ids(
    connection: Connection, notification_type: NotificationType, medium: Medium
) -> frozenset[int]:
    """The ids of every user who does not want this type over this medium (see is_subscribed)."""
    statement = select(
        subscriptions.c.user_id, subscriptions.c.medium, subscriptions.c.subscribed
    ).where(
        subscriptions.c.notification_type == notification_type,
        or_(subscriptions.c.medium == medium, subscriptions.c.medium.is_(None)),
    )
    choices: dict[int, dict[Medium | None, bool]] = {}
    for row in connection.execute(statement):
        choices.setdefault(int(row.user_id), {})[row.medium] = bool(row.subscribed)
    return frozenset(
        user_id
        for user_id, choice in choices.items()
        if not choice.get(medium, choice.get(None, True))
    )


# Reading: entities, owners, channels, teams --------------------------------------------------

ENTITY_COLUMNS = (
    entities.c.id,
    entities.c.cid,
    entities.c.tag,
    entities.c.name,
    entities.c.entity_type,
    entities.c.description,
    entities.c.source,
    entities.c.origin,
)


def _entity(row: Sequence[Any]) -> EntityRecord:
    entity_id, cid, tag, name, entity_type, description, source, origin = row
    return EntityRecord(
        int(entity_id), cid, tag, name, entity_type, description, source, EntityOrigin(origin)
    )


def entity_by_tag(connection: Connection, tag: str) -> EntityRecord | None:
    """The entity with this tag, if any."""
    row = connection.execute(select(*ENTITY_COLUMNS).where(entities.c.tag == tag)).first()
    return None if row is None else _entity(row)


def entity_by_id(connection: Connection, entity_id: int) -> EntityRecord | None:
    """The entity with this id, if any."""
    row = connection.execute(select(*ENTITY_COLUMNS).where(entities.c.id == entity_id)).first()
    return None if row is None else _entity(row)


def entities_matching(
    connection: Connection, types: Iterable[str], tags: Iterable[str]
) -> Iterator[EntityRecord]:
    """Every entity of one of `types` or with one of `tags`, by id, streamed."""
    types, tags = list(types), list(tags)
    if not types and not tags:
        return
    condition = or_(entities.c.entity_type.in_(types), entities.c.tag.in_(tags))
    statement = select(*ENTITY_COLUMNS).where(condition).order_by(entities.c.id)
    for row in _stream(connection, statement):
        yield _entity(row)


OWNER_COLUMNS = (
    owners.c.entity_id,
    owners.c.position,
    owners.c.kind,
    owners.c.group_name,
    owners.c.provider,
    owners.c.email,
    owners.c.user_ref,
    owners.c.description,
    owners.c.inheritance,
)


def owners_of(connection: Connection, entity_id: int) -> list[OwnerRecord]:
    """The owners of an entity as its descriptor lists them, in order."""
    statement = (
        select(*OWNER_COLUMNS).where(owners.c.entity_id == entity_id).order_by(owners.c.position)
    )
    return [OwnerRecord(*row) for row in connection.execute(statement)]


def owner_people(connection: Connection, entity_id: int) -> Iterator[OwnerPerson]:
    """Everyone the entity's owners reach, owner by owner, streamed.

    An email owner is one person (a user when one has that email); a Backstage user owner
    is that user; a CORTEX group owner is each member of the team with that tag, with the
    membership's `notificationsEnabled`. The same person can appear more than once.
    """
    for owner in owners_of(connection, entity_id):
        if owner.kind is OwnerKind.EMAIL and owner.email is not None:
            user = user_by_email(connection, owner.email)
            yield OwnerPerson(owner.email, user, True, owner)
        elif owner.kind is OwnerKind.USER and owner.user_ref is not None:
            user = _user_by_backstage_name(connection, owner.user_ref)
            if user is not None:
                yield OwnerPerson(user.email, user, True, owner)
        elif _is_team_owner(owner):
            assert owner.group_name is not None
            team = entity_by_tag(connection, owner.group_name)
            for member in team_members(connection, owner.group_name):
                yield OwnerPerson(
                    member.email,
                    member.user,
                    member.notifications_enabled,
                    owner,
                    team_tag=owner.group_name,
                    team=team,
                )


def unresolved_owners(connection: Connection, entity_id: int) -> list[OwnerRecord]:
    """The owners that reach nobody: groups of an identity provider (tidings cannot expand
    them), team tags with no members, Backstage users tidings does not know."""
    found = []
    for owner in owners_of(connection, entity_id):
        if _is_team_owner(owner):
            reaches = _has_members(connection, owner.group_name or "")
        elif owner.kind is OwnerKind.USER:
            reaches = _user_by_backstage_name(connection, owner.user_ref or "") is not None
        else:
            reaches = owner.kind is OwnerKind.EMAIL
        if not reaches:
            found.append(owner)
    return found


def owner_teams(connection: Connection, entity_id: int) -> list[EntityRecord]:
    """The team entities among the entity's owners (CORTEX groups), in owner order."""
    statement = (
        select(*ENTITY_COLUMNS)
        .join(owners, owners.c.group_name == entities.c.tag)
        .where(
            owners.c.entity_id == entity_id,
            owners.c.kind == OwnerKind.GROUP,
            owners.c.provider == GroupProvider.CORTEX,
        )
        .order_by(owners.c.position)
    )
    return [_entity(row) for row in connection.execute(statement)]


def _is_team_owner(owner: OwnerRecord) -> bool:
    return owner.kind is OwnerKind.GROUP and owner.provider is GroupProvider.CORTEX


def _has_members(connection: Connection, team_tag: str) -> bool:
    statement = select(members.c.id).where(members.c.team_tag == team_tag).limit(1)
    return connection.execute(statement).first() is not None


def _user_by_backstage_name(connection: Connection, name: str) -> UserRecord | None:
    row = connection.execute(select(*USER_COLUMNS).where(users.c.backstage_name == name)).first()
    return None if row is None else _user(row)


def channels_of(
    connection: Connection, entity_id: int, medium: Medium | None = None
) -> list[ChannelRecord]:
    """The channels of an entity or team (of one medium when given), in descriptor order."""
    statement = select(
        channels.c.entity_id,
        channels.c.medium,
        channels.c.name,
        channels.c.notifications_enabled,
        channels.c.description,
    ).where(channels.c.entity_id == entity_id)
    if medium is not None:
        statement = statement.where(channels.c.medium == medium)
    statement = statement.order_by(channels.c.position)
    return [
        ChannelRecord(int(row[0]), Medium(row[1]), row[2], bool(row[3]), row[4])
        for row in connection.execute(statement)
    ]


WEBHOOK_COLUMNS = (
    webhooks.c.entity_id,
    entities.c.tag,
    webhooks.c.name,
    webhooks.c.url,
    webhooks.c.notifications_enabled,
    webhooks.c.types,
    webhooks.c.description,
)


def _webhook(row: Sequence[Any]) -> WebhookRecord:
    return WebhookRecord(
        entity_id=int(row[0]),
        entity_tag=row[1],
        name=row[2],
        url=row[3],
        notifications_enabled=bool(row[4]),
        types=frozenset(NotificationType(value) for value in row[5]),
        description=row[6],
    )


def webhooks_of(connection: Connection, entity_id: int) -> list[WebhookRecord]:
    """The webhooks of an entity or team, in descriptor order."""
    statement = (
        select(*WEBHOOK_COLUMNS)
        .join(entities, entities.c.id == webhooks.c.entity_id)
        .where(webhooks.c.entity_id == entity_id)
        .order_by(webhooks.c.position)
    )
    return [_webhook(row) for row in connection.execute(statement)]


def webhook_named(connection: Connection, name: str) -> WebhookRecord | None:
    """The webhook with this name (names are unique across the workspace)."""
    statement = (
        select(*WEBHOOK_COLUMNS)
        .join(entities, entities.c.id == webhooks.c.entity_id)
        .where(webhooks.c.name == name)
    )
    row = connection.execute(statement).first()
    return None if row is None else _webhook(row)


def webhooks_named_or_at(connection: Connection, name: str, url: str) -> list[WebhookRecord]:
    """The stored webhooks that have this name or this URL."""
    statement = (
        select(*WEBHOOK_COLUMNS)
        .join(entities, entities.c.id == webhooks.c.entity_id)
        .where(or_(webhooks.c.name == name, webhooks.c.url == url))
    )
    return [_webhook(row) for row in connection.execute(statement)]


def channel_names(connection: Connection, medium: Medium) -> list[str]:
    """Every channel of one medium the catalog names, each once, sorted."""
    statement = select(channels.c.name).where(channels.c.medium == medium).distinct()
    return sorted(str(name) for name in connection.scalars(statement))


def channel_addresses(
    connection: Connection, medium: Medium, channels_of_entities: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], str]:
    """Where messages to these channels are posted, for the channels that are URLs: a
    Teams channel's Workflows webhook, a webhook's endpoint; by (entity id, channel)."""
    wanted = set(channels_of_entities)
    if not wanted:
        return {}
    if medium is Medium.WEBHOOK:
        statement = select(webhooks.c.entity_id, webhooks.c.name, webhooks.c.url).where(
            webhooks.c.name.in_({name for _, name in wanted})
        )
    else:
        statement = select(channels.c.entity_id, channels.c.name, channels.c.webhook_url).where(
            channels.c.medium == medium,
            channels.c.entity_id.in_({entity_id for entity_id, _ in wanted}),
            channels.c.webhook_url.is_not(None),
        )
    found = {(int(row[0]), str(row[1])): str(row[2]) for row in connection.execute(statement)}
    return {key: url for key, url in found.items() if key in wanted}


def team_members(connection: Connection, team_tag: str) -> Iterator[MemberRecord]:
    """The members of the team with this tag, by email, streamed; each once.

    Members come from the team's descriptor and from Backstage users' `memberOf`; when both
    name a person, the team's own file wins.
    """
    team_source = select(entities.c.source).where(entities.c.tag == team_tag).scalar_subquery()
    preference = case((members.c.source == team_source, 0), else_=1)
    statement = (
        select(
            members.c.email,
            members.c.name,
            members.c.notifications_enabled,
            members.c.role,
            *USER_COLUMNS,
        )
        .outerjoin(users, users.c.email == members.c.email)
        .where(members.c.team_tag == team_tag)
        .order_by(members.c.email, preference, members.c.id)
    )
    previous = None
    for row in _stream(connection, statement):
        email, name, enabled, role = row[:4]
        if email == previous:
            continue
        previous = email
        user = None if row[4] is None else _user(row[4:])
        yield MemberRecord(team_tag, email, name, bool(enabled), role, user)


def team_tags_of(connection: Connection, email: str) -> list[str]:
    """The tags of the teams a person is a member of, sorted."""
    statement = (
        select(members.c.team_tag)
        .where(members.c.email == email.strip().lower())
        .distinct()
        .order_by(members.c.team_tag)
    )
    return list(connection.scalars(statement))


# Reading: scorecards, initiatives, schedules -------------------------------------------------


def _scorecard(connection: Connection, row: Row[Any]) -> ScorecardRecord:
    rule_rows = connection.execute(
        select(
            rules.c.id, rules.c.scorecard_id, rules.c.name, rules.c.expression, rules.c.activates_on
        )
        .where(rules.c.scorecard_id == row.id)
        .order_by(rules.c.position)
    )
    return ScorecardRecord(
        id=int(row.id),
        tag=row.tag,
        name=row.name,
        description=row.description,
        draft=bool(row.draft),
        notifications_enabled=row.notifications_enabled,
        score_drop_notifications_enabled=bool(row.score_drop_notifications_enabled),
        entity_types=tuple(row.entity_types),
        entity_tags=tuple(row.entity_tags),
        rules=tuple(RuleRecord(int(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rule_rows),
    )


def scorecard_by_tag(connection: Connection, tag: str) -> ScorecardRecord | None:
    """The scorecard with this tag and its rules, if any."""
    row = connection.execute(select(scorecards).where(scorecards.c.tag == tag)).first()
    return None if row is None else _scorecard(connection, row)


def scorecard_by_id(connection: Connection, scorecard_id: int) -> ScorecardRecord | None:
    """The scorecard with this id and its rules, if any."""
    row = connection.execute(select(scorecards).where(scorecards.c.id == scorecard_id)).first()
    return None if row is None else _scorecard(connection, row)


def scorecard_entities(
    connection: Connection, scorecard: ScorecardRecord
) -> Iterator[EntityRecord]:
    """The entities a scorecard applies to, by id, streamed."""
    return entities_matching(connection, scorecard.entity_types, scorecard.entity_tags)


def rules_activating(connection: Connection, first: date, last: date) -> list[RuleRecord]:
    """The scorecard rules that activate on a day from `first` to `last`, both included."""
    statement = (
        select(
            rules.c.id, rules.c.scorecard_id, rules.c.name, rules.c.expression, rules.c.activates_on
        )
        .where(rules.c.activates_on >= first, rules.c.activates_on <= last)
        .order_by(rules.c.activates_on, rules.c.id)
    )
    return [
        RuleRecord(int(r[0]), int(r[1]), r[2], r[3], r[4]) for r in connection.execute(statement)
    ]


def _initiative(row: Row[Any]) -> InitiativeRecord:
    schedule = None
    if row.schedule_time_unit is not None:
        schedule = NotificationSchedule(
            is_disabled=bool(row.schedule_is_disabled),
            time_interval=int(row.schedule_time_interval),
            time_unit=row.schedule_time_unit,
            reply_to_emails=tuple(row.reply_to_emails),
        )
    return InitiativeRecord(
        id=int(row.id),
        cid=row.cid,
        tag=row.tag,
        name=row.name,
        description=row.description,
        scorecard_tag=row.scorecard_tag,
        target_date=row.target_date,
        is_draft=bool(row.is_draft),
        created_at=row.created_at,
        schedule=schedule,
    )


def initiatives(connection: Connection) -> list[InitiativeRecord]:
    """Every initiative with its schedule, by id."""
    statement = select(initiatives_table).order_by(initiatives_table.c.id)
    return [_initiative(row) for row in connection.execute(statement)]


def initiative_by_tag(connection: Connection, tag: str) -> InitiativeRecord | None:
    """The initiative with this tag, if any."""
    statement = select(initiatives_table).where(initiatives_table.c.tag == tag)
    row = connection.execute(statement).first()
    return None if row is None else _initiative(row)


def initiative_by_id(connection: Connection, initiative_id: int) -> InitiativeRecord | None:
    """The initiative with this id, if any."""
    statement = select(initiatives_table).where(initiatives_table.c.id == initiative_id)
    row = connection.execute(statement).first()
    return None if row is None else _initiative(row)


def _shifts(connection: Connection, condition: ColumnElement[bool]) -> list[OnCallShiftRecord]:
    statement = select(shifts).where(condition).order_by(shifts.c.starts_at, shifts.c.id)
    found = []
    for row in connection.execute(statement):
        found.append(
            OnCallShiftRecord(
                id=int(row.id),
                entity_tag=row.entity_tag,
                user_email=row.user_email,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                entity=entity_by_tag(connection, row.entity_tag),
                user=user_by_email(connection, row.user_email),
            )
        )
    return found


def oncall_shifts_starting(
    connection: Connection, start: datetime, end: datetime
) -> list[OnCallShiftRecord]:
    """The shifts that start at or after `start` and before `end`, earliest first."""
    return _shifts(connection, and_(shifts.c.starts_at >= start, shifts.c.starts_at < end))


def oncall_at(connection: Connection, entity_tag: str, moment: datetime) -> list[OnCallShiftRecord]:
    """Who is on call for an entity at `moment` (shifts that started and have not ended)."""
    return _shifts(
        connection,
        and_(
            shifts.c.entity_tag == entity_tag,
            shifts.c.starts_at <= moment,
            shifts.c.ends_at > moment,
        ),
    )


def verification_periods(connection: Connection) -> list[VerificationPeriodRecord]:
    """Every verification period, earliest first."""
    statement = select(periods).order_by(periods.c.starts_at, periods.c.id)
    return [
        VerificationPeriodRecord(
            id=int(row.id),
            name=row.name,
            entity_types=tuple(row.entity_types),
            entity_tags=tuple(row.entity_tags),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            reminder_every_days=int(row.reminder_every_days),
        )
        for row in connection.execute(statement)
    ]


def workspace_settings(connection: Connection) -> WorkspaceSettings:
    """The workspace switches; the product defaults (all on) where nothing was imported."""
    row = connection.execute(select(workspace)).first()
    disabled_mediums = connection.scalars(
        select(workspace_mediums.c.medium).where(workspace_mediums.c.enabled == false())
    )
    disabled_types = connection.execute(
        select(workspace_types.c.notification_type, workspace_types.c.medium).where(
            workspace_types.c.enabled == false()
        )
    )
    disabled_channel_types = connection.scalars(
        select(workspace_channel_types.c.notification_type).where(
            workspace_channel_types.c.enabled == false()
        )
    )
    settings = WorkspaceSettings(
        disabled_mediums=frozenset(Medium(medium) for medium in disabled_mediums),
        disabled_types=frozenset(
            (NotificationType(kind), Medium(medium)) for kind, medium in disabled_types
        ),
        disabled_channel_types=frozenset(NotificationType(k) for k in disabled_channel_types),
    )
    if row is None:
        return settings
    return WorkspaceSettings(
        disabled_mediums=settings.disabled_mediums,
        disabled_types=settings.disabled_types,
        disabled_channel_types=settings.disabled_channel_types,
        non_cortex_users_enabled=bool(row.non_cortex_users_enabled),
        seats=row.seats,
        weekly_report=WeeklyReportSchedule(
            row.weekly_report_day, int(row.weekly_report_hour), row.weekly_report_time_zone
        ),
    )

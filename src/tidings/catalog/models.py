"""The catalog as stored: who exists, what they own, where they are reached, what they want.

References that may cross files (an owner's team tag, an initiative's scorecard tag, an
on-call shift's entity tag, a Backstage user's team) are stored as tags and emails and
resolved when read, so the order in which files are imported never matters.
"""

import hashlib
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tidings.catalog.enums import (
    DayOfWeek,
    EntityOrigin,
    GroupProvider,
    OwnerInheritance,
    OwnerKind,
    TimeUnit,
    UserRole,
)
from tidings.enums import Medium, NotificationType
from tidings.kit.orm import Base, BigIntId, UtcDateTime, enum_check, enum_column_type

TAG = String(255)
EMAIL = String(320)
CHANNEL_MEDIUMS = (Medium.SLACK, Medium.MICROSOFT_TEAMS)
WORKSPACE_ROW_ID = 1
CID_LENGTH = 18


def entity_cid(tag: str) -> str:
    """The 18-character cid of the entity with `tag`: the same on every machine."""
    return _cid("en", f"entity:{tag}")


def initiative_cid(tag: str) -> str:
    """The 18-character cid of the initiative with `tag`: the same on every machine."""
    return _cid("in", f"initiative:{tag}")


def _cid(prefix: str, seed: str) -> str:
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[: CID_LENGTH - len(prefix)]


def effective_notifications_enabled(enabled: bool | None, draft: bool) -> bool:
    """A scorecard's notification switch: unset means on, except for drafts."""
    return (not draft) if enabled is None else enabled


class User(Base):
    """A person who can be notified, known by a lower-case email."""

    __tablename__ = "catalog_users"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    email: Mapped[str] = mapped_column(EMAIL, unique=True)
    name: Mapped[str] = mapped_column(Text)
    slack_user_id: Mapped[str | None] = mapped_column(String(64))
    teams_user_id: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(enum_column_type(UserRole, "user_role"))
    is_cortex_employee: Mapped[bool] = mapped_column(Boolean, default=False)
    # The Backstage `metadata.name` of the user, so that `owner: user:jdoe` finds them.
    backstage_name: Mapped[str | None] = mapped_column(TAG, unique=True)
    # Declared in their own right (tidings or Backstage user), not only met as a team member:
    # a team member creates a missing user but never renames a declared one.
    declared: Mapped[bool] = mapped_column(Boolean)
    # The file that last changed the user.
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (enum_check("role", UserRole),)


class Entity(Base):
    """A service, team, domain or entity of a custom type."""

    __tablename__ = "catalog_entities"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    cid: Mapped[str] = mapped_column(String(CID_LENGTH), unique=True)
    tag: Mapped[str] = mapped_column(TAG, unique=True)
    name: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    origin: Mapped[EntityOrigin] = mapped_column(
        enum_column_type(EntityOrigin, "entity_origin"), server_default=EntityOrigin.CORTEX.value
    )


class EntityOwner(Base):
    """One owner of an entity, in the order its descriptor lists them."""

    __tablename__ = "catalog_entity_owners"

    entity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("catalog_entities.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[OwnerKind] = mapped_column(enum_column_type(OwnerKind, "owner_kind"))
    group_name: Mapped[str | None] = mapped_column(TAG)
    provider: Mapped[GroupProvider | None] = mapped_column(
        enum_column_type(GroupProvider, "group_provider")
    )
    email: Mapped[str | None] = mapped_column(EMAIL)
    user_ref: Mapped[str | None] = mapped_column(TAG)
    description: Mapped[str | None] = mapped_column(Text)
    inheritance: Mapped[OwnerInheritance | None] = mapped_column(
        enum_column_type(OwnerInheritance, "owner_inheritance")
    )

    __table_args__ = (
        enum_check("kind", OwnerKind),
        enum_check("provider", GroupProvider),
        enum_check("inheritance", OwnerInheritance),
        Index("ix_catalog_entity_owners_group", "group_name"),
        Index("ix_catalog_entity_owners_email", "email"),
    )


class EntityChannel(Base):
    """A Slack or Microsoft Teams channel of an entity or team."""

    __tablename__ = "catalog_entity_channels"

    entity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("catalog_entities.id", ondelete="CASCADE"), primary_key=True
    )
    medium: Mapped[Medium] = mapped_column(enum_column_type(Medium, "medium"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    notifications_enabled: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text)
    # A Microsoft Teams channel's Workflows webhook: where its messages are posted.
    webhook_url: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            " OR ".join(f"medium = '{medium.value}'" for medium in CHANNEL_MEDIUMS),
            name="medium_valid",
        ),
    )


class EntityWebhook(Base):
    """An HTTP endpoint of an entity or team that receives its notifications as JSON."""

    __tablename__ = "catalog_entity_webhooks"

    entity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("catalog_entities.id", ondelete="CASCADE"), primary_key=True
    )
    # Unique across the workspace: logs name the webhook, never its URL.
    name: Mapped[str] = mapped_column(TAG, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    notifications_enabled: Mapped[bool] = mapped_column(Boolean)
    # The notification types it receives, sorted; empty means every type.
    types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("name", name="uq_catalog_entity_webhooks_name"),
        UniqueConstraint("url", name="uq_catalog_entity_webhooks_url"),
    )


class TeamMember(Base):
    """A person on a team, as one file declares it.

    A team's descriptor lists its members, and a Backstage user names the teams it is a
    member of; both land here, each row tagged with the file that said so.
    """

    __tablename__ = "catalog_team_members"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    team_tag: Mapped[str] = mapped_column(TAG)
    email: Mapped[str] = mapped_column(EMAIL, index=True)
    name: Mapped[str] = mapped_column(Text)
    notifications_enabled: Mapped[bool] = mapped_column(Boolean)
    role: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("team_tag", "email", "source"),)


class Scorecard(Base):
    """A scorecard and the switches that decide whether it notifies."""

    __tablename__ = "catalog_scorecards"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tag: Mapped[str] = mapped_column(TAG, unique=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    draft: Mapped[bool] = mapped_column(Boolean)
    # NULL is "not set": on for a published scorecard, off for a draft.
    notifications_enabled: Mapped[bool | None] = mapped_column(Boolean)
    score_drop_notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The scorecard applies to entities of these types and to entities with these tags.
    entity_types: Mapped[list[str]] = mapped_column(JSON)
    entity_tags: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)

    @property
    def effective_notifications_enabled(self) -> bool:
        """Whether the scorecard notifies, its draft default applied."""
        return effective_notifications_enabled(self.notifications_enabled, self.draft)


class ScorecardRule(Base):
    """A rule of a scorecard; a future `activates_on` makes it a scheduled rule."""

    __tablename__ = "catalog_scorecard_rules"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("catalog_scorecards.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)
    expression: Mapped[str] = mapped_column(Text)
    activates_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("scorecard_id", "name"),)


class Initiative(Base):
    """An initiative: a scorecard to reach by a date, with its reminder schedule."""

    __tablename__ = "catalog_initiatives"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    cid: Mapped[str] = mapped_column(String(CID_LENGTH), unique=True)
    tag: Mapped[str] = mapped_column(TAG, unique=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    scorecard_tag: Mapped[str] = mapped_column(TAG)
    target_date: Mapped[date] = mapped_column(Date)
    is_draft: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The notification schedule; all three NULL when the initiative declares none.
    schedule_is_disabled: Mapped[bool | None] = mapped_column(Boolean)
    schedule_time_interval: Mapped[int | None] = mapped_column(Integer)
    schedule_time_unit: Mapped[TimeUnit | None] = mapped_column(
        enum_column_type(TimeUnit, "time_unit")
    )
    reply_to_emails: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (enum_check("schedule_time_unit", TimeUnit),)


class OnCallShift(Base):
    """A person on call for an entity from one instant to another."""

    __tablename__ = "catalog_oncall_shifts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    entity_tag: Mapped[str] = mapped_column(TAG)
    user_email: Mapped[str] = mapped_column(EMAIL)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("source", "entity_tag", "user_email", "starts_at"),)


class VerificationPeriod(Base):
    """A period in which owners verify their entities, with a reminder cadence."""

    __tablename__ = "catalog_verification_periods"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    entity_types: Mapped[list[str]] = mapped_column(JSON)
    entity_tags: Mapped[list[str]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reminder_every_days: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("source", "name"),)


class WorkspaceSettingsRow(Base):
    """The workspace-wide switches; at most one row, absent until a file declares them."""

    __tablename__ = "catalog_workspace_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    non_cortex_users_enabled: Mapped[bool] = mapped_column(Boolean)
    weekly_report_day: Mapped[DayOfWeek] = mapped_column(enum_column_type(DayOfWeek, "weekday"))
    weekly_report_hour: Mapped[int] = mapped_column(Integer)
    weekly_report_time_zone: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    # Licensed seats; an invitation beyond them fails with NO_SEATS_LEFT (None: no limit).
    seats: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(f"id = {WORKSPACE_ROW_ID}", name="single_row"),
        CheckConstraint("weekly_report_hour >= 0 AND weekly_report_hour <= 23", name="hour"),
        enum_check("weekly_report_day", DayOfWeek),
    )


class WorkspaceMedium(Base):
    """Whether the workspace sends over one medium; a medium without a row is on."""

    __tablename__ = "catalog_workspace_mediums"

    medium: Mapped[Medium] = mapped_column(enum_column_type(Medium, "medium"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (enum_check("medium", Medium),)


class WorkspaceNotificationType(Base):
    """Whether the workspace sends one type over one medium; a pair without a row is on."""

    __tablename__ = "catalog_workspace_types"

    notification_type: Mapped[NotificationType] = mapped_column(
        enum_column_type(NotificationType, "notification_type"), primary_key=True
    )
    medium: Mapped[Medium] = mapped_column(enum_column_type(Medium, "medium"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        enum_check("notification_type", NotificationType),
        enum_check("medium", Medium),
    )


class WorkspaceChannelType(Base):
    """Whether a type may go to entity and team channels; a type without a row may."""

    __tablename__ = "catalog_workspace_channel_types"

    notification_type: Mapped[NotificationType] = mapped_column(
        enum_column_type(NotificationType, "notification_type"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (enum_check("notification_type", NotificationType),)


class UserSubscription(Base):
    """A user's own choice for one type, over one medium or (medium NULL) every medium."""

    __tablename__ = "catalog_user_subscriptions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("catalog_users.id", ondelete="CASCADE")
    )
    notification_type: Mapped[NotificationType] = mapped_column(
        enum_column_type(NotificationType, "notification_type")
    )
    medium: Mapped[Medium | None] = mapped_column(enum_column_type(Medium, "medium"))
    subscribed: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint("user_id", "notification_type", "medium"),
        enum_check("notification_type", NotificationType),
        enum_check("medium", Medium),
    )

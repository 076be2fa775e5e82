"""The catalog as the engine reads it: immutable records, references already resolved."""

from dataclasses import dataclass
from datetime import date, datetime

from tidings.catalog.enums import (
    DayOfWeek,
    EntityOrigin,
    GroupProvider,
    OwnerInheritance,
    OwnerKind,
    TimeUnit,
    UserRole,
)
from tidings.catalog.models import effective_notifications_enabled
from tidings.enums import Medium, NotificationType

TEAM_TYPE = "team"


@dataclass(frozen=True)
class UserRecord:
    """A person who can be notified."""

    id: int
    email: str
    name: str
    slack_user_id: str | None
    teams_user_id: str | None
    role: UserRole
    is_cortex_employee: bool

    @property
    def is_admin(self) -> bool:
        """Whether the user receives the admin-audience notification types."""
        return self.role is UserRole.ADMIN


@dataclass(frozen=True)
class EntityRecord:
    """A catalog entity; a team is an entity of type `team`."""

    id: int
    cid: str
    tag: str
    name: str
    entity_type: str
    description: str | None
    source: str
    origin: EntityOrigin = EntityOrigin.CORTEX

    @property
    def is_team(self) -> bool:
        """Whether the entity is a team."""
        return self.entity_type == TEAM_TYPE


@dataclass(frozen=True)
class OwnerRecord:
    """An owner of an entity as its descriptor names it (not yet resolved to people)."""

    entity_id: int
    position: int
    kind: OwnerKind
    group_name: str | None
    provider: GroupProvider | None
    email: str | None
    user_ref: str | None
    description: str | None
    inheritance: OwnerInheritance | None


@dataclass(frozen=True)
class ChannelRecord:
    """A Slack or Microsoft Teams channel of an entity or team."""

    entity_id: int
    medium: Medium
    name: str
    notifications_enabled: bool
    description: str | None


@dataclass(frozen=True)
class WebhookRecord:
    """An HTTP endpoint of an entity or team that receives its notifications as JSON."""

    entity_id: int
    entity_tag: str
    name: str
    url: str
    notifications_enabled: bool
    # Empty: every type.
    types: frozenset[NotificationType]
    description: str | None

    def receives(self, notification_type: NotificationType) -> bool:
        """Whether the webhook subscribes to the type."""
        return not self.types or notification_type in self.types


@dataclass(frozen=True)
class MemberRecord:
    """A person on a team, with the tidings user of that email when there is one."""

    team_tag: str
    email: str
    name: str
    notifications_enabled: bool
    role: str | None
    user: UserRecord | None


@dataclass(frozen=True)
class OwnerPerson:
    """Someone an entity's ownership reaches, and how.

    Direct owners (an email, a Backstage user) have no team and notifications enabled;
    people reached through a team carry that membership's `notificationsEnabled`.
    """

    email: str
    user: UserRecord | None
    notifications_enabled: bool
    owner: OwnerRecord
    team_tag: str | None = None
    team: EntityRecord | None = None


@dataclass(frozen=True)
class RuleRecord:
    """A scorecard rule."""

    id: int
    scorecard_id: int
    name: str
    expression: str
    activates_on: date | None


@dataclass(frozen=True)
class ScorecardRecord:
    """A scorecard with its rules and the entities it applies to (types or tags)."""

    id: int
    tag: str
    name: str
    description: str | None
    draft: bool
    notifications_enabled: bool | None
    score_drop_notifications_enabled: bool
    entity_types: tuple[str, ...]
    entity_tags: tuple[str, ...]
    rules: tuple[RuleRecord, ...]

    @property
    def effective_notifications_enabled(self) -> bool:
        """Whether the scorecard notifies: as set, else on unless it is a draft."""
        return effective_notifications_enabled(self.notifications_enabled, self.draft)


@dataclass(frozen=True)
class NotificationSchedule:
    """An initiative's reminder cadence (Cortex's `notificationSchedule`)."""

    is_disabled: bool
    time_interval: int
    time_unit: TimeUnit
    reply_to_emails: tuple[str, ...]


@dataclass(frozen=True)
class InitiativeRecord:
    """An initiative; its scorecard is named by tag and may not exist."""

    id: int
    cid: str
    tag: str
    name: str
    description: str | None
    scorecard_tag: str
    target_date: date
    is_draft: bool
    created_at: datetime
    schedule: NotificationSchedule | None


@dataclass(frozen=True)
class OnCallShiftRecord:
    """An on-call shift, with its entity and user when they exist."""

    id: int
    entity_tag: str
    user_email: str
    starts_at: datetime
    ends_at: datetime
    entity: EntityRecord | None
    user: UserRecord | None


@dataclass(frozen=True)
class VerificationPeriodRecord:
    """A verification period over the entities of some types and some tags."""

    id: int
    name: str
    entity_types: tuple[str, ...]
    entity_tags: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    reminder_every_days: int


@dataclass(frozen=True)
class WeeklyReportSchedule:
    """When the weekly report goes out, in the workspace's time zone."""

    day: DayOfWeek = DayOfWeek.MONDAY
    hour: int = 9
    time_zone: str = "America/Los_Angeles"


@dataclass(frozen=True)
class WorkspaceSettings:
    """The workspace switches; the defaults are the product's: everything on."""

    disabled_mediums: frozenset[Medium] = frozenset()
    disabled_types: frozenset[tuple[NotificationType, Medium]] = frozenset()
    non_cortex_users_enabled: bool = True
    weekly_report: WeeklyReportSchedule = WeeklyReportSchedule()
    # Licensed seats: invitations beyond them fail with NO_SEATS_LEFT (None: no limit).
    seats: int | None = None
    # Types the admin keeps out of entity and team channels (people still get them).
    disabled_channel_types: frozenset[NotificationType] = frozenset()

    def medium_enabled(self, medium: Medium) -> bool:
        """Whether the workspace sends over `medium` at all."""
        return medium not in self.disabled_mediums

    def type_enabled(self, notification_type: NotificationType, medium: Medium) -> bool:
        """Whether the type is switched on for `medium` (the medium's own switch aside)."""
        return (notification_type, medium) not in self.disabled_types

    def channel_type_enabled(self, notification_type: NotificationType) -> bool:
        """Whether the type may go to entity and team channels."""
        return notification_type not in self.disabled_channel_types

    def allows(self, notification_type: NotificationType, medium: Medium) -> bool:
        """Whether both the medium and the type over it are on."""
        return self.medium_enabled(medium) and self.type_enabled(notification_type, medium)

    def enabled_pair_count(self) -> int:
        """How many (type, medium) pairs the workspace sends (the "enabled notifications" tile)."""
        return sum(1 for kind in NotificationType for medium in Medium if self.allows(kind, medium))

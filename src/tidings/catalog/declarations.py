"""What a catalog file declares, whatever its format: the importers' output, the writer's input.

Each declaration remembers the line it came from, so that a conflict between two of them
(the same tag twice in one file) can be reported where the second one is.
"""

from dataclasses import dataclass, field
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
from tidings.enums import Medium, NotificationType


@dataclass(frozen=True)
class OwnerDeclaration:
    """One owner of an entity: a group, an email address or a Backstage user reference."""

    kind: OwnerKind
    group_name: str | None = None
    provider: GroupProvider | None = None
    email: str | None = None
    user_ref: str | None = None
    description: str | None = None
    inheritance: OwnerInheritance | None = None


@dataclass(frozen=True)
class ChannelDeclaration:
    """A Slack or Microsoft Teams channel of an entity, named without a leading '#'."""

    medium: Medium
    name: str
    notifications_enabled: bool = True
    description: str | None = None
    # Microsoft Teams only: the channel's Workflows webhook URL, where its messages go.
    webhook_url: str | None = None


@dataclass(frozen=True)
class WebhookDeclaration:
    """An HTTP endpoint of an entity or team that receives its notifications as JSON.

    `name` identifies it across the workspace (logs show it as the recipient channel, so the
    URL, which often carries a secret, never appears in the API); no `types` means every type.
    """

    name: str
    url: str
    notifications_enabled: bool = True
    types: tuple[NotificationType, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class MemberDeclaration:
    """A person on a team, from the team's descriptor or from the person's own entry."""

    team_tag: str
    email: str
    name: str
    line: int
    notifications_enabled: bool = True
    role: str | None = None


@dataclass(frozen=True)
class EntityDeclaration:
    """A service, team, domain or custom entity with its owners, channels and members."""

    tag: str
    name: str
    entity_type: str
    line: int
    description: str | None = None
    owners: tuple[OwnerDeclaration, ...] = ()
    channels: tuple[ChannelDeclaration, ...] = ()
    members: tuple[MemberDeclaration, ...] = ()
    webhooks: tuple[WebhookDeclaration, ...] = ()
    origin: EntityOrigin = EntityOrigin.CORTEX


@dataclass(frozen=True)
class SubscriptionDeclaration:
    """A user's choice for one type over one medium, or over every medium (None)."""

    notification_type: NotificationType
    medium: Medium | None
    subscribed: bool


@dataclass(frozen=True)
class UserProfile:
    """The fields only the tidings format carries; a user declared without them keeps theirs."""

    slack_user_id: str | None = None
    teams_user_id: str | None = None
    role: UserRole = UserRole.MEMBER
    is_cortex_employee: bool = False
    subscriptions: tuple[SubscriptionDeclaration, ...] = ()


@dataclass(frozen=True)
class UserDeclaration:
    """A person declared in their own right (a tidings user or a Backstage User)."""

    email: str
    name: str
    line: int
    profile: UserProfile | None = None
    backstage_name: str | None = None
    memberships: tuple[MemberDeclaration, ...] = ()


@dataclass(frozen=True)
class RuleDeclaration:
    """A scorecard rule; `activates_on` in the future makes it a scheduled rule."""

    name: str
    expression: str
    activates_on: date | None = None


@dataclass(frozen=True)
class ScorecardDeclaration:
    """A scorecard, its notification switches, the entities it applies to and its rules."""

    tag: str
    name: str
    line: int
    entity_types: tuple[str, ...]
    entity_tags: tuple[str, ...]
    description: str | None = None
    draft: bool = False
    notifications_enabled: bool | None = None
    score_drop_notifications_enabled: bool = False
    rules: tuple[RuleDeclaration, ...] = ()


@dataclass(frozen=True)
class ScheduleDeclaration:
    """An initiative's reminder cadence."""

    is_disabled: bool
    time_interval: int
    time_unit: TimeUnit
    reply_to_emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitiativeDeclaration:
    """An initiative; without `created_at` it is created at its first import."""

    tag: str
    name: str
    scorecard_tag: str
    target_date: date
    line: int
    description: str | None = None
    is_draft: bool = False
    created_at: datetime | None = None
    schedule: ScheduleDeclaration | None = None


@dataclass(frozen=True)
class ShiftDeclaration:
    """Someone on call for an entity between two instants."""

    entity_tag: str
    user_email: str
    starts_at: datetime
    ends_at: datetime
    line: int


@dataclass(frozen=True)
class PeriodDeclaration:
    """A verification period over entities of some types and some tags."""

    name: str
    entity_types: tuple[str, ...]
    entity_tags: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    reminder_every_days: int
    line: int


@dataclass(frozen=True)
class WorkspaceDeclaration:
    """The workspace settings, complete: anything not switched off is on."""

    line: int
    mediums: dict[Medium, bool] = field(default_factory=dict)
    types: dict[tuple[NotificationType, Medium], bool] = field(default_factory=dict)
    channel_types: dict[NotificationType, bool] = field(default_factory=dict)
    seats: int | None = None
    non_cortex_users_enabled: bool = True
    weekly_report_day: DayOfWeek = DayOfWeek.MONDAY
    weekly_report_hour: int = 9
    weekly_report_time_zone: str = "America/Los_Angeles"


@dataclass
class FileDeclarations:
    """Everything one file declares, in file order."""

    entities: list[EntityDeclaration] = field(default_factory=list)
    users: list[UserDeclaration] = field(default_factory=list)
    scorecards: list[ScorecardDeclaration] = field(default_factory=list)
    initiatives: list[InitiativeDeclaration] = field(default_factory=list)
    shifts: list[ShiftDeclaration] = field(default_factory=list)
    periods: list[PeriodDeclaration] = field(default_factory=list)
    workspaces: list[WorkspaceDeclaration] = field(default_factory=list)
    skipped: int = 0  # documents of a kind tidings has no use for (Backstage API, Location...)

    def extend(self, other: "FileDeclarations") -> None:
        """Add the declarations of another document of the same file."""
        self.entities += other.entities
        self.users += other.users
        self.scorecards += other.scorecards
        self.initiatives += other.initiatives
        self.shifts += other.shifts
        self.periods += other.periods
        self.workspaces += other.workspaces
        self.skipped += other.skipped

    def members(self) -> list[MemberDeclaration]:
        """Every team membership the file declares, from teams and from users."""
        from_teams = [member for entity in self.entities for member in entity.members]
        return from_teams + [member for user in self.users for member in user.memberships]

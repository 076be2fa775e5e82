"""The tidings catalog format (`kind: tidings/v1`): what neither Cortex descriptors nor
Backstage carry. Users with their chat identities, role and subscriptions; scorecards and
their rules; initiatives; on-call shifts; verification periods; workspace settings.
docs/catalog.md describes every field.
"""

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from tidings.catalog.declarations import (
    FileDeclarations,
    InitiativeDeclaration,
    PeriodDeclaration,
    RuleDeclaration,
    ScheduleDeclaration,
    ScorecardDeclaration,
    ShiftDeclaration,
    SubscriptionDeclaration,
    UserDeclaration,
    UserProfile,
    WorkspaceDeclaration,
)
from tidings.catalog.enums import DayOfWeek, TimeUnit, UserRole
from tidings.catalog.importers.source import line_at
from tidings.catalog.importers.validation import (
    LAX,
    MAX_TAG,
    Day,
    Email,
    FileModel,
    Instant,
    Tag,
    Text,
    TimeZoneName,
    refuse_repeats,
    validate,
)
from tidings.enums import Medium, NotificationType

KIND = "tidings/v1"
KIND_PREFIX = "tidings/"
DEFAULT_SCORECARD_TYPES = ("service",)


def is_tidings_file(document: Any) -> bool:
    """Whether a document says it is in a tidings format (any version)."""
    kind = document.get("kind") if isinstance(document, dict) else None
    return isinstance(kind, str) and kind.startswith(KIND_PREFIX)


def _every_medium(value: Any) -> Any:
    """`WEEKLY_REPORT: false` is short for switching the type off over every medium."""
    return {medium.value: value for medium in Medium} if isinstance(value, bool) else value


Positive = Annotated[int, Field(ge=1)]
RuleName = Annotated[Text, Field(max_length=MAX_TAG)]
MediumSwitches = dict[Annotated[Medium, LAX], bool]


class Subscription(FileModel):
    type: Annotated[NotificationType, LAX]
    medium: Annotated[Medium, LAX] | None = None
    subscribed: bool


class User(FileModel):
    email: Email
    name: Text
    slack_user_id: Text | None = Field(None, alias="slackUserId")
    teams_user_id: Text | None = Field(None, alias="teamsUserId")
    role: Annotated[UserRole, LAX] = UserRole.MEMBER
    cortex_employee: bool = Field(False, alias="cortexEmployee")
    subscriptions: list[Subscription] = Field(default_factory=list)


class Notifications(FileModel):
    enabled: bool | None = None
    score_drop_notifications_enabled: bool = Field(False, alias="scoreDropNotificationsEnabled")


class AppliesTo(FileModel):
    types: list[Text] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)


class Rule(FileModel):
    name: RuleName
    expression: Text
    activates_on: Day | None = Field(None, alias="activatesOn")


class Scorecard(FileModel):
    tag: Tag
    name: Text
    description: str | None = None
    draft: bool = False
    notifications: Notifications = Notifications()
    applies_to: AppliesTo | None = Field(None, alias="appliesTo")
    rules: list[Rule] = Field(default_factory=list)


class Schedule(FileModel):
    is_disabled: bool = Field(False, alias="isDisabled")
    time_interval: Positive = Field(alias="timeInterval")
    time_unit: Annotated[TimeUnit, LAX] = Field(alias="timeUnit")
    reply_to_emails: list[Email] = Field(default_factory=list, alias="replyToEmails")


class Initiative(FileModel):
    tag: Tag
    name: Text
    description: str | None = None
    scorecard: Tag
    target_date: Day = Field(alias="targetDate")
    is_draft: bool = Field(False, alias="isDraft")
    created_at: Instant | None = Field(None, alias="createdAt")
    notification_schedule: Schedule | None = Field(None, alias="notificationSchedule")


class Shift(FileModel):
    entity: Tag
    email: Email
    starts_at: Instant = Field(alias="startsAt")
    ends_at: Instant = Field(alias="endsAt")

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> "Shift":
        if self.ends_at <= self.starts_at:
            raise ValueError("endsAt must be after startsAt")
        return self


class VerificationPeriod(FileModel):
    name: RuleName
    entity_types: list[Text] = Field(default_factory=list, alias="entityTypes")
    entity_tags: list[Tag] = Field(default_factory=list, alias="entityTags")
    starts_at: Instant = Field(alias="startsAt")
    ends_at: Instant = Field(alias="endsAt")
    reminder_every_days: Positive = Field(7, alias="reminderEveryDays")

    @model_validator(mode="after")
    def _has_a_scope_and_ends_after_it_starts(self) -> "VerificationPeriod":
        if not self.entity_types and not self.entity_tags:
            raise ValueError("a verification period needs entityTypes or entityTags")
        if self.ends_at <= self.starts_at:
            raise ValueError("endsAt must be after startsAt")
        return self


class WeeklyReport(FileModel):
    day_of_week: Annotated[DayOfWeek, LAX] = Field(DayOfWeek.MONDAY, alias="dayOfWeek")
    hour: int = Field(9, ge=0, le=23)
    time_zone: TimeZoneName = Field("America/Los_Angeles", alias="timeZone")


class Workspace(FileModel):
    mediums: MediumSwitches = Field(default_factory=dict)
    non_cortex_users_enabled: bool = Field(True, alias="nonCortexUsersEnabled")
    notification_types: dict[
        Annotated[NotificationType, LAX], Annotated[MediumSwitches, BeforeValidator(_every_medium)]
    ] = Field(default_factory=dict, alias="notificationTypes")
    weekly_report: WeeklyReport = Field(WeeklyReport(), alias="weeklyReport")
    channel_notification_types: dict[Annotated[NotificationType, LAX], bool] = Field(
        default_factory=dict, alias="channelNotificationTypes"
    )
    seats: int | None = Field(None, ge=0)


class TidingsFile(FileModel):
    kind: Literal["tidings/v1"]
    users: list[User] = Field(default_factory=list)
    scorecards: list[Scorecard] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    oncall: list[Shift] = Field(default_factory=list)
    verification_periods: list[VerificationPeriod] = Field(
        default_factory=list, alias="verificationPeriods"
    )
    workspace: Workspace | None = None


def read_tidings_file(document: Any, line: int) -> FileDeclarations:
    """Everything a tidings/v1 document declares."""
    parsed = validate(TidingsFile, document, line)
    _refuse_repeats(parsed, document, line)

    def at(*path: Any) -> int:
        """The line of the node at `path` in this document."""
        return line_at(document, path, line)

    declarations = FileDeclarations(
        users=[_user(user, at("users", i)) for i, user in enumerate(parsed.users)],
        scorecards=[
            _scorecard(scorecard, at("scorecards", i))
            for i, scorecard in enumerate(parsed.scorecards)
        ],
        initiatives=[
            _initiative(initiative, at("initiatives", i))
            for i, initiative in enumerate(parsed.initiatives)
        ],
        shifts=[
            ShiftDeclaration(s.entity, s.email, s.starts_at, s.ends_at, at("oncall", i))
            for i, s in enumerate(parsed.oncall)
        ],
        periods=[
            PeriodDeclaration(
                name=p.name,
                entity_types=tuple(p.entity_types),
                entity_tags=tuple(p.entity_tags),
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                reminder_every_days=p.reminder_every_days,
                line=at("verificationPeriods", i),
            )
            for i, p in enumerate(parsed.verification_periods)
        ],
    )
    if parsed.workspace is not None:
        declarations.workspaces.append(_workspace(parsed.workspace, at("workspace")))
    return declarations


def _refuse_repeats(parsed: TidingsFile, document: Any, line: int) -> None:
    """A rule or a subscription given twice.

    Repeated users, scorecards and other top-level entries are found for the whole file
    (see importers.files), since a file may hold several documents.
    """
    lists: list[tuple[Sequence[Any], Sequence[str]]] = [
        (
            ("users", i, "subscriptions"),
            [
                f"a choice for {s.type} over {s.medium or 'every medium'}"
                for s in user.subscriptions
            ],
        )
        for i, user in enumerate(parsed.users)
    ]
    lists += [
        (("scorecards", i, "rules"), [f"rule '{rule.name}'" for rule in scorecard.rules])
        for i, scorecard in enumerate(parsed.scorecards)
    ]
    refuse_repeats(document, line, lists)


def _user(user: User, line: int) -> UserDeclaration:
    profile = UserProfile(
        slack_user_id=user.slack_user_id,
        teams_user_id=user.teams_user_id,
        role=user.role,
        is_cortex_employee=user.cortex_employee,
        subscriptions=tuple(
            SubscriptionDeclaration(s.type, s.medium, s.subscribed) for s in user.subscriptions
        ),
    )
    return UserDeclaration(email=user.email, name=user.name, line=line, profile=profile)


def _scorecard(scorecard: Scorecard, line: int) -> ScorecardDeclaration:
    applies_to = scorecard.applies_to
    types: tuple[str, ...]
    tags: tuple[str, ...]
    if applies_to is None or not (applies_to.types or applies_to.tags):
        types, tags = DEFAULT_SCORECARD_TYPES, ()
    else:
        types, tags = tuple(applies_to.types), tuple(applies_to.tags)
    return ScorecardDeclaration(
        tag=scorecard.tag,
        name=scorecard.name,
        line=line,
        entity_types=types,
        entity_tags=tags,
        description=scorecard.description,
        draft=scorecard.draft,
        notifications_enabled=scorecard.notifications.enabled,
        score_drop_notifications_enabled=(scorecard.notifications.score_drop_notifications_enabled),
        rules=tuple(
            RuleDeclaration(rule.name, rule.expression, rule.activates_on)
            for rule in scorecard.rules
        ),
    )


def _initiative(initiative: Initiative, line: int) -> InitiativeDeclaration:
    schedule = initiative.notification_schedule
    return InitiativeDeclaration(
        tag=initiative.tag,
        name=initiative.name,
        scorecard_tag=initiative.scorecard,
        target_date=initiative.target_date,
        line=line,
        description=initiative.description,
        is_draft=initiative.is_draft,
        created_at=initiative.created_at,
        schedule=None
        if schedule is None
        else ScheduleDeclaration(
            is_disabled=schedule.is_disabled,
            time_interval=schedule.time_interval,
            time_unit=schedule.time_unit,
            reply_to_emails=tuple(schedule.reply_to_emails),
        ),
    )


def _workspace(workspace: Workspace, line: int) -> WorkspaceDeclaration:
    return WorkspaceDeclaration(
        line=line,
        mediums=dict(workspace.mediums),
        types={
            (notification_type, medium): enabled
            for notification_type, switches in workspace.notification_types.items()
            for medium, enabled in switches.items()
        },
        channel_types=dict(workspace.channel_notification_types),
        seats=workspace.seats,
        non_cortex_users_enabled=workspace.non_cortex_users_enabled,
        weekly_report_day=workspace.weekly_report.day_of_week,
        weekly_report_hour=workspace.weekly_report.hour,
        weekly_report_time_zone=workspace.weekly_report.time_zone,
    )

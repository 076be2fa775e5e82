"""What each notification type is called, where it can go, and whom it reaches.

One row a type, read by the generator, the engine and the docs: the reference's table of the
24 types (cortex-notifications.md section 3.1 and 4.3-4.4) turned into data.
"""

from dataclasses import dataclass
from enum import StrEnum

from tidings.enums import Medium, NotificationType, ObjectType

ALL_MEDIUMS = frozenset(Medium)
SLACK_ONLY = frozenset({Medium.SLACK})
T = NotificationType


class Audience(StrEnum):
    """Whom a type reaches before any setting is applied."""

    OWNERS = "OWNERS"  # the entity's owners, and its and its owning teams' channels
    SCORECARD_OWNERS = "SCORECARD_OWNERS"  # owners of the entities the scorecard applies to
    INITIATIVE_OWNERS = "INITIATIVE_OWNERS"  # owners of the entities in the initiative
    EVERYONE = "EVERYONE"  # every user
    NAMED = "NAMED"  # the people the event names (invitee, on-call person, new user)
    ONCALL = "ONCALL"  # the people named, else whoever is on call for the entity now
    APPROVERS = "APPROVERS"  # the people named, else the entity's owners
    ADMINS = "ADMINS"  # users with the admin role
    NAMED_OR_ADMINS = "NAMED_OR_ADMINS"  # the people named, else the admins


@dataclass(frozen=True)
class TypeInfo:
    """Facts about one notification type."""

    display_name: str
    audience: Audience
    requires: tuple[ObjectType, ...] = ()
    mediums: frozenset[Medium] = ALL_MEDIUMS
    # May go to entity and team channels (the others go to people only).
    to_channels: bool = False
    # Withheld from team members whose membership has notificationsEnabled: false.
    member_switch: bool = False
    # Withheld from entity channels whose notificationsEnabled is false.
    channel_switch: bool = False


ENTITY = (ObjectType.ENTITY,)
ENTITY_AND_SCORECARD = (ObjectType.ENTITY, ObjectType.SCORECARD)
A = Audience

TYPE_INFO: dict[NotificationType, TypeInfo] = {
    T.INITIATIVE_CREATION: TypeInfo(
        "Initiative created", A.INITIATIVE_OWNERS, (ObjectType.INITIATIVE,), member_switch=True
    ),
    T.INITIATIVE_CUSTOM_SCHEDULE: TypeInfo(
        "Initiative reminder", A.INITIATIVE_OWNERS, (ObjectType.INITIATIVE,), member_switch=True
    ),
    T.INITIATIVE_N_DAYS_LEFT: TypeInfo(
        "Initiative deadline approaching",
        A.INITIATIVE_OWNERS,
        (ObjectType.INITIATIVE,),
        member_switch=True,
    ),
    T.SERVICE_REEVALUATED: TypeInfo(
        "Entity evaluation", A.OWNERS, ENTITY_AND_SCORECARD, to_channels=True, channel_switch=True
    ),
    T.WEEKLY_REPORT: TypeInfo("Weekly report", A.EVERYONE, member_switch=True),
    T.BROKEN_OPEN_API_SPEC: TypeInfo(
        "Broken OpenAPI spec", A.OWNERS, ENTITY, to_channels=True, channel_switch=True
    ),
    T.ENTITLEMENT_EXPIRATION: TypeInfo("Entitlement expiring", A.ADMINS),
    T.ONCALL_ASSISTANT: TypeInfo(
        "On-call Assistant", A.ONCALL, ENTITY, SLACK_ONLY, to_channels=True
    ),
    T.ONBOARDING_MESSAGE: TypeInfo("Onboarding guidance", A.NAMED, (), SLACK_ONLY),
    T.NOTIFY_INVALID_INTEGRATION: TypeInfo("Integration configuration error", A.ADMINS),
    T.ONCALL_PERSON_CHANGED: TypeInfo("On-call change", A.OWNERS, ENTITY, to_channels=True),
    T.ONCALL_STARTS_IN_N_DAYS: TypeInfo("On-call shift reminder", A.ONCALL, ENTITY),
    T.TEAM_MEMBER_INVITATION: TypeInfo("Team invitation", A.NAMED),
    T.PENDING_RULE_EXEMPTION: TypeInfo("Rule exemption request", A.APPROVERS, ENTITY_AND_SCORECARD),
    T.TOKEN_EXPIRES_IN_N_DAYS: TypeInfo("API key expiration", A.NAMED_OR_ADMINS),
    T.SCHEDULED_SCORECARD_RULE_CREATION: TypeInfo(
        "Scheduled Scorecard rule",
        A.SCORECARD_OWNERS,
        (ObjectType.SCORECARD,),
        member_switch=True,
    ),
    T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS: TypeInfo(
        "Scorecard rule activation",
        A.SCORECARD_OWNERS,
        (ObjectType.SCORECARD,),
        member_switch=True,
    ),
    T.WORKFLOW_STATUS_UPDATE: TypeInfo(
        "Workflow status update", A.OWNERS, ENTITY, to_channels=True, channel_switch=True
    ),
    T.WORKFLOW_APPROVAL_PENDING: TypeInfo(
        "Workflow approval pending", A.APPROVERS, ENTITY, to_channels=True, channel_switch=True
    ),
    T.VERIFICATION_PERIOD_STARTED: TypeInfo(
        "Verification period started", A.OWNERS, ENTITY, member_switch=True
    ),
    T.VERIFICATION_PERIOD_REMINDER: TypeInfo(
        "Verification reminder", A.OWNERS, ENTITY, member_switch=True
    ),
    T.AI_ASSISTANT_WELCOME_MESSAGE: TypeInfo("AI Assistant welcome", A.NAMED, (), SLACK_ONLY),
    T.ENTITY_SCORE_DROPPED: TypeInfo(
        "Entity score dropped", A.OWNERS, ENTITY_AND_SCORECARD, to_channels=True
    ),
    T.ONBOARDING_WIZARD_STATE_COMPLETED: TypeInfo("Onboarding wizard completed", A.ADMINS),
}


def display_name(notification_type: NotificationType) -> str:
    """The name people see for a notification type."""
    return TYPE_INFO[notification_type].display_name

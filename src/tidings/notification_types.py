"""What each notification type is called and where it can go."""

from dataclasses import dataclass

from tidings.enums import Medium, NotificationType

ALL_MEDIUMS = frozenset(Medium)
SLACK_ONLY = frozenset({Medium.SLACK})


@dataclass(frozen=True)
class TypeInfo:
    """Facts about one notification type."""

    display_name: str
    mediums: frozenset[Medium] = ALL_MEDIUMS


TYPE_INFO: dict[NotificationType, TypeInfo] = {
    NotificationType.INITIATIVE_CREATION: TypeInfo("Initiative created"),
    NotificationType.INITIATIVE_CUSTOM_SCHEDULE: TypeInfo("Initiative reminder"),
    NotificationType.INITIATIVE_N_DAYS_LEFT: TypeInfo("Initiative deadline approaching"),
    NotificationType.SERVICE_REEVALUATED: TypeInfo("Entity evaluation"),
    NotificationType.WEEKLY_REPORT: TypeInfo("Weekly report"),
    NotificationType.BROKEN_OPEN_API_SPEC: TypeInfo("Broken OpenAPI spec"),
    NotificationType.ENTITLEMENT_EXPIRATION: TypeInfo("Entitlement expiring"),
    NotificationType.ONCALL_ASSISTANT: TypeInfo("On-call Assistant", SLACK_ONLY),
    NotificationType.ONBOARDING_MESSAGE: TypeInfo("Onboarding guidance", SLACK_ONLY),
    NotificationType.NOTIFY_INVALID_INTEGRATION: TypeInfo("Integration configuration error"),
    NotificationType.ONCALL_PERSON_CHANGED: TypeInfo("On-call change"),
    NotificationType.ONCALL_STARTS_IN_N_DAYS: TypeInfo("On-call shift reminder"),
    NotificationType.TEAM_MEMBER_INVITATION: TypeInfo("Team invitation"),
    NotificationType.PENDING_RULE_EXEMPTION: TypeInfo("Rule exemption request"),
    NotificationType.TOKEN_EXPIRES_IN_N_DAYS: TypeInfo("API key expiration"),
    NotificationType.SCHEDULED_SCORECARD_RULE_CREATION: TypeInfo("Scheduled Scorecard rule"),
    NotificationType.SCORECARD_RULE_ACTIVATES_IN_N_DAYS: TypeInfo("Scorecard rule activation"),
    NotificationType.WORKFLOW_STATUS_UPDATE: TypeInfo("Workflow status update"),
    NotificationType.WORKFLOW_APPROVAL_PENDING: TypeInfo("Workflow approval pending"),
    NotificationType.VERIFICATION_PERIOD_STARTED: TypeInfo("Verification period started"),
    NotificationType.VERIFICATION_PERIOD_REMINDER: TypeInfo("Verification reminder"),
    NotificationType.AI_ASSISTANT_WELCOME_MESSAGE: TypeInfo("AI Assistant welcome", SLACK_ONLY),
    NotificationType.ENTITY_SCORE_DROPPED: TypeInfo("Entity score dropped"),
    NotificationType.ONBOARDING_WIZARD_STATE_COMPLETED: TypeInfo("Onboarding wizard completed"),
}


def display_name(notification_type: NotificationType) -> str:
    """The name people see for a notification type."""
    return TYPE_INFO[notification_type].display_name

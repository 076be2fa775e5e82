"""The closed sets of the notification domain, shared by the store, the engine and the API.

Every value is spelled exactly as Cortex's Notification Logs API spells it on the wire.
"""

from enum import StrEnum


class NotificationType(StrEnum):
    """What a notification is about; the same 24 values on runs and logs."""

    INITIATIVE_CREATION = "INITIATIVE_CREATION"
    INITIATIVE_CUSTOM_SCHEDULE = "INITIATIVE_CUSTOM_SCHEDULE"
    INITIATIVE_N_DAYS_LEFT = "INITIATIVE_N_DAYS_LEFT"
    SERVICE_REEVALUATED = "SERVICE_REEVALUATED"
    WEEKLY_REPORT = "WEEKLY_REPORT"
    BROKEN_OPEN_API_SPEC = "BROKEN_OPEN_API_SPEC"
    ENTITLEMENT_EXPIRATION = "ENTITLEMENT_EXPIRATION"
    ONCALL_ASSISTANT = "ONCALL_ASSISTANT"
    ONBOARDING_MESSAGE = "ONBOARDING_MESSAGE"
    NOTIFY_INVALID_INTEGRATION = "NOTIFY_INVALID_INTEGRATION"
    ONCALL_PERSON_CHANGED = "ONCALL_PERSON_CHANGED"
    ONCALL_STARTS_IN_N_DAYS = "ONCALL_STARTS_IN_N_DAYS"
    TEAM_MEMBER_INVITATION = "TEAM_MEMBER_INVITATION"
    PENDING_RULE_EXEMPTION = "PENDING_RULE_EXEMPTION"
    TOKEN_EXPIRES_IN_N_DAYS = "TOKEN_EXPIRES_IN_N_DAYS"
    SCHEDULED_SCORECARD_RULE_CREATION = "SCHEDULED_SCORECARD_RULE_CREATION"
    SCORECARD_RULE_ACTIVATES_IN_N_DAYS = "SCORECARD_RULE_ACTIVATES_IN_N_DAYS"
    WORKFLOW_STATUS_UPDATE = "WORKFLOW_STATUS_UPDATE"
    WORKFLOW_APPROVAL_PENDING = "WORKFLOW_APPROVAL_PENDING"
    VERIFICATION_PERIOD_STARTED = "VERIFICATION_PERIOD_STARTED"
    VERIFICATION_PERIOD_REMINDER = "VERIFICATION_PERIOD_REMINDER"
    AI_ASSISTANT_WELCOME_MESSAGE = "AI_ASSISTANT_WELCOME_MESSAGE"
    ENTITY_SCORE_DROPPED = "ENTITY_SCORE_DROPPED"
    ONBOARDING_WIZARD_STATE_COMPLETED = "ONBOARDING_WIZARD_STATE_COMPLETED"


class Medium(StrEnum):
    """The channel a run delivers over; one medium per run."""

    SLACK = "SLACK"
    MICROSOFT_TEAMS = "MICROSOFT_TEAMS"
    EMAIL = "EMAIL"
    WEBHOOK = "WEBHOOK"


class RecipientType(StrEnum):
    """The kind of recipient a log addresses."""

    USER = "USER"
    TEAM = "TEAM"
    ENTITY = "ENTITY"


class LogStatus(StrEnum):
    """The state of one per-recipient notification log."""

    READY = "READY"
    IGNORED = "IGNORED"
    FAILED = "FAILED"
    DELIVERED = "DELIVERED"


class IgnoredReason(StrEnum):
    """Why a log was deliberately not sent."""

    USER_UNSUBSCRIBED = "USER_UNSUBSCRIBED"
    WORKSPACE_DISABLED = "WORKSPACE_DISABLED"
    CHANNEL_DISABLED = "CHANNEL_DISABLED"
    DUPLICATE = "DUPLICATE"
    CORTEX_EMPLOYEE = "CORTEX_EMPLOYEE"
    NON_CORTEX_USERS_DISABLED = "NON_CORTEX_USERS_DISABLED"
    UNSUPPORTED = "UNSUPPORTED"


class FailedReason(StrEnum):
    """Why a log could not be delivered."""

    CHANNEL_NOT_FOUND = "CHANNEL_NOT_FOUND"
    MEMBER_EMAILS_NOT_FOUND = "MEMBER_EMAILS_NOT_FOUND"
    MISSING_CONTENT = "MISSING_CONTENT"
    CLIENT_ERROR = "CLIENT_ERROR"
    BACKSTAGE_BASE_URL_MISSING = "BACKSTAGE_BASE_URL_MISSING"
    NO_SEATS_LEFT = "NO_SEATS_LEFT"


class RunStatus(StrEnum):
    """The state of a notification run, settled from its logs."""

    CREATED = "CREATED"
    FAILED = "FAILED"
    IGNORED = "IGNORED"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"


class RunIgnoredReason(StrEnum):
    """Why a whole run was not sent."""

    SCORECARD_DISABLED = "SCORECARD_DISABLED"
    WORKSPACE_DISABLED = "WORKSPACE_DISABLED"
    NO_RECIPIENTS = "NO_RECIPIENTS"


class RunFailedReason(StrEnum):
    """Why a whole run could not be built."""

    PACKET_GENERATOR_ERROR = "PACKET_GENERATOR_ERROR"
    CONTEXT_RESOLUTION_ERROR = "CONTEXT_RESOLUTION_ERROR"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ObjectType(StrEnum):
    """The kinds of platform object a run can concern."""

    ENTITY = "ENTITY"
    SCORECARD = "SCORECARD"
    INITIATIVE = "INITIATIVE"


class SortOrder(StrEnum):
    """The direction of the `orderBy` parameter; the key is always dateCreated, then id."""

    ASC = "ASC"
    DESC = "DESC"


class AttemptOutcome(StrEnum):
    """How one try to hand a message to its provider ended."""

    DELIVERED = "DELIVERED"  # the provider accepted it
    RETRY = "RETRY"  # a transient failure: tried again later, counted against the budget
    RATE_LIMITED = "RATE_LIMITED"  # the provider asked to wait: tried again then, not counted
    FAILED = "FAILED"  # a permanent failure: the log is FAILED

"""What each notification type says: a subject and a body per type, as Jinja templates.

The templates see `entity`, `scorecard`, `initiative` (catalog records or None), `data` (the
event's facts), `recipient` (name and email), `link` and `type_name`. A template that names a
fact the event did not give fails the run with PACKET_GENERATOR_ERROR; one that renders empty
fails the log with MISSING_CONTENT.
"""

from tidings.enums import NotificationType

T = NotificationType

MESSAGES: dict[NotificationType, tuple[str, str]] = {
    T.INITIATIVE_CREATION: (
        "New initiative: {{ initiative.name }}",
        "{{ initiative.name }} starts now and is due on {{ initiative.target_date }}. "
        "Entities you own are in scope of scorecard {{ scorecard.name }}.",
    ),
    T.INITIATIVE_CUSTOM_SCHEDULE: (
        "Reminder: {{ initiative.name }}",
        "{{ initiative.name }} is due on {{ initiative.target_date }}; "
        "entities you own still have open action items.",
    ),
    T.INITIATIVE_N_DAYS_LEFT: (
        "{{ data.daysLeft }} day{{ 's' if data.daysLeft != 1 }} left: {{ initiative.name }}",
        "{{ initiative.name }} is due on {{ initiative.target_date }}. "
        "Finish the open action items of the entities you own.",
    ),
    T.SERVICE_REEVALUATED: (
        "{{ entity.name }} scored {{ data.score }} on {{ scorecard.name }}",
        "{{ entity.name }} was re-evaluated by {{ scorecard.name }}: its score went "
        "{{ 'up' if data.score > data.previousScore else 'down' }} from {{ data.previousScore }} "
        "to {{ data.score }}.",
    ),
    T.WEEKLY_REPORT: (
        "Your weekly report",
        "{% for line in data.get('highlights', []) %}- {{ line }}\n{% endfor %}",
    ),
    T.BROKEN_OPEN_API_SPEC: (
        "The OpenAPI spec of {{ entity.name }} is broken",
        "The OpenAPI spec of {{ entity.name }} no longer parses"
        "{% if data.get('error') %}: {{ data.error }}{% endif %}.",
    ),
    T.ENTITLEMENT_EXPIRATION: (
        "An entitlement expires soon",
        "{{ data.get('entitlement', 'An entitlement of the workspace') }} expires on "
        "{{ data.get('expiresOn', 'a date coming soon') }}.",
    ),
    T.ONCALL_ASSISTANT: (
        "Incident on {{ entity.name }}",
        "An incident was triggered on {{ entity.name }}"
        "{% if data.get('incident') %}: {{ data.incident }}{% endif %}. You are on call.",
    ),
    T.ONBOARDING_MESSAGE: (
        "Welcome to the developer portal",
        "Hi {{ recipient.name }}, here is how to find your services, scorecards and initiatives.",
    ),
    T.NOTIFY_INVALID_INTEGRATION: (
        "The {{ data.integration }} integration needs attention",
        "The nightly check found the {{ data.integration }} integration configuration invalid"
        "{% if data.get('error') %}: {{ data.error }}{% endif %}.",
    ),
    T.ONCALL_PERSON_CHANGED: (
        "On-call change for {{ entity.name }}",
        "{{ data.get('person', 'Someone new') }} goes on call for {{ entity.name }}"
        "{% if data.get('startsAt') %} at {{ data.startsAt }}{% endif %}.",
    ),
    T.ONCALL_STARTS_IN_N_DAYS: (
        "Your on-call shift for {{ entity.name }} starts in {{ data.daysLeft }} "
        "day{{ 's' if data.daysLeft != 1 }}",
        "Hi {{ recipient.name }}, you go on call for {{ entity.name }}"
        "{% if data.get('startsAt') %} at {{ data.startsAt }}{% endif %}.",
    ),
    T.TEAM_MEMBER_INVITATION: (
        "You are invited to the developer portal",
        "{{ data.get('invitedBy', 'A colleague') }} invited you to join"
        "{% if data.get('team') %} team {{ data.team }} on{% endif %} the developer portal.",
    ),
    T.PENDING_RULE_EXEMPTION: (
        "Exemption requested on {{ scorecard.name }} for {{ entity.name }}",
        "{{ data.get('requestedBy', 'Someone') }} asks to exempt {{ entity.name }} from "
        "{{ data.get('rule', 'a rule') }} of {{ scorecard.name }}.",
    ),
    T.TOKEN_EXPIRES_IN_N_DAYS: (
        "API key {{ data.keyName }} expires in {{ data.daysLeft }} "
        "day{{ 's' if data.daysLeft != 1 }}",
        "The API key {{ data.keyName }} expires on {{ data.expiresAt }}. Create a new one and "
        "replace it before then.",
    ),
    T.SCHEDULED_SCORECARD_RULE_CREATION: (
        "New rule coming to {{ scorecard.name }}",
        "The rule {{ data.rule }} was added to {{ scorecard.name }} and activates on "
        "{{ data.activatesOn }}.",
    ),
    T.SCORECARD_RULE_ACTIVATES_IN_N_DAYS: (
        "{{ scorecard.name }}: {{ data.rule }} activates in {{ data.daysLeft }} "
        "day{{ 's' if data.daysLeft != 1 }}",
        "The rule {{ data.rule }} of {{ scorecard.name }} activates on {{ data.activatesOn }}.",
    ),
    T.WORKFLOW_STATUS_UPDATE: (
        "Workflow {{ data.workflow }} on {{ entity.name }}: {{ data.status }}",
        "The workflow {{ data.workflow }} on {{ entity.name }} is now {{ data.status }}.",
    ),
    T.WORKFLOW_APPROVAL_PENDING: (
        "Approval needed: {{ data.workflow }} on {{ entity.name }}",
        "The workflow {{ data.workflow }} on {{ entity.name }} waits for your approval.",
    ),
    T.VERIFICATION_PERIOD_STARTED: (
        "Verify {{ entity.name }}",
        "A verification period started: confirm that the details of {{ entity.name }} are "
        "right{% if data.get('endsOn') %} by {{ data.endsOn }}{% endif %}.",
    ),
    T.VERIFICATION_PERIOD_REMINDER: (
        "Reminder: verify {{ entity.name }}",
        "{{ entity.name }} is not verified yet"
        "{% if data.get('endsOn') %}; the period ends on {{ data.endsOn }}{% endif %}.",
    ),
    T.AI_ASSISTANT_WELCOME_MESSAGE: (
        "Meet the AI Assistant",
        "Hi {{ recipient.name }}, ask the assistant about your services, owners and scorecards.",
    ),
    T.ENTITY_SCORE_DROPPED: (
        "{{ entity.name }} dropped on {{ scorecard.name }}",
        "The score of {{ entity.name }} on {{ scorecard.name }} fell from "
        "{{ data.previousScore }} to {{ data.score }}.",
    ),
    T.ONBOARDING_WIZARD_STATE_COMPLETED: (
        "The onboarding wizard is complete",
        "{{ data.get('completedBy', 'An admin') }} finished setting up the workspace.",
    ),
}

"""Stage 3: the settings, applied to one candidate recipient at a time.

The first rule that holds decides; each decision comes with the sentence the admin page and
the log endpoints show. Only a candidate that passes every rule claims its destination, so
someone muted through one team but named as an owner directly still gets the message, once;
reaching a claimed destination again is a DUPLICATE.
"""

from dataclasses import dataclass

from tidings.catalog.records import WorkspaceSettings
from tidings.engine.context import Context
from tidings.engine.recipients import Candidate
from tidings.enums import FailedReason, IgnoredReason, Medium, NotificationType
from tidings.notification_types import TYPE_INFO, display_name


class Seats:
    """The licensed seats still free while a run is expanded (invitations take them)."""

    def __init__(self, free: int) -> None:
        self.free = free

    def take(self) -> bool:
        """Take a seat for an invitee; False when none is left."""
        if self.free <= 0:
            return False
        self.free -= 1
        return True


@dataclass(frozen=True)
class Facts:
    """What the policy needs besides the candidate, read once per run."""

    notification_type: NotificationType
    medium: Medium
    workspace: WorkspaceSettings
    unsubscribed_user_ids: frozenset[int]
    seats: Seats | None = None


@dataclass(frozen=True)
class Failure:
    """The message cannot be sent to this recipient, for this reason (a FAILED log)."""

    reason: FailedReason
    sentence: str


@dataclass(frozen=True)
class Decision:
    """Ignore the candidate for this reason, with a sentence saying why."""

    reason: IgnoredReason
    sentence: str


def _who(candidate: Candidate) -> str:
    if candidate.is_webhook:
        return f"the webhook {candidate.channel}"
    if candidate.channel is not None:
        return f"the channel {candidate.channel}"
    return candidate.email or "this recipient"


def decide(candidate: Candidate, facts: Facts) -> Decision | None:
    """Why the candidate gets nothing, or None when it is to be sent to (unless it turns out
    to be a duplicate: see `duplicate`)."""
    info = TYPE_INFO[facts.notification_type]
    name = display_name(facts.notification_type)
    who = _who(candidate)
    if candidate.is_webhook:
        return _webhook_decision(candidate, name)
    if candidate.is_channel and not info.to_channels:
        return Decision(
            IgnoredReason.UNSUPPORTED, f"{name} notifications go to people, not to channels"
        )
    user = candidate.user
    if user is not None and user.is_cortex_employee:
        return Decision(
            IgnoredReason.CORTEX_EMPLOYEE,
            f"{who} is a support account of the vendor, which never gets notifications",
        )
    if candidate.is_owner and user is None and not facts.workspace.non_cortex_users_enabled:
        return Decision(
            IgnoredReason.NON_CORTEX_USERS_DISABLED,
            f"{who} is not a user of the workspace, and notifications for people who are not "
            "users are switched off",
        )
    if candidate.is_channel and not facts.workspace.channel_type_enabled(facts.notification_type):
        return Decision(
            IgnoredReason.WORKSPACE_DISABLED,
            f"the workspace does not send {name} notifications to entity and team channels",
        )
    if not candidate.enabled:
        if candidate.is_channel and info.channel_switch:
            return Decision(
                IgnoredReason.CHANNEL_DISABLED,
                f"{who} has notificationsEnabled: false, which withholds {name} notifications",
            )
        if candidate.through_team and info.member_switch:
            return Decision(
                IgnoredReason.CHANNEL_DISABLED,
                f"{who} has notificationsEnabled: false on their team membership, which "
                f"withholds {name} notifications",
            )
    if user is not None and user.id in facts.unsubscribed_user_ids:
        return Decision(
            IgnoredReason.USER_UNSUBSCRIBED,
            f"{who} unsubscribed from {name} notifications over {facts.medium.value}",
        )
    return None


def _webhook_decision(candidate: Candidate, name: str) -> Decision | None:
    """A webhook subscribed to the type gets it unless switched off (its owner chose its
    types, so the rules for people and chat channels do not apply)."""
    if candidate.enabled:
        return None
    return Decision(
        IgnoredReason.CHANNEL_DISABLED,
        f"the webhook {candidate.channel} has notificationsEnabled: false, which withholds "
        f"{name} notifications",
    )


def duplicate(candidate: Candidate) -> Decision:
    """The decision for a candidate whose destination this run already reached."""
    return Decision(IgnoredReason.DUPLICATE, f"{_who(candidate)} was already reached in this run")


def undeliverable(candidate: Candidate, facts: Facts, context: Context) -> Failure | None:
    """Why a candidate the settings allow still cannot be sent the message, if so."""
    entity = context.entity
    if context.missing_backstage_url and entity is not None:
        return Failure(
            FailedReason.BACKSTAGE_BASE_URL_MISSING,
            f"the links of {entity.tag} point to Backstage, and no Backstage base URL is set "
            "(TIDINGS_BACKSTAGE_BASE_URL)",
        )
    if (
        facts.seats is not None
        and facts.notification_type is NotificationType.TEAM_MEMBER_INVITATION
        and candidate.user is None
        and not facts.seats.take()
    ):
        return Failure(
            FailedReason.NO_SEATS_LEFT,
            f"the workspace has no free seat for {candidate.email} "
            f"(all {facts.workspace.seats} licensed seats are taken)",
        )
    return None
